//! Many runs of one scenario: `poolsim sweep` (Monte-Carlo over seeds, shards and their
//! merge) and `poolsim compare` (several algorithms side by side, with a regression
//! gate). Each run is the single-threaded, deterministic run of `poolsim run`; runs go
//! to worker threads and their results are put back in seed order, so every output is
//! the same bytes whatever the number of threads or shards.
//!
//! This module models no upstream behaviour: it only aggregates the summaries and
//! timeseries that runs produce.

pub mod compare;
pub mod limits;
pub mod stats;
pub mod sweep;
pub mod table;

use crate::output::files::Summary;
use crate::run::{Prepared, RunOptions};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// What the analysis keeps of one run: its summary and the two columns the band and
/// overlay plots draw.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedRun {
    pub seed: u64,
    /// [`Summary::NUMERIC_METRICS`], in that order.
    pub metrics: Vec<Option<f64>>,
    pub vms_ready: Vec<i64>,
    pub guests_running: Vec<i64>,
}

impl SeedRun {
    pub fn from_summary(summary: &Summary, vms_ready: Vec<i64>, guests_running: Vec<i64>) -> Self {
        SeedRun {
            seed: summary.seed,
            metrics: Summary::NUMERIC_METRICS
                .iter()
                .map(|name| summary.metric(name))
                .collect(),
            vms_ready,
            guests_running,
        }
    }

    /// A metric by its `summary.json` name.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let index = Summary::NUMERIC_METRICS.iter().position(|m| *m == name)?;
        self.metrics.get(index).copied().flatten()
    }
}

/// The runs of one algorithm over several seeds, in seed order, with their common time
/// axis (milliseconds of every sample).
#[derive(Debug, Clone, PartialEq)]
pub struct Runs {
    pub time_ms: Vec<u64>,
    pub runs: Vec<SeedRun>,
}

/// `count` consecutive seeds from `start`, or a message when there are none, more than
/// [`limits::MAX_SEEDS`], or they overflow `u64`. The count is checked before the list
/// is allocated.
pub fn seed_range(start: u64, count: u64) -> Result<Vec<u64>, String> {
    if count == 0 {
        return Err("--seeds must be at least 1".into());
    }
    limits::check_seed_count("--seeds", count)?;
    start.checked_add(count - 1).ok_or_else(|| {
        format!("seeds {start} + {count} overflow a 64-bit seed; use a smaller --seed-start")
    })?;
    Ok((0..count).map(|offset| start + offset).collect())
}

/// The default number of worker threads: what the machine offers.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

// The bar of finished runs (indicatif, drawn only on a terminal): `crate::progress`.
pub use crate::progress::Progress;

/// Runs `algorithm` (the scenario's own when `None`) once per seed on `jobs` threads.
/// Results come back in the order of `seeds`; on failure, the error of the first
/// failing seed in that order.
pub fn run_seeds(
    prepared: &Prepared,
    algorithm: Option<&str>,
    seeds: &[u64],
    jobs: usize,
    progress: &Progress,
) -> Result<Runs, String> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<SeedRun, String>>>> = Mutex::new(vec![None; seeds.len()]);
    let time_axis: Mutex<Option<Vec<u64>>> = Mutex::new(None);
    let worker = || loop {
        let index = next.fetch_add(1, Ordering::SeqCst);
        if index >= seeds.len() || failed.load(Ordering::SeqCst) {
            break;
        }
        let options = RunOptions {
            seed: Some(seeds[index]),
            algorithm: algorithm.map(str::to_string),
            check_invariants: false,
        };
        let outcome = crate::run::run_prepared(prepared, &options).map(|result| {
            let rows = &result.world.samples.rows;
            let times: Vec<u64> = rows.iter().map(|r| r.time.0).collect();
            let mut axis = time_axis.lock().unwrap_or_else(|e| e.into_inner());
            let same_axis = match axis.as_ref() {
                Some(existing) => *existing == times,
                None => {
                    *axis = Some(times);
                    true
                }
            };
            (
                same_axis,
                SeedRun::from_summary(
                    &result.summary,
                    rows.iter().map(|r| r.vms_ready).collect(),
                    rows.iter().map(|r| r.guests_running).collect(),
                ),
            )
        });
        let outcome = match outcome {
            Ok((true, run)) => Ok(run),
            // Sample times depend only on the scenario's duration and interval; a
            // difference would be a bug in the recorder, not in the input.
            Ok((false, _)) => Err(format!(
                "seed {} sampled different times than the other seeds",
                seeds[index]
            )),
            Err(message) => Err(format!("seed {}: {message}", seeds[index])),
        };
        if outcome.is_err() {
            failed.store(true, Ordering::SeqCst);
        }
        results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(outcome);
        progress.tick();
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, seeds.len().max(1)) {
            scope.spawn(worker);
        }
    });
    let mut runs = Vec::with_capacity(seeds.len());
    for outcome in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        match outcome {
            Some(Ok(run)) => runs.push(run),
            Some(Err(message)) => return Err(message),
            // Skipped after another seed failed; that failure is reported below.
            None => {}
        }
    }
    if runs.len() != seeds.len() {
        return Err("a run failed".into());
    }
    Ok(Runs {
        time_ms: time_axis
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_default(),
        runs,
    })
}

/// Compile-time proof that one prepared scenario can be shared by the worker threads.
const _: () = {
    const fn shared_between_threads<T: Sync>() {}
    shared_between_threads::<Prepared>();
};
