//! The scheduler's work budget (`maxSchedulerEvaluations`, docs/LIMITS.md): a run's
//! cost is bounded by counted evaluations (one per scheduling attempt, plus one per
//! node the scheduler's index filters and scores again), deterministically, and a run
//! that reaches the bound stops with exit 2, nothing written, and a message naming
//! the setting that raises it.

mod common;

use poolsim::check::run_prepared;
use poolsim::sim::{prepare, RunOptions};
use std::path::Path;

/// The lab05 pool of two VMs on three nodes, with the budget set in its settings.
fn lab05_with_budget(max: u64) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lab05-webserver.yaml"),
    )
    .expect("read the shipped scenario");
    text.replace(
        "  cluster:\n",
        &format!("  settings:\n    maxSchedulerEvaluations: {max}\n  cluster:\n"),
    )
}

#[test]
fn a_small_scenario_counts_one_evaluation_per_attempt_and_node_evaluated() {
    let prepared =
        prepare(Path::new("scenarios/lab05-webserver.yaml")).expect("the scenario loads");
    let result = run_prepared(&prepared, &RunOptions::default()).expect("the run succeeds");
    let evaluations = result.world.scheduler_evaluations();
    // Two alike launcher pods on three nodes, each placed at its first attempt: the
    // first evaluates all three nodes (1 + 3), the second only the node the first was
    // placed on (1 + 1).
    assert_eq!(evaluations, 6);
}

#[test]
fn a_run_that_reaches_the_budget_stops_with_exit_2_naming_the_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The scenario's manifest files are found next to it: copy them along.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lab05");
    std::fs::create_dir(dir.path().join("lab05")).expect("mkdir");
    for entry in std::fs::read_dir(&shipped).expect("list lab05") {
        let path = entry.expect("entry").path();
        std::fs::copy(
            &path,
            dir.path().join("lab05").join(path.file_name().unwrap()),
        )
        .expect("copy a manifest");
    }
    let scenario = dir.path().join("scenario.yaml");
    std::fs::write(&scenario, lab05_with_budget(4)).expect("write the scenario");
    let out = dir.path().join("out");
    let output = common::poolsim_command()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("poolsim runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for part in [
        "after 4 scheduler evaluations",
        "the limit 4 (setting maxSchedulerEvaluations, docs/LIMITS.md)",
        "raise spec.settings.maxSchedulerEvaluations",
    ] {
        assert!(stderr.contains(part), "{part:?} not in: {stderr}");
    }
    assert_eq!(std::fs::read_dir(&out).map_or(0, |e| e.count()), 0);
}

#[test]
fn the_budget_admits_exactly_its_limit() {
    // (1 + 3) + (1 + 1) = 6 evaluations: a budget of 6 lets the run finish.
    let prepared = poolsim::sim::prepare_bytes(
        lab05_with_budget(6).as_bytes(),
        Path::new("scenarios/lab05-webserver.yaml"),
    )
    .expect("the scenario loads");
    let result = run_prepared(&prepared, &RunOptions::default());
    let evaluations = result.as_ref().map(|r| r.world.scheduler_evaluations());
    assert_eq!(evaluations, Ok(6));
}
