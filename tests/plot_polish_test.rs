//! Issue 15, item 6, the plots: the offered load on a secondary axis, HPA rescale marks
//! with the new size, no HPA line before the HPA's first computation, every algorithm
//! visible in the comparison overlay, and `poolsim plot` on a lone CSV keeping what it
//! can (title from its folder or `--title`, marks from a sibling events.csv).

mod common;

use common::poolsim_ok;
use std::path::Path;

const HPA_COLOUR: &str = "#CC79A7";
const DESIRED_COLOUR: &str = "#000000";
/// The first two algorithms' colours in the overlay (`SEQUENCE_COLOURS`).
const FIRST_ALGORITHM: &str = "#0072B2";
const SECOND_ALGORITHM: &str = "#D55E00";

/// A polyline of the SVG: stroke colour, width and points.
struct Line {
    stroke: String,
    width: String,
    points: Vec<(i32, i32)>,
}

struct Svg {
    texts: Vec<String>,
    lines: Vec<Line>,
    /// Fill colours of the polygons (areas, marks).
    polygon_fills: Vec<String>,
}

fn read_svg(path: &Path) -> Svg {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let document = roxmltree::Document::parse(&text).expect("the SVG is XML");
    let nodes = || document.root_element().descendants();
    let texts = nodes()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect();
    let lines = nodes()
        .filter(|n| n.has_tag_name("polyline"))
        .map(|n| Line {
            stroke: n.attribute("stroke").unwrap_or("").to_string(),
            width: n.attribute("stroke-width").unwrap_or("").to_string(),
            points: n
                .attribute("points")
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|p| {
                    let (x, y) = p.split_once(',')?;
                    Some((x.parse().ok()?, y.parse().ok()?))
                })
                .collect(),
        })
        .collect();
    let polygon_fills = nodes()
        .filter(|n| n.has_tag_name("polygon"))
        .map(|n| n.attribute("fill").unwrap_or("").to_string())
        .collect();
    Svg {
        texts,
        lines,
        polygon_fills,
    }
}

impl Svg {
    fn has_text(&self, text: &str) -> bool {
        self.texts.iter().any(|t| t == text)
    }

    /// The left-most x of the lines of this colour: where its series starts (legend
    /// samples are right of the plot; a dashed series is one polyline per dash).
    fn series_start_x(&self, colour: &str) -> i32 {
        self.lines
            .iter()
            .filter(|l| l.stroke == colour)
            .flat_map(|l| l.points.iter().map(|p| p.0))
            .min()
            .unwrap_or_else(|| panic!("no line drawn in {colour}"))
    }
}

fn run_hpa_load_wave(out: &Path) -> std::path::PathBuf {
    poolsim_ok(&[
        "run",
        "scenarios/lab05-hpa-load-wave.yaml",
        "--quiet",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    out.join("lab05-hpa-load-wave")
}

#[test]
fn an_hpa_run_draws_the_offered_load_and_each_rescale_with_its_size() {
    let out = tempfile::tempdir().expect("tmp");
    let dir = run_hpa_load_wave(out.path());
    let svg = read_svg(&dir.join("replicas.svg"));
    assert!(svg.has_text("offered load (cores, right)"));
    assert!(svg.has_text("HPA rescale (new size)"));
    // The load wave peaks at 3 cores: the secondary axis is labelled up to 3.
    assert!(svg.has_text("3.0") || svg.has_text("3"), "{:?}", svg.texts);
    // The wave scales 2 -> 4 -> 5 -> 2: a mark per rescale (and one in the legend),
    // each labelled with its new size.
    let marks = svg
        .polygon_fills
        .iter()
        .filter(|f| *f == HPA_COLOUR)
        .count();
    assert_eq!(marks, 3 + 1, "{:?}", svg.polygon_fills);
    for size in ["4", "5", "2"] {
        assert!(svg.has_text(size), "no label {size}");
    }
}

/// The HPA computes first at about 3 minutes of 45 (its status says 0 until then):
/// its line starts there, not at 0 s with "HPA asked for 0".
#[test]
fn the_hpa_line_starts_at_its_first_computation() {
    let out = tempfile::tempdir().expect("tmp");
    let dir = run_hpa_load_wave(out.path());
    let timeseries = std::fs::read_to_string(dir.join("timeseries.csv")).expect("csv");
    assert!(
        timeseries
            .lines()
            .nth(1)
            .expect("a row")
            .starts_with("0,2,0,"),
        "the premise: the HPA's status says 0 at first"
    );
    let svg = read_svg(&dir.join("replicas.svg"));
    let desired_x = svg.series_start_x(DESIRED_COLOUR);
    let hpa_x = svg.series_start_x(HPA_COLOUR);
    // 3 of 45 minutes of a plot about 830 px wide is about 55 px.
    assert!(
        hpa_x > desired_x + 40,
        "HPA line at {hpa_x}, desired at {desired_x}"
    );
}

/// Two algorithms that agree all run long: their dashed lines coincide, and each
/// must still show, so their dashes take turns instead of lying on each other.
#[test]
fn coinciding_algorithms_take_turns_in_the_overlay() {
    let out = tempfile::tempdir().expect("tmp");
    poolsim_ok(&[
        "compare",
        "scenarios/lab05-webserver.yaml",
        "--algorithms",
        "kubevirt-pool,vmirs-fenced",
        "--quiet",
        "--out",
        out.path().to_str().expect("utf-8"),
    ]);
    let svg = read_svg(&out.path().join("lab05-webserver/compare/overlay.svg"));
    // Horizontal dash pieces of the dashed series (2 px wide): (y, from x, to x).
    let dashes = |colour: &str| -> Vec<(i32, i32, i32)> {
        svg.lines
            .iter()
            .filter(|l| l.stroke == colour && l.width == "2" && l.points.len() >= 2)
            .filter(|l| l.points.iter().all(|p| p.1 == l.points[0].1))
            .map(|l| {
                let xs = l.points.iter().map(|p| p.0);
                (
                    l.points[0].1,
                    xs.clone().min().unwrap_or(0),
                    xs.max().unwrap_or(0),
                )
            })
            .collect()
    };
    let (first, second) = (dashes(FIRST_ALGORITHM), dashes(SECOND_ALGORITHM));
    assert!(
        first.len() > 20 && second.len() > 20,
        "{} and {}",
        first.len(),
        second.len()
    );
    let shared = first
        .iter()
        .filter(|a| second.iter().any(|b| b.0 == a.0))
        .count();
    assert!(shared > 20, "the two algorithms' lines coincide: {shared}");
    for a in &first {
        for b in second.iter().filter(|b| b.0 == a.0) {
            let overlap = a.2.min(b.2) - a.1.max(b.1);
            assert!(overlap <= 1, "dashes {a:?} and {b:?} lie on each other");
        }
    }
}

#[test]
fn plot_of_a_lone_csv_keeps_its_folder_title_its_marks_and_takes_a_title() {
    let out = tempfile::tempdir().expect("tmp");
    let dir = run_hpa_load_wave(out.path());
    // Copied away from plot.json: only the two CSVs, in a folder of their own.
    let lone = out.path().join("copied-run");
    std::fs::create_dir(&lone).expect("folder");
    for file in ["timeseries.csv", "events.csv"] {
        std::fs::copy(dir.join(file), lone.join(file)).expect("copy");
    }
    let csv = lone.join("timeseries.csv");
    poolsim_ok(&["plot", csv.to_str().expect("utf-8")]);
    let svg = read_svg(&lone.join("replicas.svg"));
    assert!(svg.has_text("copied-run"), "title from the folder");
    assert!(
        svg.has_text("HPA rescale (new size)"),
        "rescales from events.csv"
    );
    assert!(svg.has_text("offered load (cores, right)"));
    let marks = svg
        .polygon_fills
        .iter()
        .filter(|f| *f == HPA_COLOUR)
        .count();
    assert_eq!(marks, 3 + 1);

    poolsim_ok(&[
        "plot",
        csv.to_str().expect("utf-8"),
        "--title",
        "load wave, replayed",
    ]);
    let svg = read_svg(&lone.join("replicas.svg"));
    assert!(svg.has_text("load wave, replayed"));
    assert!(!svg.has_text("copied-run"));

    // Without events.csv the plot still renders, without marks.
    std::fs::remove_file(lone.join("events.csv")).expect("remove");
    poolsim_ok(&["plot", csv.to_str().expect("utf-8")]);
    let svg = read_svg(&lone.join("replicas.svg"));
    assert!(!svg.has_text("HPA rescale (new size)"));
}
