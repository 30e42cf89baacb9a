//! The plot files the CLI writes, checked as files: `replicas.png`/`.svg` of `run`,
//! `band.*` of `sweep`, `overlay.*` of `compare`. PNGs must carry the signature and the
//! documented size; SVGs must parse as XML, draw every series the run has (and none it
//! has not), and label every scenario event exactly once; `poolsim plot` of a run's CSV
//! must give the run's bytes again.

mod common;
use common::poolsim_ok;
use std::path::{Path, PathBuf};

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Stroke colours of the replica series (Okabe–Ito, see `src/output/plot/draw.rs`).
const DESIRED: &str = "#000000";
const HPA_DESIRED: &str = "#CC79A7";
const VMS_TOTAL: &str = "#56B4E9";
const VMS_READY: &str = "#009E73";
const GUESTS_RUNNING: &str = "#D55E00";
const VMIS_UNKNOWN: &str = "#E69F00";
const CPU_UTILIZATION: &str = "#0072B2";

/// A legend sample is 34 px wide; a series drawn across a run spans far more.
const SERIES_MIN_SPAN_PX: i32 = 200;

fn scenario(name: &str) -> String {
    format!("scenarios/{name}.yaml")
}

fn out_arg(directory: &Path) -> String {
    directory.to_string_lossy().into_owned()
}

/// Width and height from the IHDR chunk, after checking the signature.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 33,
        "{} is too short for a PNG",
        path.display()
    );
    assert_eq!(bytes[..8], PNG_SIGNATURE, "{} is not a PNG", path.display());
    assert_eq!(&bytes[12..16], b"IHDR", "the first chunk is IHDR");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

/// The SVG's text and polylines, after checking it parses as XML with the given size.
struct SvgContent {
    texts: Vec<String>,
    /// (stroke colour, horizontal span in pixels) of every polyline.
    polylines: Vec<(String, i32)>,
}

impl SvgContent {
    fn read(path: &Path, width_px: u32, height_px: u32) -> Self {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let document = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{} is not XML: {e}", path.display()));
        let root = document.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(root.attribute("width"), Some(width_px.to_string().as_str()));
        assert_eq!(
            root.attribute("height"),
            Some(height_px.to_string().as_str())
        );
        let texts = root
            .descendants()
            .filter(|node| node.has_tag_name("text"))
            .map(|node| node.text().unwrap_or("").trim().to_string())
            .collect();
        let polylines = root
            .descendants()
            .filter(|node| node.has_tag_name("polyline"))
            .map(|node| {
                let xs: Vec<i32> = node
                    .attribute("points")
                    .unwrap_or("")
                    .split_whitespace()
                    .filter_map(|point| point.split(',').next()?.parse().ok())
                    .collect();
                let span = xs.iter().max().unwrap_or(&0) - xs.iter().min().unwrap_or(&0);
                (node.attribute("stroke").unwrap_or("").to_string(), span)
            })
            .collect();
        SvgContent { texts, polylines }
    }

    fn text_count(&self, text: &str) -> usize {
        self.texts.iter().filter(|t| *t == text).count()
    }

    /// Whether polylines of this colour run across the plot (a series, not just a
    /// legend sample). A dashed line is one polyline per dash and a line cut at sharp
    /// turns is several pieces, so their spans add up.
    fn has_series(&self, colour: &str) -> bool {
        let total_span: i32 = self
            .polylines
            .iter()
            .filter(|(stroke, _)| stroke == colour)
            .map(|(_, span)| span)
            .sum();
        total_span >= SERIES_MIN_SPAN_PX
    }
}

fn run_dir(out: &Path, name: &str) -> PathBuf {
    out.join(name)
}

#[test]
fn a_run_writes_both_replica_plots_and_plot_renders_them_again_byte_for_byte() {
    let out = tempfile::tempdir().unwrap();
    poolsim_ok(&[
        "run",
        &scenario("lab05-node-crash"),
        "--out",
        &out_arg(out.path()),
    ]);
    let dir = run_dir(out.path(), "lab05-node-crash");

    // Without an HPA there is no CPU panel: the documented 1200×700.
    assert_eq!(png_size(&dir.join("replicas.png")), (1200, 700));
    let svg = SvgContent::read(&dir.join("replicas.svg"), 1200, 700);
    for colour in [DESIRED, VMS_TOTAL, VMS_READY, GUESTS_RUNNING, VMIS_UNKNOWN] {
        assert!(svg.has_series(colour), "no series drawn in {colour}");
    }
    assert!(
        !svg.has_series(HPA_DESIRED),
        "a run without an HPA draws no HPA line"
    );
    // Each scenario event labelled once; the crash is one interval, ended by the
    // recovery of the node it hit (nodeOf resolved), not a second label.
    for label in [
        "crash node of lab05-webserver-0",
        "fence node-2",
        "recover node-2",
        "node-2 crashed",
    ] {
        assert_eq!(svg.text_count(label), 1, "label {label:?}");
    }
    assert_eq!(svg.text_count("time (min)"), 1);

    let again = tempfile::tempdir().unwrap();
    poolsim_ok(&[
        "plot",
        &dir.join("timeseries.csv").to_string_lossy(),
        "--out",
        &out_arg(again.path()),
    ]);
    for file in ["replicas.svg", "replicas.png"] {
        assert!(
            std::fs::read(dir.join(file)).unwrap()
                == std::fs::read(again.path().join(file)).unwrap(),
            "`poolsim plot` gives other bytes for {file} than the run"
        );
    }
}

#[test]
fn an_hpa_run_adds_the_cpu_panel_with_its_target() {
    let out = tempfile::tempdir().unwrap();
    poolsim_ok(&[
        "run",
        &scenario("lab05-hpa-partition"),
        "--out",
        &out_arg(out.path()),
    ]);
    let dir = run_dir(out.path(), "lab05-hpa-partition");
    assert_eq!(png_size(&dir.join("replicas.png")), (1200, 960));
    let svg = SvgContent::read(&dir.join("replicas.svg"), 1200, 960);
    for colour in [HPA_DESIRED, CPU_UTILIZATION, GUESTS_RUNNING] {
        assert!(svg.has_series(colour), "no series drawn in {colour}");
    }
    assert_eq!(svg.text_count("HPA target (50%)"), 1);
    assert_eq!(svg.text_count("CPU utilization (%)"), 1);
    assert_eq!(svg.text_count("node-0 partitioned"), 1);
    assert_eq!(svg.text_count("partition node of lab05-webserver-0"), 1);
}

#[test]
fn sweep_and_compare_plots_are_well_formed_and_mark_the_events() {
    let out = tempfile::tempdir().unwrap();
    let events = [
        "scale lab05-webserver to 3",
        "partition node of lab05-webserver-0",
        "heal node of lab05-webserver-0",
    ];

    poolsim_ok(&[
        "sweep",
        &scenario("lab05-node-partition"),
        "--seeds",
        "3",
        "--quiet",
        "--out",
        &out_arg(out.path()),
    ]);
    let sweep = out.path().join("lab05-node-partition").join("sweep");
    assert_eq!(png_size(&sweep.join("band.png")), (1200, 700));
    let band = SvgContent::read(&sweep.join("band.svg"), 1200, 700);
    for label in events {
        assert_eq!(band.text_count(label), 1, "band label {label:?}");
    }
    // One median line per metric: blue, then vermillion (SEQUENCE_COLOURS).
    assert!(band.has_series("#0072B2") && band.has_series("#D55E00"));

    poolsim_ok(&[
        "compare",
        &scenario("lab05-node-partition"),
        "--algorithms",
        "kubevirt-pool,kubevirt-vmirs",
        "--quiet",
        "--out",
        &out_arg(out.path()),
    ]);
    let compare = out.path().join("lab05-node-partition").join("compare");
    assert_eq!(png_size(&compare.join("overlay.png")), (1200, 700));
    let overlay = SvgContent::read(&compare.join("overlay.svg"), 1200, 700);
    for label in events {
        assert_eq!(overlay.text_count(label), 1, "overlay label {label:?}");
    }
    // One colour per algorithm, in order.
    assert!(overlay.has_series("#0072B2") && overlay.has_series("#D55E00"));
    for entry in [
        "kubevirt-pool: vms_ready",
        "kubevirt-pool: guests_running",
        "kubevirt-vmirs: vms_ready",
        "kubevirt-vmirs: guests_running",
    ] {
        assert_eq!(overlay.text_count(entry), 1, "legend entry {entry:?}");
    }
}
