//! Issue 15, item 5: progress bars are drawn only on a terminal. The tests run the
//! binary with stderr piped, as scripts and CI do: no bar may reach stderr, and none
//! ever reaches stdout, whose JSON must stay parseable. (Whether a bar is wanted is
//! unit-tested in `src/progress.rs`.)

mod common;

use common::poolsim_ok;

/// What an indicatif bar writes: its bar characters and carriage-return redraws.
fn assert_no_bar(stream: &[u8], what: &str) {
    let text = String::from_utf8_lossy(stream);
    assert!(
        !text.contains('\r') && !text.contains("[#") && !text.contains("eta "),
        "{what} shows a progress bar: {text:?}"
    );
}

#[test]
fn sweep_and_compare_draw_no_bar_off_a_terminal_and_their_json_stays_clean() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().to_str().expect("utf-8");
    let sweep = poolsim_ok(&[
        "sweep",
        "scenarios/lab05-webserver.yaml",
        "--seeds",
        "3",
        "--jobs",
        "2",
        "--json",
        "--out",
        out,
    ]);
    assert_no_bar(&sweep.stderr, "sweep's stderr");
    let json: serde_json::Value = serde_json::from_slice(&sweep.stdout).expect("JSON on stdout");
    assert_eq!(json["seeds"].as_array().map(Vec::len), Some(3));
    let compare = poolsim_ok(&[
        "compare",
        "scenarios/lab05-webserver.yaml",
        "--algorithms",
        "kubevirt-pool,kubevirt-vmirs",
        "--out",
        out,
    ]);
    assert_no_bar(&compare.stderr, "compare's stderr");
    assert_no_bar(&compare.stdout, "compare's stdout");
    assert!(String::from_utf8_lossy(&compare.stdout).contains("kubevirt-vmirs"));
}

#[test]
fn run_draws_no_bar_off_a_terminal() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().to_str().expect("utf-8");
    let run = poolsim_ok(&["run", "scenarios/lab05-node-partition.yaml", "--out", out]);
    assert_no_bar(&run.stderr, "run's stderr");
    assert_no_bar(&run.stdout, "run's stdout");
}

#[test]
fn check_quiet_prints_only_the_count_and_no_bar() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().to_str().expect("utf-8");
    // An empty golden folder: judged on the scenario's expectations alone.
    let golden = tmp.path().join("golden");
    std::fs::create_dir(&golden).expect("golden folder");
    let golden = golden.to_str().expect("utf-8");
    let loud = poolsim_ok(&[
        "check",
        "scenarios/lab05-webserver.yaml",
        "--golden",
        golden,
        "--out",
        out,
    ]);
    let loud_stdout = String::from_utf8_lossy(&loud.stdout).into_owned();
    assert!(loud_stdout.lines().count() > 1, "{loud_stdout}");
    assert_no_bar(&loud.stderr, "check's stderr");
    let quiet = poolsim_ok(&[
        "check",
        "scenarios/lab05-webserver.yaml",
        "--quiet",
        "--golden",
        golden,
        "--out",
        out,
    ]);
    let stdout = String::from_utf8_lossy(&quiet.stdout).into_owned();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("check: 1 scenarios, 1 passed, 0 failed"),
        "{stdout}"
    );
    assert_no_bar(&quiet.stderr, "check --quiet's stderr");
}
