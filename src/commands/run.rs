//! `poolsim run`: one scenario, its files written, a short summary printed.

use super::Outcome;
use crate::analysis::table::{colours_wanted, format_number, RowStatus, Table};
use crate::cli::OutputArgs;
use crate::output::files::Summary;
use crate::output::ownership::Destination;
use crate::run::RunOptions;
use std::path::Path;

/// Run one scenario end to end and write its outputs under `out/<name>/`.
pub(super) fn run_one(path: &Path, options: &RunOptions, output: &OutputArgs) -> Outcome {
    let (quiet, json) = (output.quiet, output.json);
    let prepared = match super::prepare(path, quiet) {
        Ok(prepared) => prepared,
        Err(outcome) => return outcome,
    };
    let destination = Destination::run(&output.out, &prepared.scenario.name, output.force);
    // Refused before simulating, so a refusal costs nothing.
    if let Err(e) = destination.check() {
        eprintln!("error: {e}");
        return Outcome::Invalid;
    }
    let progress = crate::progress::RunProgress::new(
        &prepared.scenario.name,
        crate::engine::SimTime(prepared.scenario.duration_ms),
        crate::progress::wanted_here(quiet, json),
    );
    let observe = |now| progress.observe(now);
    let result = match crate::run::run_prepared_observed(&prepared, options, &observe) {
        Ok(result) => result,
        Err(message) => {
            eprintln!("error: {}: {message}", path.display());
            return Outcome::Invalid;
        }
    };
    // The bar (if one was drawn) goes before the summary is printed.
    drop(progress);
    let dir = destination.dir();
    if let Err(e) = result.write(&destination) {
        eprintln!("error: {e}");
        return Outcome::Invalid;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result.summary).unwrap_or_default()
        );
    } else if !quiet {
        print!(
            "{}",
            summary_table(&result.summary, dir).render(colours_wanted())
        );
    }
    if result.summary.expectations.iter().all(|e| e.passed) {
        Outcome::Success
    } else {
        Outcome::Failed
    }
}

/// The summary `poolsim run` prints: an aligned two-column table of what `summary.json`
/// holds, then one line per expectation (green PASS / red FAIL on a terminal).
pub fn summary_table(summary: &Summary, dir: &Path) -> Table {
    let mut table = Table::new(&["field", "value"]);
    let mut row =
        |name: &str, value: String| table.push(RowStatus::Plain, vec![name.into(), value]);
    row("scenario", summary.scenario.clone());
    row("algorithm", summary.algorithm.clone());
    row("seed", summary.seed.to_string());
    for name in Summary::NUMERIC_METRICS {
        row(
            name,
            summary.metric(name).map(format_number).unwrap_or_default(),
        );
    }
    for e in &summary.expectations {
        let (status, verdict) = RowStatus::verdict(e.passed);
        table.push(status, vec![verdict, e.description.clone()]);
    }
    table.push(
        RowStatus::Plain,
        vec!["outputs".into(), dir.display().to_string()],
    );
    table
}
