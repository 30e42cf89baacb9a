//! Counts and paths that `sweep`, `merge`, `compare` and `plot` take from flags and
//! files (issue 17): each is bounded or checked before anything is allocated or
//! written, and bad input is exit 2 with a message naming the limit or rule, never a
//! panic, an abort, a hang or a file outside `--out` (docs/LIMITS.md).

mod common;
use common::{poolsim, poolsim_ok};
use std::path::{Path, PathBuf};
use std::process::Output;

const SCENARIO: &str = "scenarios/lab05-node-partition.yaml";
const NAME: &str = "lab05-node-partition";

/// Exit 2, no panic, and `needle` in the message.
fn assert_invalid(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
}

/// The two shards of a 4-seed sweep, in `root/<NAME>/sweep-shards/`.
fn make_shards(root: &Path) -> [PathBuf; 2] {
    for spec in ["0/2", "1/2"] {
        poolsim_ok(&[
            "sweep",
            SCENARIO,
            "--seeds",
            "4",
            "--shard",
            spec,
            "--quiet",
            "--out",
            root.to_str().unwrap(),
        ]);
    }
    let shards = root.join(NAME).join("sweep-shards");
    [shards.join("shard-0-of-2"), shards.join("shard-1-of-2")]
}

/// Changes one field of a shard's `shard.json`.
fn set_manifest_field(shard: &Path, field: &str, value: serde_json::Value) {
    let path = shard.join("shard.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    manifest[field] = value;
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
}

/// Rewrites a file of a shard folder with `edit`.
fn edit_file(shard: &Path, file: &str, edit: impl FnOnce(String) -> String) {
    let path = shard.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
}

/// A change made to a pair of shard folders.
type Tamper = fn(&[PathBuf; 2]);

fn merge(out: &Path, shards: &[&Path]) -> Output {
    let mut args = vec!["merge", "--quiet", "--out", out.to_str().unwrap()];
    args.extend(shards.iter().map(|s| s.to_str().unwrap()));
    poolsim(&args)
}

#[test]
fn a_shard_whose_scenario_leaves_out_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = make_shards(&tmp.path().join("shards"));
    let outside = tmp.path().join("outside");
    let absolute = outside.join("abs").to_string_lossy().into_owned();
    let out = tmp.path().join("out").join("merged");
    for scenario in [
        "../outside",
        "../../outside",
        absolute.as_str(),
        "a/b",
        "a\\b",
        "..",
        ".",
        "",
        "UPPER",
        "dots.in.name",
    ] {
        for shard in &shards {
            set_manifest_field(shard, "scenario", scenario.into());
        }
        let output = merge(&out, &[&shards[0], &shards[1]]);
        assert_invalid(&output, "is not a valid scenario name");
        assert_invalid(&output, "DNS-1123 label");
        assert!(!out.exists(), "{scenario:?}: {} was written", out.display());
        assert!(!outside.exists(), "{scenario:?}: wrote outside --out");
    }
    // The same shards with their name back merge fine, inside --out.
    for shard in &shards {
        set_manifest_field(shard, "scenario", NAME.into());
    }
    let output = merge(&out, &[&shards[0], &shards[1]]);
    assert_eq!(output.status.code(), Some(0));
    assert!(out.join(NAME).join("sweep").join("sweep.csv").is_file());
    assert!(!outside.exists());
}

#[test]
fn shard_indexes_and_counts_out_of_range_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = make_shards(&tmp.path().join("shards"));
    let out = tmp.path().join("merged");

    set_manifest_field(
        &shards[1],
        "shard",
        serde_json::json!({"index": 5, "count": 2}),
    );
    assert_invalid(
        &merge(&out, &[&shards[0], &shards[1]]),
        "shard.index 5 is not below shard.count 2",
    );

    for count in [u64::MAX, 1_000_001] {
        set_manifest_field(
            &shards[1],
            "shard",
            serde_json::json!({"index": 0, "count": count}),
        );
        assert_invalid(&merge(&out, &[&shards[1]]), "MAX_SHARDS");
    }
    // More shards than seeds would leave shards without a seed.
    set_manifest_field(
        &shards[1],
        "shard",
        serde_json::json!({"index": 1, "count": 9}),
    );
    assert_invalid(&merge(&out, &[&shards[1]]), "use at most 4 shards");
    assert!(!out.exists());

    for (spec, needle) in [
        ("0/18446744073709551615", "MAX_SHARDS"),
        ("0/99999999999999999999", "from 1 to 1000000"),
        ("4/4", "is not below the shard count 4"),
        ("0/5", "use at most 4 shards"),
    ] {
        let output = poolsim(&[
            "sweep",
            SCENARIO,
            "--seeds",
            "4",
            "--shard",
            spec,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_invalid(&output, needle);
    }
    assert!(!out.exists());
}

#[test]
fn huge_seed_counts_are_refused_before_anything_is_allocated() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_arg = out.to_str().unwrap();
    for seeds in ["18446744073709551615", "1000001"] {
        assert_invalid(
            &poolsim(&["sweep", SCENARIO, "--seeds", seeds, "--out", out_arg]),
            "MAX_SEEDS",
        );
        assert_invalid(
            &poolsim(&[
                "compare",
                SCENARIO,
                "--algorithms",
                "kubevirt-pool",
                "--seeds",
                seeds,
                "--out",
                out_arg,
            ]),
            "MAX_SEEDS",
        );
    }
    for jobs in ["0", "4096", "18446744073709551616"] {
        for (command, algorithm_flag) in [("sweep", "--algorithm"), ("compare", "--algorithms")] {
            let output = poolsim(&[
                command,
                SCENARIO,
                algorithm_flag,
                "kubevirt-pool",
                "--seeds",
                "2",
                "--jobs",
                jobs,
                "--out",
                out_arg,
            ]);
            assert_invalid(&output, "--jobs");
        }
    }
    // Within MAX_SEEDS, but a million seeds of a day at 5 s are far too many values.
    let output = poolsim(&[
        "sweep",
        "scenarios/bench/bench-day.yaml",
        "--seeds",
        "1000000",
        "--out",
        out_arg,
    ]);
    assert_invalid(&output, "MAX_SERIES_VALUES");
    assert!(!out.exists());

    let shards = make_shards(&tmp.path().join("shards"));
    set_manifest_field(&shards[0], "seed_count", u64::MAX.into());
    assert_invalid(&merge(&out, &[&shards[0]]), "MAX_SEEDS");
    set_manifest_field(&shards[0], "seed_count", 4.into());
    set_manifest_field(&shards[0], "seed_start", u64::MAX.into());
    assert_invalid(&merge(&out, &[&shards[0]]), "overflow a 64-bit seed");
    assert!(!out.exists());
}

#[test]
fn a_shard_claiming_billions_of_rows_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = make_shards(&tmp.path().join("shards"));
    let out = tmp.path().join("merged");

    set_manifest_field(&shards[0], "time_steps_ms", "0 5000*4000000000".into());
    assert_invalid(&merge(&out, &[&shards[0], &shards[1]]), "MAX_SAMPLES");
    set_manifest_field(
        &shards[0],
        "time_steps_ms",
        "0 5000*18446744073709551615 1".into(),
    );
    assert_invalid(&merge(&out, &[&shards[0], &shards[1]]), "MAX_SAMPLES");
    // A million seeds of a day at 5 s: each number within its limit, too many values.
    set_manifest_field(&shards[0], "seed_count", 1_000_000.into());
    set_manifest_field(&shards[0], "time_steps_ms", "0 5000*17280".into());
    assert_invalid(&merge(&out, &[&shards[0]]), "MAX_SERIES_VALUES");
    set_manifest_field(&shards[0], "seed_count", 4.into());
    set_manifest_field(&shards[0], "time_steps_ms", "0 5000 -5000".into());
    assert_invalid(
        &merge(&out, &[&shards[0], &shards[1]]),
        "sample times never go back",
    );

    // A series line claiming billions of values for a seed.
    edit_file(&shards[1], "series.shard-1-of-2.csv", |text| {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines[1] = format!(
            "{},vms_ready,0*4000000000",
            lines[1].split(',').next().unwrap()
        );
        lines.join("\n") + "\n"
    });
    assert_invalid(&merge(&out, &[&shards[1]]), "more than");
    assert!(!out.exists());
}

#[test]
fn mismatched_duplicate_and_incomplete_shards_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("merged");
    let cases: [(&str, Tamper, &str); 8] = [
        (
            "another algorithm",
            |s| set_manifest_field(&s[1], "algorithm", "kubevirt-vmirs".into()),
            "different sweeps (algorithm",
        ),
        (
            "another seed range",
            |s| set_manifest_field(&s[1], "seed_start", 100.into()),
            "different sweeps (seeds",
        ),
        (
            "other sample times",
            |s| set_manifest_field(&s[1], "time_steps_ms", "0 1000*5".into()),
            "different sweeps (sample times",
        ),
        (
            "a missing seed",
            |s| {
                edit_file(&s[0], "sweep.shard-0-of-2.csv", |text| {
                    let lines: Vec<&str> = text.lines().collect();
                    lines[..lines.len() - 1].join("\n") + "\n"
                })
            },
            "has no row",
        ),
        (
            "an extra seed",
            |s| {
                edit_file(&s[0], "sweep.shard-0-of-2.csv", |text| {
                    let last = text.lines().last().unwrap().to_string();
                    text + &last + "\n"
                })
            },
            "is not the next seed",
        ),
        (
            "a negative metric",
            |s| {
                edit_file(&s[0], "sweep.shard-0-of-2.csv", |text| {
                    text.replacen("\n7,", "\n7,-", 1)
                })
            },
            "is not a finite number >= 0",
        ),
        (
            "a NaN metric",
            |s| {
                edit_file(&s[0], "sweep.shard-0-of-2.csv", |text| {
                    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                    let mut cells: Vec<&str> = lines[1].split(',').collect();
                    cells[1] = "NaN";
                    lines[1] = cells.join(",");
                    lines.join("\n") + "\n"
                })
            },
            "is not a finite number >= 0",
        ),
        (
            "a negative count in a series",
            |s| {
                edit_file(&s[0], "series.shard-0-of-2.csv", |text| {
                    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                    let cells: Vec<&str> = lines[1].splitn(3, ',').collect();
                    // The first run of values, made negative with its length kept.
                    let (first, rest) = cells[2].split_once(' ').unwrap_or((cells[2], ""));
                    let negative = match first.split_once('*') {
                        Some((_, count)) => format!("-1*{count}"),
                        None => "-1".to_string(),
                    };
                    lines[1] = format!("{},{},{negative} {rest}", cells[0], cells[1]);
                    lines.join("\n") + "\n"
                })
            },
            "is not a count",
        ),
    ];
    for (index, (what, tamper, needle)) in cases.into_iter().enumerate() {
        let shards = make_shards(&tmp.path().join(format!("shards-{index}")));
        tamper(&shards);
        let output = merge(&out, &[&shards[0], &shards[1]]);
        assert_invalid(&output, needle);
        assert!(!out.exists(), "{what}: something was written");
    }

    let shards = make_shards(&tmp.path().join("shards-twice"));
    assert_invalid(
        &merge(&out, &[&shards[0], &shards[0], &shards[1]]),
        "shard 0 of 2 is given twice",
    );
    assert!(!out.exists());
}

#[test]
fn a_200k_character_title_is_cut_with_an_ellipsis() {
    let tmp = tempfile::tempdir().unwrap();
    poolsim_ok(&[
        "run",
        "scenarios/lab05-node-crash.yaml",
        "--quiet",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    let dir = tmp.path().join("lab05-node-crash");
    let title = "a very long title ".repeat(200_000 / 18 + 1);
    let annotations_path = dir.join("plot.json");
    let mut annotations: serde_json::Value = match std::fs::read_to_string(&annotations_path) {
        Ok(text) => serde_json::from_str(&text).unwrap(),
        Err(_) => serde_json::json!({}),
    };
    annotations["title"] = title.clone().into();
    std::fs::write(&annotations_path, annotations.to_string()).unwrap();

    let again = tmp.path().join("again");
    poolsim_ok(&[
        "plot",
        dir.join("timeseries.csv").to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    let svg = std::fs::read_to_string(again.join("replicas.svg")).unwrap();
    let document = roxmltree::Document::parse(&svg).expect("the SVG is XML");
    let drawn: Vec<&str> = document
        .descendants()
        .filter(|node| node.has_tag_name("text"))
        .filter_map(|node| node.text())
        .map(str::trim)
        .filter(|text| text.starts_with("a very long title"))
        .collect();
    assert_eq!(drawn.len(), 1, "the title is drawn once: {drawn:?}");
    let shown = drawn[0];
    assert!(shown.ends_with('…'), "{shown}");
    assert!(
        shown.chars().count() < 200,
        "{} characters",
        shown.chars().count()
    );
    assert!(title.starts_with(shown.trim_end_matches('…')));
    assert!(
        !svg.contains(&title[..1_000]),
        "the whole title is in the SVG"
    );
}
