//! A reconcile algorithm written in Rust outside poolsim, run through the library.
//!
//! `CappedPool` is the upstream pool controller (`kubevirt-pool`) with a hard ceiling:
//! whatever `spec.replicas` says, it keeps at most `cap` VMs. It decides by handing
//! the built-in a copy of the observation with `replicas` lowered, so every other rule
//! (lowest free index, scale-in order, burst, updates, autohealing) stays upstream's.
//!
//! ```sh
//! cargo run --release --example custom_algorithm -- scenarios/regressions/template-change-mid-run.yaml 2
//! ```

use poolsim::algorithm::{Action, KubevirtPool, Observation, ReconcileAlgorithm};
use poolsim::check::run_prepared_with;
use poolsim::output::files::Summary;
use poolsim::sim::{prepare, RunOptions};
use std::path::Path;

/// `kubevirt-pool` that never keeps more than `cap` VMs.
pub struct CappedPool {
    pub cap: i32,
}

impl ReconcileAlgorithm for CappedPool {
    fn name(&self) -> &'static str {
        "capped-pool"
    }

    fn summary(&self) -> &'static str {
        "kubevirt-pool with a ceiling on spec.replicas"
    }

    fn reconcile(&self, observed: &Observation, rng: &mut dyn rand::RngCore) -> Vec<Action> {
        let mut capped = observed.clone();
        capped.pool.replicas = capped.pool.replicas.min(self.cap);
        KubevirtPool.reconcile(&capped, rng)
    }
}

/// Prepare the scenario at `path` and run it under `CappedPool { cap }`.
pub fn run_capped(path: &Path, cap: i32) -> Result<Summary, String> {
    let prepared = prepare(path).map_err(|diagnostics| {
        diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let result = run_prepared_with(
        &prepared,
        &RunOptions::default(),
        Box::new(CappedPool { cap }),
    )?;
    Ok(result.summary)
}

#[allow(dead_code)] // `tests/check_test.rs` includes this file for `run_capped` only.
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "scenarios/regressions/template-change-mid-run.yaml".into());
    let cap = args.next().and_then(|c| c.parse().ok()).unwrap_or(2);
    match run_capped(Path::new(&path), cap) {
        Ok(summary) => println!(
            "{} under {} (cap {cap}): at most {} guests running, {} VMs created, {} ready at the end",
            summary.scenario,
            summary.algorithm,
            summary.max_guests_running,
            summary.vms_created,
            summary.final_vms_ready
        ),
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    }
}
