//! Helpers shared by the integration tests: the `poolsim` binary run from the
//! repository root, and timeseries rows by time.

// Each test file uses a different subset of the helpers.
#![allow(dead_code)]

use poolsim::check::{run_prepared, RunResult};
use poolsim::output::record::Sample;
use poolsim::scenario::load_str;
use poolsim::sim::{prepare_loaded, RunOptions};
use std::path::Path;
use std::process::{Command, Output};

/// The `poolsim` binary, run from the repository root (so paths like
/// `scenarios/...` resolve) without the environment variables it reads
/// (`JOB_COMPLETION_INDEX` picks a shard, `NO_COLOR` turns colours off), so a test
/// sees the same behaviour wherever it runs.
pub fn poolsim_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_poolsim"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("NO_COLOR");
    command
}

/// `poolsim ARGS`, its output collected.
pub fn poolsim(args: &[&str]) -> Output {
    poolsim_command()
        .args(args)
        .output()
        .expect("the poolsim binary runs")
}

/// `poolsim ARGS`, which must succeed (the failure shows its stderr).
pub fn poolsim_ok(args: &[&str]) -> Output {
    let output = poolsim(args);
    assert!(
        output.status.success(),
        "poolsim {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The timeseries rows of a run.
pub fn rows(result: &RunResult) -> &[Sample] {
    &result.world.samples.rows
}

/// The row at `seconds`: the last one at or before it.
pub fn at(rows: &[Sample], seconds: u64) -> &Sample {
    rows.iter()
        .rev()
        .find(|r| r.time.0 <= seconds * 1000)
        .expect("a row at or before that time")
}

/// Run a scenario given as text, as if it were the file at `relative` (from the
/// repository root, so its `manifestFiles` resolve), with every model invariant
/// checked after every event (a broken one panics).
pub fn run_checked(text: &str, relative: &str) -> RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let loaded = load_str(text, &path).unwrap_or_else(|d| panic!("{d:?}"));
    let prepared =
        prepare_loaded(loaded.scenario, loaded.warnings).unwrap_or_else(|d| panic!("{d:?}"));
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    run_prepared(&prepared, &options).expect("runs")
}
