//! `poolsim sweep` and `poolsim merge`, end to end through the binary: the bytes do not
//! depend on the number of threads or shards.

mod common;
use common::{poolsim, poolsim_ok};
use std::path::Path;

const SCENARIO: &str = "scenarios/lab05-node-partition.yaml";
const NAME: &str = "lab05-node-partition";

/// The files of `dir` but the ownership marker (the same bytes in every folder; see
/// tests/output_ownership_test.rs).
fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter(|entry| entry.as_ref().unwrap().file_name() != ".poolsim-output")
        .map(|entry| {
            let path = entry.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn sweep(out: &Path, extra: &[&str]) {
    let mut args = vec!["sweep", SCENARIO, "--seeds", "4", "--quiet", "--out"];
    args.push(out.to_str().unwrap());
    args.extend(extra);
    let output = poolsim(&args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn threads_and_shards_give_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("one");
    let two = tmp.path().join("two");
    sweep(&one, &["--jobs", "1"]);
    sweep(&two, &["--jobs", "2"]);
    let reference = files_of(&one.join(NAME).join("sweep"));
    assert_eq!(reference, files_of(&two.join(NAME).join("sweep")));
    let names: Vec<&str> = reference.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "band.csv",
            "band.png",
            "band.svg",
            "percentiles.csv",
            "report.html",
            "sweep.csv"
        ]
    );

    // sweep.csv: a header and one row per seed, seeds from the scenario's seed (7).
    let csv = String::from_utf8(reference[5].1.clone()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("seed,duration_s,events_processed,max_overshoot"));
    assert!(lines[0].contains(",recovery_s"));
    assert!(lines[0].contains(",max_uncontrolled_overshoot,uncontrolled_overshoot_vm_minutes"));
    let seeds: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(seeds, ["7", "8", "9", "10"]);

    let shards = tmp.path().join("shards");
    sweep(&shards, &["--shard", "0/2"]);
    sweep(&shards, &["--shard", "1/2", "--jobs", "1"]);
    let merged = tmp.path().join("merged");
    let shard_root = shards.join(NAME).join("sweep-shards");
    poolsim_ok(&[
        "merge",
        shard_root.join("shard-0-of-2").to_str().unwrap(),
        shard_root.join("shard-1-of-2").to_str().unwrap(),
        "--quiet",
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(reference, files_of(&merged.join(NAME).join("sweep")));

    // The band plot files are real pictures.
    let png = &reference[1].1;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let svg = String::from_utf8(reference[2].1.clone()).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
}

#[test]
fn the_shard_index_can_come_from_the_indexed_job() {
    let tmp = tempfile::tempdir().unwrap();
    let output = common::poolsim_command()
        .args([
            "sweep", SCENARIO, "--seeds", "3", "--shard", "/3", "--quiet", "--out",
        ])
        .arg(tmp.path())
        .env("JOB_COMPLETION_INDEX", "2")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = tmp
        .path()
        .join(NAME)
        .join("sweep-shards")
        .join("shard-2-of-3");
    let rows = std::fs::read_to_string(dir.join("sweep.shard-2-of-3.csv")).unwrap();
    assert_eq!(rows.lines().count(), 2, "one seed: index 2 of 0..3");
    assert!(rows.lines().nth(1).unwrap().starts_with("9,"));

    // A merge with a shard missing is invalid input, and writes nothing.
    let out = tmp.path().join("merged");
    let output = poolsim(&[
        "merge",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing shard(s) 0, 1 of 3"));
    assert!(!out.exists());
}

#[test]
fn bad_shards_are_invalid_input_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    for spec in ["2/2", "x/2", "1/0", "/2", "1"] {
        let output = poolsim(&[
            "sweep",
            SCENARIO,
            "--seeds",
            "2",
            "--shard",
            spec,
            "--out",
            tmp.path().to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(2), "--shard {spec}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("--shard"),
            "{spec}"
        );
    }
    let output = poolsim(&[
        "sweep",
        SCENARIO,
        "--seeds",
        "0",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}
