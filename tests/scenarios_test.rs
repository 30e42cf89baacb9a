//! Every shipped scenario runs, meets its `expect` block, and gives the same bytes twice.

use poolsim::check::discover::discover;
use poolsim::check::run_prepared;
use poolsim::output::files::{events_csv, timeseries_csv};
use poolsim::sim::{prepare, RunOptions};
use std::path::{Path, PathBuf};

/// Every scenario under `scenarios/`, found as `poolsim check` finds them (recursively,
/// manifest files left out).
fn shipped_scenarios() -> Vec<PathBuf> {
    let paths = discover(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")])
        .expect("scenarios folder");
    assert!(paths.len() >= 9, "the suite shrank: {paths:?}");
    paths
}

/// The suite exercises every event action of DESIGN.md §1.2 somewhere (expectations
/// and golden traces are judged by `tests/check_test.rs`).
#[test]
fn the_suite_uses_every_event_action() {
    let mut used = std::collections::BTreeSet::new();
    for path in shipped_scenarios() {
        let prepared = prepare(&path).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
        used.extend(prepared.scenario.events.iter().map(|e| e.action.name()));
    }
    for action in poolsim::scenario::EVENT_ACTIONS {
        assert!(used.contains(action), "no shipped scenario uses {action}");
    }
}

#[test]
fn the_same_scenario_and_seed_give_the_same_bytes() {
    // The benchmarks take seconds each; `check` runs them once, and the determinism of
    // the model is the same at any size.
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench");
    for path in shipped_scenarios()
        .into_iter()
        .filter(|p| !p.starts_with(&bench))
    {
        let prepared = prepare(&path).expect("valid");
        let first = run_prepared(&prepared, &RunOptions::default()).expect("runs");
        let second = run_prepared(&prepared, &RunOptions::default()).expect("runs");
        assert_eq!(
            timeseries_csv(&first.world.samples.rows),
            timeseries_csv(&second.world.samples.rows),
            "{}",
            path.display()
        );
        assert_eq!(
            events_csv(&first.world).unwrap(),
            events_csv(&second.world).unwrap(),
            "{}",
            path.display()
        );
    }
}

#[test]
fn lab05_pool_clones_two_disks_then_follows_kubectl_scale() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lab05-webserver.yaml");
    let prepared = prepare(&path).expect("valid");
    let result = run_prepared(&prepared, &RunOptions::default()).expect("runs");
    let rows = &result.world.samples.rows;
    let at = |s: u64| {
        rows.iter()
            .rev()
            .find(|r| r.time.0 <= s * 1000)
            .expect("row")
    };
    // Host-assisted copy of 6Gi at ~45 MB/s: nothing is ready in the first two minutes.
    assert_eq!(at(100).vms_ready, 0);
    assert_eq!(at(100).pvcs_bound, 0);
    assert_eq!(at(500).vms_ready, 2);
    assert_eq!(at(800).vms_total, 1);
    assert_eq!(at(1150).vms_total, 0);
    assert_eq!(
        at(1150).pvcs_bound,
        0,
        "scale-in deletes the VM's DataVolume and PVC"
    );
}
