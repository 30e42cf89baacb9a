//! Counts the scheduler's (pod, node) evaluations of a scenario: the measurement behind
//! `maxSchedulerEvaluations` in docs/LIMITS.md.
//!
//! ```text
//! cargo run --release --example scheduler_work -- scenarios/bench/bench-scale.yaml 1h
//! ```
//!
//! The optional second argument shortens the run (a Go duration); time it with `time`.

use poolsim::check::run_prepared;
use poolsim::sim::{prepare, RunOptions};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: scheduler_work SCENARIO [DURATION]");
        return ExitCode::from(2);
    };
    let mut prepared = match prepare(Path::new(path)) {
        Ok(prepared) => prepared,
        Err(e) => {
            eprintln!("error: {path}: {e:?}");
            return ExitCode::from(2);
        }
    };
    if let Some(duration) = args.get(1) {
        match poolsim::units::parse_duration_ms(duration) {
            Ok(ms) => prepared.scenario.duration_ms = prepared.scenario.duration_ms.min(ms),
            Err(e) => {
                eprintln!("error: duration {duration:?}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    match run_prepared(&prepared, &RunOptions::default()) {
        Ok(result) => {
            println!(
                "{path}: {} scheduler evaluations, {} events",
                result.world.scheduler_evaluations(),
                result.world.events_processed()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {path}: {e}");
            ExitCode::from(2)
        }
    }
}
