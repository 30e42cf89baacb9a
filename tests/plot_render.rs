//! The plots, end to end: realistic synthetic runs rendered to SVG and PNG, checked by
//! decoding what was written. Sample pictures land in `/tmp/plot-samples/` for a look.

use std::path::{Path, PathBuf};

use poolsim::output::plot::{
    read_timeseries_csv, render_band, render_overlay, render_replicas, Band, EventMarker, Interval,
    Overlay, PlotError, PlotInput, Series,
};

const SAMPLE_INTERVAL_S: f64 = 5.0;

/// A 90-minute run of a pool with an HPA: load rises at 10 min and the HPA scales 3 → 5;
/// node-1 (holding 2 VMs) is partitioned from 30 to 45 min, its VMIs go Unknown, the
/// replacements start elsewhere while the old guests keep running (overshoot of 2 until
/// the partition heals); node-2 crashes at 60 min with three events close together.
fn partition_run(with_hpa: bool) -> PlotInput {
    let minutes = 90.0;
    let rows = (minutes * 60.0 / SAMPLE_INTERVAL_S) as usize + 1;
    let mut time_s = Vec::with_capacity(rows);
    let mut columns: Vec<(&str, Vec<Option<f64>>)> = [
        "desired_replicas",
        "hpa_desired_replicas",
        "vms_total",
        "vms_ready",
        "vmis_running",
        "vmis_unknown",
        "guests_running",
        "overshoot",
        "pvcs_bound",
        "cpu_utilization_pct",
    ]
    .into_iter()
    .map(|name| (name, Vec::with_capacity(rows)))
    .collect();
    for row in 0..rows {
        let t = row as f64 * SAMPLE_INTERVAL_S;
        let minute = t / 60.0;
        let hpa_desired: f64 = if !with_hpa || minute < 11.0 { 3.0 } else { 5.0 };
        let desired = hpa_desired;
        // VMs appear a little after the pool asks, and become ready after boot.
        let vms_total = if minute < 11.5 { 3.0 } else { desired };
        let mut ready = if minute < 0.5 {
            0.0
        } else if minute < 13.0 {
            3.0
        } else {
            vms_total
        };
        let partitioned = (30.0..45.0).contains(&minute);
        let evicted = (35.5..45.0).contains(&minute);
        let crashed = (60.0..66.0).contains(&minute);
        let mut unknown = 0.0;
        let mut guests = ready;
        if partitioned {
            unknown = 2.0;
            ready -= 2.0;
            if evicted {
                // Replacements boot elsewhere while the detached guests keep running.
                let replacements = if minute < 37.0 { 0.0 } else { 2.0 };
                ready += replacements;
                guests = ready + 2.0;
            }
        }
        if crashed {
            ready -= 1.0;
            guests -= 1.0;
        }
        let cpu = if !with_hpa {
            None
        } else if minute < 10.0 {
            Some(45.0 + (minute * 1.3).sin() * 3.0)
        } else if minute < 13.0 {
            Some(120.0 - (minute - 10.0) * 12.0)
        } else if minute < 70.0 {
            Some(68.0 + (minute * 0.7).sin() * 6.0)
        } else {
            Some(30.0 + (minute * 0.9).sin() * 4.0)
        };
        time_s.push(t);
        let values = [
            Some(desired),
            with_hpa.then_some(hpa_desired),
            Some(vms_total),
            Some(ready),
            Some(ready + unknown),
            Some(unknown),
            Some(guests),
            Some((guests - desired).max(0.0)),
            Some(vms_total),
            cpu,
        ];
        for ((_, column), value) in columns.iter_mut().zip(values) {
            column.push(value);
        }
    }
    PlotInput {
        title: "partition-overshoot".to_string(),
        time_s,
        series: columns
            .into_iter()
            .map(|(name, values)| Series {
                name: name.to_string(),
                values,
            })
            .collect(),
        events: vec![
            marker(600.0, "LoadIncrease to 85%"),
            marker(1800.0, "NetworkPartition node/node-1"),
            marker(2700.0, "NetworkHeal node/node-1"),
            marker(3600.0, "NodeCrash node/node-2"),
            marker(3630.0, "KubeletStopped node/node-2"),
            marker(3660.0, "PodsTerminating"),
            marker(3960.0, "NodeRecovered node/node-2"),
            marker(4200.0, "LoadDecrease to 30%"),
            marker(5390.0, "ScenarioEnd"),
        ],
        intervals: vec![
            Interval {
                start_s: 1800.0,
                end_s: 2700.0,
                label: "node-1 partitioned".to_string(),
            },
            Interval {
                start_s: 3600.0,
                end_s: 3960.0,
                label: "node-2 down".to_string(),
            },
        ],
        hpa_target_pct: with_hpa.then_some(70.0),
        rescales: Vec::new(),
    }
}

fn marker(time_s: f64, label: &str) -> EventMarker {
    EventMarker {
        time_s,
        label: label.to_string(),
    }
}

fn sample_dir() -> PathBuf {
    let directory = PathBuf::from("/tmp/plot-samples");
    std::fs::create_dir_all(&directory).expect("create /tmp/plot-samples");
    directory
}

/// Width and height from the IHDR chunk, after checking the PNG signature.
fn png_dimensions(bytes: &[u8]) -> (u32, u32) {
    const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
    assert_eq!(bytes[..8], SIGNATURE, "not a PNG signature");
    // Then the first chunk: 4-byte length (13), "IHDR", width, height (big-endian).
    assert_eq!(&bytes[8..12], &13u32.to_be_bytes());
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width, height)
}

/// Checks the SVG has one `<svg>` root and that every tag is closed in order.
fn assert_well_formed_svg(svg: &str) {
    assert!(
        svg.starts_with("<svg"),
        "does not start with <svg: {:?}",
        &svg[..40.min(svg.len())]
    );
    let mut open: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>').expect("unterminated tag");
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(name.trim()), "mismatched </{name}>");
            continue;
        }
        let name = tag
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches('/');
        if open.is_empty() {
            roots += 1;
            assert_eq!(name, "svg", "content outside the root");
        }
        if !tag.ends_with('/') {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed tags: {open:?}");
    assert_eq!(roots, 1);
    assert!(rest.trim().is_empty(), "text after the root");
}

fn render_to(input: &PlotInput, directory: &Path, stem: &str) -> (String, Vec<u8>) {
    let svg_path = directory.join(format!("{stem}.svg"));
    let png_path = directory.join(format!("{stem}.png"));
    render_replicas(input, &svg_path, &png_path).expect("render replicas");
    (
        std::fs::read_to_string(svg_path).unwrap(),
        std::fs::read(png_path).unwrap(),
    )
}

#[test]
fn replicas_with_hpa_has_a_cpu_panel_and_all_legend_entries() {
    let input = partition_run(true);
    let (svg, png) = render_to(&input, &sample_dir(), "replicas-hpa");
    assert_eq!(png_dimensions(&png), (1200, 960));
    assert_well_formed_svg(&svg);
    for name in [
        "desired (spec.replicas)",
        "HPA desired",
        "VMs (status.replicas)",
        "VMs ready",
        "guests really running",
        "VMIs unknown",
        "overshoot: +2 for 8 min",
        "CPU utilization",
        "HPA target (70%)",
        "partition-overshoot",
        "node-1 partitioned",
        "NetworkPartition node/node-1",
        "time (min)",
    ] {
        assert!(svg.contains(name), "SVG lacks {name:?}");
    }
}

#[test]
fn replicas_without_hpa_is_one_panel_without_hpa_line() {
    let input = partition_run(false);
    let (svg, png) = render_to(&input, &sample_dir(), "replicas-no-hpa");
    assert_eq!(png_dimensions(&png), (1200, 700));
    assert_well_formed_svg(&svg);
    assert!(svg.contains("guests really running"));
    assert!(
        !svg.contains("HPA desired"),
        "an empty HPA column must not be drawn"
    );
    assert!(!svg.contains("CPU utilization"));
}

#[test]
fn a_short_run_counts_seconds() {
    let mut input = partition_run(false);
    input.time_s.truncate(25);
    for series in &mut input.series {
        series.values.truncate(25);
    }
    input.events.retain(|event| event.time_s <= 120.0);
    let directory = tempfile::tempdir().unwrap();
    let (svg, _) = render_to(&input, directory.path(), "short");
    assert!(svg.contains("time (s)"));
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let input = partition_run(true);
    let directory = tempfile::tempdir().unwrap();
    let first = render_to(&input, directory.path(), "first");
    let second = render_to(&input, directory.path(), "second");
    assert!(first.0 == second.0, "SVG differs between two renders");
    assert!(first.1 == second.1, "PNG differs between two renders");
}

#[test]
fn a_series_of_the_wrong_length_is_rejected() {
    let mut input = partition_run(false);
    input.series[0].values.pop();
    let directory = tempfile::tempdir().unwrap();
    let error = render_replicas(
        &input,
        &directory.path().join("x.svg"),
        &directory.path().join("x.png"),
    )
    .unwrap_err();
    assert!(matches!(error, PlotError::Invalid(_)), "{error}");
    assert!(!directory.path().join("x.svg").exists());
}

#[test]
fn any_file_name_is_accepted() {
    // The caller writes to temporary names and renames them into place.
    let input = partition_run(false);
    let directory = tempfile::tempdir().unwrap();
    let png_path = directory.path().join("replicas.png.tmp");
    render_replicas(
        &input,
        &directory.path().join("replicas.svg.tmp"),
        &png_path,
    )
    .unwrap();
    assert_eq!(
        png_dimensions(&std::fs::read(png_path).unwrap()),
        (1200, 700)
    );
}

/// Writes the run as `timeseries.csv` the way `poolsim run` does (empty cell = None).
fn write_timeseries_csv(input: &PlotInput, path: &Path) {
    let mut text = String::from("time_s");
    for series in &input.series {
        text.push(',');
        text.push_str(&series.name);
    }
    text.push('\n');
    for (row, time) in input.time_s.iter().enumerate() {
        text.push_str(&time.to_string());
        for series in &input.series {
            text.push(',');
            if let Some(value) = series.values[row] {
                text.push_str(&value.to_string());
            }
        }
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn reading_a_run_back_keeps_empty_cells_events_and_annotations() {
    let run = partition_run(false);
    let directory = tempfile::tempdir().unwrap();
    let run_directory = directory.path().join("partition-overshoot");
    std::fs::create_dir(&run_directory).unwrap();
    let csv_path = run_directory.join("timeseries.csv");
    write_timeseries_csv(&run, &csv_path);
    std::fs::write(
        run_directory.join("events.csv"),
        "time_s,kind,object,reason,message\n\
         0,VirtualMachinePool,pool/web,SuccessfulCreate,\"Created VM web-0, web-1\"\n\
         1800,Scenario,node/node-1,NetworkPartition,node-1 cut off\n\
         1830,Node,node/node-1,NodeNotReady,Node is not ready\n\
         3600,Scenario,node/node-2,NodeCrash,\n",
    )
    .unwrap();

    let read = read_timeseries_csv(&csv_path).unwrap();
    assert_eq!(read.title, "partition-overshoot");
    assert_eq!(read.time_s, run.time_s);
    let hpa = read.series("hpa_desired_replicas").expect("column kept");
    assert!(hpa.values.iter().all(Option::is_none));
    assert_eq!(read.series("guests_running"), run.series("guests_running"));
    assert_eq!(
        read.events,
        vec![
            marker(1800.0, "node-1 cut off"),
            marker(3600.0, "NodeCrash node/node-2")
        ],
        "a Scenario row is labelled by its message, else by reason and object"
    );
    assert!(read.intervals.is_empty());

    std::fs::write(
        run_directory.join("plot.json"),
        r#"{"title": "partition-overshoot (seed 7)", "hpa_target_pct": 60,
            "intervals": [{"start_s": 1800, "end_s": 2700, "label": "node-1 partitioned"}],
            "events": [{"time_s": 1800, "label": "NetworkPartition node/node-1"},
                       {"time_s": 600, "label": "LoadIncrease"}]}"#,
    )
    .unwrap();
    let read = read_timeseries_csv(&csv_path).unwrap();
    assert_eq!(read.title, "partition-overshoot (seed 7)");
    assert_eq!(read.hpa_target_pct, Some(60.0));
    assert_eq!(read.intervals.len(), 1);
    assert_eq!(
        read.events
            .iter()
            .map(|e| e.label.as_str())
            .collect::<Vec<_>>(),
        ["LoadIncrease", "NetworkPartition node/node-1"],
        "plot.json's events replace events.csv's, sorted by time"
    );

    let (svg, png) = render_to(&read, &run_directory, "replicas");
    assert_eq!(png_dimensions(&png), (1200, 700));
    assert!(svg.contains("partition-overshoot (seed 7)"));
}

#[test]
fn a_csv_with_sparse_cells_and_extra_columns_is_read() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("timeseries.csv");
    std::fs::write(
        &path,
        "time_s,desired_replicas,hpa_desired_replicas,vms_ready,phase\n\
         0,2,,0,starting\n\
         5,2,,,starting\n\
         10,3,3,2,steady\n",
    )
    .unwrap();
    let read = read_timeseries_csv(&path).unwrap();
    assert_eq!(read.time_s, vec![0.0, 5.0, 10.0]);
    assert_eq!(
        read.series("vms_ready").unwrap().values,
        vec![Some(0.0), None, Some(2.0)]
    );
    assert_eq!(
        read.series("hpa_desired_replicas").unwrap().values,
        vec![None, None, Some(3.0)]
    );
    assert!(
        read.series("phase").is_none(),
        "a text column is not plotted"
    );
    assert!(read.events.is_empty());
}

#[test]
fn a_bad_number_names_its_line_and_column() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("timeseries.csv");
    std::fs::write(&path, "time_s,vms_ready\n0,1\n5,two\n").unwrap();
    match read_timeseries_csv(&path).unwrap_err() {
        PlotError::BadNumber {
            line,
            column,
            value,
            ..
        } => {
            assert_eq!(
                (line, column.as_str(), value.as_str()),
                (3, "vms_ready", "two")
            );
        }
        other => panic!("unexpected error {other}"),
    }
    std::fs::write(&path, "seconds,vms_ready\n0,1\n").unwrap();
    assert!(matches!(
        read_timeseries_csv(&path).unwrap_err(),
        PlotError::MissingColumn { .. }
    ));
}

#[test]
fn an_annotation_typo_is_an_error() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("timeseries.csv");
    std::fs::write(&path, "time_s,vms_ready\n0,1\n").unwrap();
    std::fs::write(directory.path().join("plot.json"), r#"{"titel": "x"}"#).unwrap();
    assert!(matches!(
        read_timeseries_csv(&path).unwrap_err(),
        PlotError::Json { .. }
    ));
}

fn sweep_bands(time_s: &[f64]) -> Vec<Band> {
    let spread = |t: f64, base: f64, width: f64| {
        let minute = t / 60.0;
        let level = if minute < 30.0 {
            base
        } else if minute < 45.0 {
            base + 2.0
        } else {
            base
        };
        (
            (level - width * (minute * 0.2).sin().abs())
                .max(0.0)
                .floor(),
            level,
            (level + width).ceil(),
        )
    };
    ["vms_ready", "guests_running"]
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let mut band = Band {
                name: name.to_string(),
                p5: Vec::new(),
                p50: Vec::new(),
                p95: Vec::new(),
            };
            for &t in time_s {
                let (p5, p50, p95) = spread(t, 4.0 + index as f64, 1.0 + index as f64);
                band.p5.push(p5);
                band.p50.push(p50);
                band.p95.push(p95);
            }
            band
        })
        .collect()
}

#[test]
fn band_plot_renders() {
    let time_s: Vec<f64> = (0..=1080).map(|row| row as f64 * 5.0).collect();
    let bands = sweep_bands(&time_s);
    let directory = sample_dir();
    let (svg_path, png_path) = (directory.join("band.svg"), directory.join("band.png"));
    render_band(
        "partition-overshoot: 200 seeds",
        &time_s,
        &bands,
        &[marker(1800.0, "partition node-1")],
        &svg_path,
        &png_path,
    )
    .unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert_well_formed_svg(&svg);
    assert!(svg.contains("vms_ready median") && svg.contains("guests_running p5–p95"));
    assert!(
        svg.contains("\npartition node-1\n"),
        "the band plot marks events"
    );
    assert_eq!(
        png_dimensions(&std::fs::read(&png_path).unwrap()),
        (1200, 700)
    );

    let mut short = bands.clone();
    short[1].p95.pop();
    assert!(render_band("x", &time_s, &short, &[], &svg_path, &png_path).is_err());
}

#[test]
fn overlay_plot_renders() {
    let run = partition_run(false);
    let pick = |names: &[&str], shift: f64| -> Vec<Series> {
        names
            .iter()
            .map(|name| {
                let series = run.series(name).unwrap();
                Series {
                    name: name.to_string(),
                    values: series
                        .values
                        .iter()
                        .map(|v| v.map(|v| (v - shift).max(0.0)))
                        .collect(),
                }
            })
            .collect()
    };
    let overlays = vec![
        Overlay {
            algorithm: "kubevirt-pool".to_string(),
            series: pick(&["guests_running", "vms_ready"], 0.0),
        },
        Overlay {
            algorithm: "fenced-pool".to_string(),
            series: pick(&["guests_running", "vms_ready"], 1.0),
        },
    ];
    let directory = sample_dir();
    let (svg_path, png_path) = (directory.join("overlay.svg"), directory.join("overlay.png"));
    render_overlay(
        "partition-overshoot: algorithms",
        &run.time_s,
        &overlays,
        &[marker(1800.0, "partition node-1")],
        &svg_path,
        &png_path,
    )
    .unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert_well_formed_svg(&svg);
    assert!(
        svg.contains("kubevirt-pool: guests_running") && svg.contains("fenced-pool: vms_ready")
    );
    assert!(
        svg.contains("\npartition node-1\n"),
        "the overlay marks events"
    );
    assert_eq!(
        png_dimensions(&std::fs::read(png_path).unwrap()),
        (1200, 700)
    );
}
