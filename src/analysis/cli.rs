//! The bodies of `poolsim sweep`, `merge`, `compare`, `completions` and `schema`, and
//! the run summary table; `crate::cli` only declares the subcommands and calls these.

use super::compare::{self, CompareData};
use super::limits::check_series_values;
use super::sweep::{self, Shard, SweepData};
use super::table::{colours_wanted, RowStatus, Table};
use super::{default_jobs, run_seeds, seed_range, Progress};
use crate::cli::Outcome;
use crate::output::files::Summary;
use crate::output::ownership::Destination;
use crate::sim::{self, Prepared};
use std::path::{Path, PathBuf};

/// `poolsim sweep`.
#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// The scenario file (YAML, `kind: Scenario`) to run under every seed.
    #[arg(value_hint = clap::ValueHint::FilePath)]
    pub scenario: PathBuf,
    /// How many seeds: `scenario seed + 0 .. + N-1` (or from --seed-start).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// The first seed; default the scenario's `spec.seed`.
    #[arg(long)]
    pub seed_start: Option<u64>,
    /// Worker threads; default the available parallelism. Outputs do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..4096))]
    pub jobs: Option<u64>,
    /// Run only shard I of N (seeds whose index is I mod N); `/N` takes I from
    /// $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job). Combine with `poolsim merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// The reconcile algorithm: a built-in name (see `poolsim algorithms`) or
    /// exec:PATH; default the scenario's `spec.algorithm`.
    #[arg(long, value_name = "NAME", value_parser = crate::cli::AlgorithmName)]
    pub algorithm: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// What the commands that write results share: where, and how much to print.
#[derive(clap::Args, Debug)]
pub struct OutputArgs {
    /// Results go under DIR/<metadata.name>/.
    #[arg(long, value_name = "DIR", default_value = "output", value_hint = clap::ValueHint::DirPath)]
    pub out: PathBuf,
    /// Print nothing on success.
    #[arg(long)]
    pub quiet: bool,
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
    /// Replace the folders under DIR even when poolsim did not create them (they have
    /// no .poolsim-output marker and hold files poolsim does not write).
    #[arg(long)]
    pub force: bool,
}

/// `poolsim merge`.
#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Shard folders, or folders holding them (e.g. output/NAME/sweep-shards).
    #[arg(required = true, value_name = "SHARD_DIR", value_hint = clap::ValueHint::DirPath)]
    pub dirs: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `poolsim compare`.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// The scenario file (YAML, `kind: Scenario`) to run under every algorithm.
    #[arg(value_hint = clap::ValueHint::FilePath)]
    pub scenario: PathBuf,
    /// Algorithms to compare, comma-separated: built-in names (see `poolsim
    /// algorithms`) or exec:PATH.
    #[arg(long, value_name = "A,B[,..]", value_delimiter = ',', required = true, value_parser = crate::cli::AlgorithmName)]
    pub algorithms: Vec<String>,
    /// Seeds per algorithm: `scenario seed + 0 .. + N-1` (or from --seed-start).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// The first seed; default the scenario's `spec.seed`.
    #[arg(long)]
    pub seed_start: Option<u64>,
    /// Worker threads; default the available parallelism. Outputs do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..4096))]
    pub jobs: Option<u64>,
    /// The algorithm the others are gated against; default the first of --algorithms.
    #[arg(long, value_name = "NAME", value_parser = crate::cli::AlgorithmName)]
    pub baseline: Option<String>,
    /// METRIC[:MARGIN],.. : exit 1 when a candidate's p50 is worse than the baseline's
    /// by more than MARGIN (a number, or a percentage of the baseline like 10%).
    #[arg(long, value_name = "METRIC[:MARGIN],..")]
    pub fail_if_worse: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn invalid(message: impl std::fmt::Display) -> Outcome {
    eprintln!("error: {message}");
    Outcome::Invalid
}

fn prepare(path: &Path, quiet: bool) -> Result<Prepared, Outcome> {
    match sim::prepare(path) {
        Ok(prepared) => {
            if !quiet {
                for warning in &prepared.warnings {
                    eprintln!("{warning}");
                }
            }
            Ok(prepared)
        }
        Err(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{d}");
            }
            Err(Outcome::Invalid)
        }
    }
}

/// The scenario's events for the plots of several runs (see
/// [`crate::output::files::scenario_event_markers`]).
fn scenario_events(prepared: &Prepared) -> Vec<crate::output::plot::EventMarker> {
    crate::output::files::scenario_event_markers(
        &prepared.actions,
        crate::engine::SimTime(prepared.scenario.duration_ms),
    )
}

/// The timeseries rows each run of the scenario samples (`duration / sampleInterval + 1`,
/// as the scenario's `MAX_SAMPLES` check counts them).
fn sample_count(prepared: &Prepared) -> u64 {
    let scenario = &prepared.scenario;
    scenario.duration_ms / scenario.sample_interval_ms.max(1) + 1
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

pub fn sweep_command(args: SweepArgs) -> Outcome {
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

pub fn merge_command(args: MergeArgs) -> Outcome {
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

pub fn compare_command(args: CompareArgs) -> Outcome {
    let mut algorithms: Vec<String> = Vec::new();
    for name in args.algorithms.iter().map(|a| a.trim()) {
        if name.is_empty() {
            return invalid("--algorithms: an empty name; write A,B[,..]");
        }
        if algorithms.iter().any(|a| a == name) {
            return invalid(format!("--algorithms: {name:?} is named twice"));
        }
        if let Err(message) = crate::algorithm::resolve(name) {
            return invalid(format!("--algorithms: {message}"));
        }
        algorithms.push(name.to_string());
    }
    let baseline = args
        .baseline
        .clone()
        .unwrap_or_else(|| algorithms[0].clone());
    if !algorithms.contains(&baseline) {
        return invalid(format!(
            "--baseline {baseline:?} is not one of --algorithms ({})",
            algorithms.join(", ")
        ));
    }
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
        let colours = colours_wanted();
        let failures = checks.iter().filter(|c| !c.passed);
        if !args.output.quiet {
            println!(
                "{}: {} algorithm(s), {} seed(s) each",
                data.scenario,
                algorithms.len(),
                seeds.len()
            );
            print!("{}", compare::comparison_table(&data).render(colours));
            if !checks.is_empty() {
                print!("{}", compare::gate_table(&checks).render(colours));
            }
            println!("outputs {}", dir.display());
        } else {
            // Even when quiet, a failed gate says why on stderr.
            for check in failures {
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
    }
    if checks.iter().all(|c| c.passed) {
        Outcome::Success
    } else {
        Outcome::Failed
    }
}

/// `poolsim completions SHELL`.
pub fn completions_command(shell: clap_complete::Shell) -> Outcome {
    use clap::CommandFactory;
    let mut command = crate::cli::Cli::command();
    clap_complete::generate(shell, &mut command, "poolsim", &mut std::io::stdout());
    Outcome::Success
}

/// `poolsim schema`.
pub fn schema_command() -> Outcome {
    print_json(&crate::scenario::schema::scenario_schema());
    Outcome::Success
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
            summary
                .metric(name)
                .map(super::table::format_number)
                .unwrap_or_default(),
        );
    }
    for e in &summary.expectations {
        table.push(
            if e.passed {
                RowStatus::Pass
            } else {
                RowStatus::Fail
            },
            vec![
                if e.passed { "PASS" } else { "FAIL" }.into(),
                e.description.clone(),
            ],
        );
    }
    table.push(
        RowStatus::Plain,
        vec!["outputs".into(), dir.display().to_string()],
    );
    table
}

/// Prints [`summary_table`].
pub fn print_run_summary(summary: &Summary, dir: &Path) {
    print!("{}", summary_table(summary, dir).render(colours_wanted()));
}
