//! The bodies of the commands (DESIGN.md §1.1), one module per command that has more
//! than a few lines; `crate::cli` declares their arguments, and [`run`] dispatches.
//! Each body prepares its input, goes through `crate::run` for the simulation, and
//! prints; the outcome says which exit code `main` uses.

mod compare;
mod plot;
mod run;
mod sweep;

pub use run::summary_table;

use crate::cli::{Cli, Command};
pub use crate::outcome::Outcome;
use crate::run::{Prepared, RunOptions};
use crate::scenario::diag::Diagnostic;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Run the command the command line names.
pub fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Run {
            scenario,
            seed,
            algorithm,
            out,
            check_invariants,
            quiet,
            json,
            force,
        } => {
            let options = RunOptions {
                seed,
                algorithm,
                check_invariants,
            };
            let output = crate::cli::OutputArgs {
                out,
                quiet,
                json,
                force,
            };
            run::run_one(&scenario, &options, &output)
        }
        Command::Validate {
            files,
            placeholders,
        } => validate(&files, &placeholders.into_iter().collect()),
        Command::Check(args) => {
            crate::check::check(&args, &mut std::io::stdout(), &mut std::io::stderr()).into()
        }
        Command::Algorithms => algorithms_command(),
        Command::Plot {
            timeseries_csv,
            out,
            title,
        } => plot::plot(&timeseries_csv, out.as_deref(), title),
        Command::Sweep(args) => sweep::sweep_command(args),
        Command::Merge(args) => sweep::merge_command(args),
        Command::Compare(args) => compare::compare_command(args),
        Command::Completions { shell } => completions_command(shell),
        Command::Schema => schema_command(),
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

fn invalid(message: impl std::fmt::Display) -> Outcome {
    eprintln!("error: {message}");
    Outcome::Invalid
}

/// Load and check a scenario file: every problem printed on stderr (then
/// [`Outcome::Invalid`]), or its warnings unless `quiet`.
fn prepare(path: &Path, quiet: bool) -> Result<Prepared, Outcome> {
    match crate::run::prepare(path) {
        Ok(prepared) => {
            if !quiet {
                print_diagnostics(&prepared.warnings);
            }
            Ok(prepared)
        }
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
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

/// `validate` (details in `crate::validate`): one `FILE: ok` line per valid file on
/// stdout, every diagnostic on stderr; invalid if any file or folder is.
fn validate(paths: &[PathBuf], placeholders: &BTreeMap<String, String>) -> Outcome {
    let (files, problems) = crate::validate::expand_paths(paths);
    print_diagnostics(&problems);
    let mut invalid = !problems.is_empty();
    for file in files {
        let report = crate::validate::check_file(&file, placeholders);
        print_diagnostics(&report.diagnostics);
        match report.ok_line() {
            Some(line) if report.is_valid() => println!("{line}"),
            _ => invalid = true,
        }
    }
    if invalid {
        Outcome::Invalid
    } else {
        Outcome::Success
    }
}

/// `poolsim algorithms`.
fn algorithms_command() -> Outcome {
    for name in crate::algorithm::builtin_names() {
        let algorithm = crate::algorithm::builtin(name).expect("listed");
        println!("{name:<16} {}", algorithm.summary());
    }
    println!(
        "{:<16} an external process speaking docs/PROTOCOL.md",
        "exec:PATH"
    );
    Outcome::Success
}

/// `poolsim completions SHELL`.
fn completions_command(shell: clap_complete::Shell) -> Outcome {
    use clap::CommandFactory;
    let mut command = crate::cli::Cli::command();
    clap_complete::generate(shell, &mut command, "poolsim", &mut std::io::stdout());
    Outcome::Success
}

/// `poolsim schema`.
fn schema_command() -> Outcome {
    print_json(&crate::scenario::schema::scenario_schema());
    Outcome::Success
}
