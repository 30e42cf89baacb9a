//! `poolsim check`: the shipped suite passes (CI gates on this test), golden traces
//! catch a change and name its first divergence, `--bless` writes traces that then
//! pass, `--algorithm` overrides the scenario's own, and bad input exits 2 with
//! nothing written.

mod common;
use common::poolsim;
use poolsim::check::{check, CheckArgs, Verdict};
use std::path::{Path, PathBuf};

const CRASH_SCENARIO: &str = "scenarios/regressions/node-crash-no-reschedule-12581.yaml";
const CRASH_NAME: &str = "node-crash-no-reschedule-12581";
const FENCED_SCENARIO: &str = "scenarios/regressions/maximum-vs-availability-vmirs-fenced.yaml";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Copy a shipped scenario into `dir` (it must hold its manifests inline).
fn copy_scenario(source: &str, dir: &Path) -> PathBuf {
    let target = dir.join(Path::new(source).file_name().unwrap());
    std::fs::copy(repo(source), &target).expect("copy scenario");
    target
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn every_shipped_scenario_passes_check() {
    let out = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    let mut errors = Vec::new();
    let args = CheckArgs::new(vec![repo("scenarios")], out.path().to_path_buf());
    let verdict = check(&args, &mut report, &mut errors);
    let report = text(&report);
    assert_eq!(verdict, Verdict::Passed, "{report}\n{}", text(&errors));
    assert!(report.contains("golden trace matches"), "{report}");
    assert!(
        out.path().join(CRASH_NAME).join("timeseries.csv").is_file(),
        "check writes each run as `run` does"
    );
}

#[test]
fn a_tampered_golden_fails_and_names_the_first_divergence() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = copy_scenario(CRASH_SCENARIO, dir.path());
    let golden = dir
        .path()
        .join("golden")
        .join(CRASH_NAME)
        .join("kubevirt-pool");
    std::fs::create_dir_all(&golden).unwrap();
    for file in ["timeseries.csv", "events.csv"] {
        let shipped = repo("scenarios/golden")
            .join(CRASH_NAME)
            .join("kubevirt-pool");
        std::fs::copy(shipped.join(file), golden.join(file)).unwrap();
    }
    // At 1200 s two VMs are ready (node-1 is down); claim the golden said three.
    let series = std::fs::read_to_string(golden.join("timeseries.csv")).unwrap();
    let row = series
        .lines()
        .find(|line| line.starts_with("1200,"))
        .expect("a row at 1200 s")
        .to_string();
    let fields: Vec<&str> = row.split(',').collect();
    assert_eq!(fields[4], "2", "vms_ready at 1200 s: {row}");
    let mut changed: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    changed[4] = "3".into();
    std::fs::write(
        golden.join("timeseries.csv"),
        series.replace(&row, &changed.join(",")),
    )
    .unwrap();

    let out = dir.path().join("out");
    let output = poolsim(&["check", path_arg(&scenario), "--out", path_arg(&out)]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "timeseries.csv: first divergence at 1200 s, column vms_ready: expected 3, actual 2"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("events.csv: first divergence"), "{stdout}");
    assert!(stdout.contains("events up to 1200 s"), "{stdout}");
    assert!(stdout.contains("TaintManagerEviction"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "reproduce: poolsim run {} --seed 5 --algorithm kubevirt-pool",
            scenario.display()
        )),
        "{stdout}"
    );
}

#[test]
fn bless_writes_golden_traces_that_then_pass() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = copy_scenario(CRASH_SCENARIO, dir.path());
    let out = dir.path().join("out");
    let first = poolsim(&["check", path_arg(&scenario), "--out", path_arg(&out)]);
    assert_eq!(first.status.code(), Some(0));
    assert!(text(&first.stdout).contains("judged on expectations only"));

    let bless = poolsim(&[
        "check",
        path_arg(&scenario),
        "--bless",
        "--out",
        path_arg(&out),
    ]);
    assert_eq!(bless.status.code(), Some(0), "{}", text(&bless.stdout));
    let golden = dir
        .path()
        .join("golden")
        .join(CRASH_NAME)
        .join("kubevirt-pool");
    let blessed = std::fs::read(golden.join("timeseries.csv")).unwrap();
    assert_eq!(
        blessed,
        std::fs::read(out.join(CRASH_NAME).join("timeseries.csv")).unwrap()
    );
    assert!(golden.join("events.csv").is_file());

    let again = poolsim(&["check", path_arg(&scenario), "--out", path_arg(&out)]);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stdout).contains("golden trace matches"));
}

#[test]
fn algorithm_overrides_the_scenario_and_selects_its_own_golden() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let golden = repo("scenarios/golden");
    let scenario = repo(FENCED_SCENARIO);
    let own = poolsim(&[
        "check",
        path_arg(&scenario),
        "--golden",
        path_arg(&golden),
        "--out",
        path_arg(&out),
    ]);
    assert_eq!(own.status.code(), Some(0), "{}", text(&own.stdout));
    assert!(text(&own.stdout).contains("algorithm vmirs-fenced  seed 11  (golden trace matches)"));

    // The replica set rule overshoots: this scenario's `max_overshoot equals 0` fails,
    // and there is no golden trace for it under that algorithm.
    let other = poolsim(&[
        "check",
        path_arg(&scenario),
        "--algorithm",
        "kubevirt-vmirs",
        "--golden",
        path_arg(&golden),
        "--out",
        path_arg(&out),
    ]);
    let stdout = text(&other.stdout);
    assert_eq!(other.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL maximum-vs-availability-vmirs-fenced  algorithm kubevirt-vmirs"),
        "{stdout}"
    );
    assert!(
        stdout.contains("no golden trace for kubevirt-vmirs"),
        "{stdout}"
    );
    assert!(
        stdout.contains("expectation failed: max_overshoot equals 0 (observed 1)"),
        "{stdout}"
    );
}

#[test]
fn invalid_input_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    copy_scenario(CRASH_SCENARIO, dir.path());
    std::fs::write(
        dir.path().join("broken.yaml"),
        "apiVersion: poolsim.io/v1alpha1\nkind: Scenario\nmetadata: {name: broken}\nspec:\n  duration: soon\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = poolsim(&["check", path_arg(dir.path()), "--out", path_arg(&out)]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("broken.yaml:5:"), "{stderr}");
    assert!(stderr.contains("spec.duration"), "{stderr}");
    assert!(!out.exists(), "nothing is written on invalid input");

    let unknown = poolsim(&[
        "check",
        CRASH_SCENARIO,
        "--algorithm",
        "kubevirt-pol",
        "--out",
        path_arg(&out),
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("did you mean \"kubevirt-pool\""));
    let missing = poolsim(&["check", "/no/such/folder", "--out", path_arg(&out)]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(!out.exists());
}

#[test]
fn manifest_files_beside_scenarios_are_not_run() {
    let dir = tempfile::tempdir().unwrap();
    copy_scenario(CRASH_SCENARIO, dir.path());
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    std::fs::copy(
        repo("scenarios/lab05/vmpool_lab05-webserver.yaml"),
        dir.path().join("manifests/pool.yaml"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = poolsim(&["check", path_arg(dir.path()), "--out", path_arg(&out)]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("check: 1 scenarios, 1 passed, 0 failed"),
        "{stdout}"
    );
}

#[path = "../examples/custom_algorithm.rs"]
mod custom_algorithm;

#[test]
fn a_user_algorithm_runs_through_the_library() {
    let path = repo("scenarios/regressions/template-change-mid-run.yaml");
    // The scenario scales to 4; the ceiling keeps at most 2 guests.
    let capped = custom_algorithm::run_capped(&path, 2).expect("runs");
    assert_eq!(capped.algorithm, "capped-pool");
    assert_eq!(capped.max_guests_running, 2);
    let uncapped = custom_algorithm::run_capped(&path, 10).expect("runs");
    assert_eq!(uncapped.max_guests_running, 4);
}
