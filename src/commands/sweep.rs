//! `poolsim sweep` (Monte-Carlo over seeds, whole or one shard) and `poolsim merge`
//! (the shards' files combined into one sweep's).

use super::{invalid, prepare, print_json, sample_count, scenario_events, Outcome};
use crate::analysis::limits::check_series_values;
use crate::analysis::sweep::{self, Shard, SweepData};
use crate::analysis::table::colours_wanted;
use crate::analysis::{default_jobs, run_seeds, seed_range, Progress};
use crate::cli::{MergeArgs, SweepArgs};
use crate::output::ownership::Destination;
use std::path::Path;

pub(super) fn sweep_command(args: SweepArgs) -> Outcome {
    let shard = match &args.shard {
        Some(spec) => {
            let env = std::env::var(sweep::SHARD_INDEX_ENV).ok();
            match Shard::parse(spec, env.as_deref()).and_then(|shard| {
                shard
                    .check_against_seeds(args.seeds)
                    .map(|()| shard)
                    .map_err(|e| format!("--shard {spec:?} with --seeds {}: {e}", args.seeds))
            }) {
                Ok(shard) => Some(shard),
                Err(message) => return invalid(message),
            }
        }
        None => None,
    };
    let prepared = match prepare(&args.scenario, args.output.quiet) {
        Ok(prepared) => prepared,
        Err(outcome) => return outcome,
    };
    let algorithm = args
        .algorithm
        .clone()
        .unwrap_or_else(|| prepared.scenario.algorithm.clone());
    if let Err(message) = crate::algorithm::resolve(&algorithm) {
        return invalid(format!("--algorithm: {message}"));
    }
    let seed_start = args.seed_start.unwrap_or(prepared.scenario.seed);
    let all_seeds = match seed_range(seed_start, args.seeds) {
        Ok(seeds) => seeds,
        Err(message) => return invalid(message),
    };
    let seeds = shard.map_or_else(|| all_seeds.clone(), |shard| shard.select(&all_seeds));
    let (out, name, force) = (&args.output.out, &prepared.scenario.name, args.output.force);
    let destination = match shard {
        Some(shard) => Destination::shard(out, name, &shard.name(), force),
        None => Destination::sweep(out, name, force),
    };
    // Refused before simulating, so a refusal costs nothing.
    if let Err(e) = destination.check() {
        return invalid(e);
    }
    if let Err(message) = check_series_values(
        &format!("{}", args.scenario.display()),
        seeds.len() as u64,
        sample_count(&prepared),
    ) {
        return invalid(message);
    }
    let jobs = args.jobs.map_or_else(default_jobs, |j| j as usize);
    let progress = Progress::new("sweep", seeds.len(), args.output.quiet || args.output.json);
    let results = match run_seeds(&prepared, Some(&algorithm), &seeds, jobs, &progress) {
        Ok(results) => results,
        Err(message) => return invalid(format!("{}: {message}", args.scenario.display())),
    };
    let data = SweepData {
        scenario: prepared.scenario.name.clone(),
        algorithm,
        seed_start,
        seed_count: args.seeds,
        results,
        events: scenario_events(&prepared),
    };
    let written = match shard {
        Some(shard) => sweep::write_shard(&destination, &data, shard),
        None => sweep::write_sweep(&destination, &data),
    };
    if let Err(e) = written {
        return invalid(e);
    }
    let dir = destination.dir();
    report_sweep(&data, dir, args.output.quiet, args.output.json);
    Outcome::Success
}

fn report_sweep(data: &SweepData, dir: &Path, quiet: bool, json: bool) {
    let table = sweep::percentile_table(&data.results.runs);
    if json {
        print_json(&serde_json::json!({
            "scenario": data.scenario,
            "algorithm": data.algorithm,
            "seeds": data.results.runs.iter().map(|run| run.seed).collect::<Vec<_>>(),
            "table": table.to_json(),
        }));
    } else if !quiet {
        println!(
            "{}: {} over {} seed(s)",
            data.scenario,
            data.algorithm,
            data.results.runs.len()
        );
        print!("{}", table.render(colours_wanted()));
        println!("outputs {}", dir.display());
    }
}

pub(super) fn merge_command(args: MergeArgs) -> Outcome {
    let data = match sweep::find_shard_dirs(&args.dirs).and_then(|dirs| sweep::merge_shards(&dirs))
    {
        Ok(data) => data,
        Err(message) => return invalid(message),
    };
    let destination = Destination::sweep(&args.output.out, &data.scenario, args.output.force);
    if let Err(e) = sweep::write_sweep(&destination, &data) {
        return invalid(e);
    }
    report_sweep(
        &data,
        destination.dir(),
        args.output.quiet,
        args.output.json,
    );
    Outcome::Success
}
