//! `poolsim compare`: the same scenario under several algorithms, side by side, with a
//! regression gate.

use super::{invalid, prepare, print_json, sample_count, scenario_events, Outcome};
use crate::analysis::compare::{self, CompareData, GateCheck};
use crate::analysis::limits::check_series_values;
use crate::analysis::table::colours_wanted;
use crate::analysis::{default_jobs, run_seeds, seed_range, Progress};
use crate::cli::CompareArgs;
use crate::output::ownership::Destination;
use std::path::Path;

pub(super) fn compare_command(args: CompareArgs) -> Outcome {
    let (algorithms, baseline) = match algorithms_and_baseline(&args) {
        Ok(names) => names,
        Err(message) => return invalid(message),
    };
    let rules = match args.fail_if_worse.as_deref().map(compare::parse_gate) {
        Some(Ok(rules)) => rules,
        Some(Err(message)) => return invalid(message),
        None => Vec::new(),
    };
    let prepared = match prepare(&args.scenario, args.output.quiet) {
        Ok(prepared) => prepared,
        Err(outcome) => return outcome,
    };
    let seeds = match seed_range(
        args.seed_start.unwrap_or(prepared.scenario.seed),
        args.seeds,
    ) {
        Ok(seeds) => seeds,
        Err(message) => return invalid(message),
    };
    let destination =
        Destination::compare(&args.output.out, &prepared.scenario.name, args.output.force);
    // Refused before simulating, so a refusal costs nothing.
    if let Err(e) = destination.check() {
        return invalid(e);
    }
    if let Err(message) = check_series_values(
        &format!(
            "{} with {} algorithm(s)",
            args.scenario.display(),
            algorithms.len()
        ),
        (seeds.len() * algorithms.len()) as u64,
        sample_count(&prepared),
    ) {
        return invalid(message);
    }
    let jobs = args.jobs.map_or_else(default_jobs, |j| j as usize);
    let progress = Progress::new(
        "compare",
        seeds.len() * algorithms.len(),
        args.output.quiet || args.output.json,
    );
    let mut data = CompareData {
        scenario: prepared.scenario.name.clone(),
        seeds: seeds.clone(),
        algorithms: Vec::new(),
        events: scenario_events(&prepared),
    };
    for name in &algorithms {
        match run_seeds(&prepared, Some(name), &seeds, jobs, &progress) {
            Ok(runs) => data.algorithms.push((name.clone(), runs)),
            Err(message) => {
                return invalid(format!("{} ({name}): {message}", args.scenario.display()))
            }
        }
    }
    let checks = compare::evaluate_gate(&data, &baseline, &rules);
    if let Err(e) = compare::write_compare(&destination, &data, &checks) {
        return invalid(e);
    }
    let dir = destination.dir();
    if args.output.json {
        print_json(&compare::comparison_json(&data, &checks));
    } else {
        print_comparison(&data, &checks, dir, args.output.quiet);
    }
    if checks.iter().all(|c| c.passed) {
        Outcome::Success
    } else {
        Outcome::Failed
    }
}

/// `--algorithms` (each named once, each resolvable) and `--baseline` (one of them, by
/// default the first).
fn algorithms_and_baseline(args: &CompareArgs) -> Result<(Vec<String>, String), String> {
    let mut algorithms: Vec<String> = Vec::new();
    for name in args.algorithms.iter().map(|a| a.trim()) {
        if name.is_empty() {
            return Err("--algorithms: an empty name; write A,B[,..]".into());
        }
        if algorithms.iter().any(|a| a == name) {
            return Err(format!("--algorithms: {name:?} is named twice"));
        }
        if let Err(message) = crate::algorithm::resolve(name) {
            return Err(format!("--algorithms: {message}"));
        }
        algorithms.push(name.to_string());
    }
    let baseline = args
        .baseline
        .clone()
        .unwrap_or_else(|| algorithms[0].clone());
    if !algorithms.contains(&baseline) {
        return Err(format!(
            "--baseline {baseline:?} is not one of --algorithms ({})",
            algorithms.join(", ")
        ));
    }
    Ok((algorithms, baseline))
}

/// The comparison table and the gate's, or when quiet only the gate's failures (on
/// stderr, so a failed gate always says why).
fn print_comparison(data: &CompareData, checks: &[GateCheck], dir: &Path, quiet: bool) {
    let colours = colours_wanted();
    if !quiet {
        println!(
            "{}: {} algorithm(s), {} seed(s) each",
            data.scenario,
            data.algorithms.len(),
            data.seeds.len()
        );
        print!("{}", compare::comparison_table(data).render(colours));
        if !checks.is_empty() {
            print!("{}", compare::gate_table(checks).render(colours));
        }
        println!("outputs {}", dir.display());
        return;
    }
    for check in checks.iter().filter(|c| !c.passed) {
        eprintln!(
            "FAIL {} {} {} > limit {} (baseline {} {})",
            check.candidate,
            check.metric,
            compare::describe_value(check.candidate_value),
            compare::describe_value(check.limit),
            check.baseline,
            compare::describe_value(check.baseline_value)
        );
    }
}
