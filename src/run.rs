//! One run, in one place: `prepare` (a scenario file to a checked [`Prepared`], in
//! `sim`) → [`run_prepared`] (build the world, run it, summarise, judge its `expect`
//! block) → [`RunResult`] → [`RunResult::write`] (the run's files). `poolsim run`,
//! `check`, `sweep` and `compare` all go through here; they differ only in what they
//! keep of the result.

use crate::algorithm::ReconcileAlgorithm;
use crate::cluster::world::World;
use crate::output::files::{self, Destination, ExpectationResult, Summary, WriteError};
use crate::output::record::Sample;
use crate::scenario::{Comparison, ExpectTarget, Expectation};
pub use crate::sim::{prepare, prepare_bytes, prepare_loaded, Prepared, RunOptions};
use crate::timeseries::value as column;

/// A finished run: the world as the run left it (samples, event log, store), its
/// summary with the expectations judged, and what the plot needs besides.
pub struct RunResult {
    pub world: World,
    pub summary: Summary,
    pub hpa_target_pct: Option<f64>,
}

impl RunResult {
    /// Write every file of the run (DESIGN.md §1.3) into its folder, whole or not at
    /// all.
    pub fn write(&self, destination: &Destination) -> Result<(), WriteError> {
        files::write_run(destination, &self.world, &self.summary, self.hpa_target_pct)
    }
}

/// Run a prepared scenario and evaluate its expectations, under the algorithm that
/// `options.algorithm` or else the scenario names.
pub fn run_prepared(prepared: &Prepared, options: &RunOptions) -> Result<RunResult, String> {
    let name = options
        .algorithm
        .clone()
        .unwrap_or_else(|| prepared.scenario.algorithm.clone());
    let algorithm = crate::algorithm::resolve(&name)?;
    run_named(prepared, options, algorithm, name, None)
}

/// [`run_prepared`], with `observe` called at each sample time (a progress bar).
pub fn run_prepared_observed(
    prepared: &Prepared,
    options: &RunOptions,
    observe: &dyn Fn(crate::engine::SimTime),
) -> Result<RunResult, String> {
    let name = options
        .algorithm
        .clone()
        .unwrap_or_else(|| prepared.scenario.algorithm.clone());
    let algorithm = crate::algorithm::resolve(&name)?;
    run_named(prepared, options, algorithm, name, Some(observe))
}

/// Run a prepared scenario with an algorithm object the caller built (one written in
/// Rust outside poolsim, for example: see `examples/custom_algorithm.rs`), and
/// evaluate its expectations. `options.algorithm` is ignored; the summary names the
/// algorithm by its `name()`.
pub fn run_prepared_with(
    prepared: &Prepared,
    options: &RunOptions,
    algorithm: Box<dyn ReconcileAlgorithm>,
) -> Result<RunResult, String> {
    let name = algorithm.name().to_string();
    run_named(prepared, options, algorithm, name, None)
}

fn run_named(
    prepared: &Prepared,
    options: &RunOptions,
    algorithm: Box<dyn ReconcileAlgorithm>,
    name: String,
    observe: Option<&dyn Fn(crate::engine::SimTime)>,
) -> Result<RunResult, String> {
    let seed = options.seed.unwrap_or(prepared.scenario.seed);
    let mut world = crate::sim::build_world(prepared, options, algorithm);
    world.run_observed(observe);
    if let Some(fatal) = world.fatal.take() {
        return Err(fatal);
    }
    let mut summary = files::summarize(&world, &name, seed);
    summary.expectations = prepared
        .scenario
        .expectations
        .iter()
        .map(|e| evaluate(e, &summary, &world.samples.rows))
        .collect();
    let hpa_target_pct = world.store().objects().hpas.values().find_map(|h| {
        h.spec.metrics.iter().find_map(|m| match m {
            crate::hpa::spec::MetricSpec::Resource { target, .. } => {
                target.average_utilization_pct.map(f64::from)
            }
        })
    });
    Ok(RunResult {
        world,
        summary,
        hpa_target_pct,
    })
}

fn describe(comparison: &Comparison) -> String {
    match comparison {
        Comparison::AtMost(v) => format!("at most {v}"),
        Comparison::AtLeast(v) => format!("at least {v}"),
        Comparison::Equals(v) => format!("equals {v}"),
    }
}

/// One `expect` item judged against the run's summary and timeseries.
pub fn evaluate(
    expectation: &Expectation,
    summary: &Summary,
    rows: &[Sample],
) -> ExpectationResult {
    let cmp = &expectation.comparison;
    let observed_text =
        |observed: Option<f64>| observed.map_or("nothing".into(), |v| v.to_string());
    // The value observed, and what is said about the expectation before it.
    let (observed, passed, description) = match &expectation.target {
        ExpectTarget::Metric(metric) => {
            let observed = summary.metric(metric);
            let said = format!("{metric} {}", describe(cmp));
            (observed, observed.is_some_and(|v| cmp.holds(v)), said)
        }
        ExpectTarget::ColumnAt {
            column: name,
            at_ms,
        } => {
            let row = rows.iter().rev().find(|r| r.time.0 <= *at_ms);
            let observed = row.and_then(|r| column(r, name));
            let said = format!("{name} at {}s {}", *at_ms as f64 / 1000.0, describe(cmp));
            (observed, observed.is_some_and(|v| cmp.holds(v)), said)
        }
        ExpectTarget::ColumnDuring {
            column: name,
            from_ms,
            to_ms,
        } => {
            let window: Vec<&Sample> = rows
                .iter()
                .filter(|r| r.time.0 >= *from_ms && r.time.0 <= *to_ms)
                .collect();
            let failing = window
                .iter()
                .find(|r| column(r, name).is_none_or(|v| !cmp.holds(v)));
            let observed = failing.and_then(|r| column(r, name));
            let said = format!(
                "{name} during [{}s, {}s] {}",
                *from_ms as f64 / 1000.0,
                *to_ms as f64 / 1000.0,
                describe(cmp)
            );
            // A window that holds says so without an observation; a failing one names
            // the first failing row.
            let description = match failing {
                None => said,
                Some(r) => format!(
                    "{said} (observed {} at {}s)",
                    observed_text(observed),
                    r.time.as_secs_f64()
                ),
            };
            let passed = failing.is_none() && !window.is_empty();
            return ExpectationResult {
                description,
                passed,
                observed,
            };
        }
    };
    ExpectationResult {
        description: format!("{description} (observed {})", observed_text(observed)),
        passed,
        observed,
    }
}
