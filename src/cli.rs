//! The command line (DESIGN.md §1.1). `main` only maps `run`'s result to an exit code:
//! 0 success, 1 a failed expectation or comparison, 2 invalid input.

use crate::output::files::{self, Summary};
use crate::output::ownership::Destination;
use crate::scenario::diag::Diagnostic;
use crate::sim::{self, RunOptions};
use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "poolsim",
    version,
    about = "Deterministic simulator of KubeVirt VirtualMachinePool behaviour"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate one scenario, write its outputs, print a short summary.
    Run {
        /// The scenario file (YAML, `kind: Scenario`) to simulate.
        #[arg(value_hint = clap::ValueHint::FilePath)]
        scenario: PathBuf,
        /// The seed of every random choice; default the scenario's `spec.seed`.
        #[arg(long)]
        seed: Option<u64>,
        /// The reconcile algorithm: a built-in name (see `poolsim algorithms`) or
        /// exec:PATH; default the scenario's `spec.algorithm`.
        #[arg(long, value_name = "NAME", value_parser = AlgorithmName)]
        algorithm: Option<String>,
        /// Outputs go under DIR/<metadata.name>/.
        #[arg(long, value_name = "DIR", default_value = "output", value_hint = clap::ValueHint::DirPath)]
        out: PathBuf,
        /// Check the model's invariants after every event.
        #[arg(long)]
        check_invariants: bool,
        /// Print nothing on success.
        #[arg(long)]
        quiet: bool,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Replace DIR/<metadata.name>/ even when poolsim did not create it (it has no
        /// .poolsim-output marker and holds files poolsim does not write).
        #[arg(long)]
        force: bool,
    },
    /// Parse and check scenario files, manifest files and folders of them (recursively,
    /// every *.yaml); print every problem; write nothing.
    Validate {
        /// Scenario files, manifest files, and folders of them (every *.yaml and *.yml below).
        #[arg(required = true, value_name = "PATH", value_hint = clap::ValueHint::AnyPath)]
        files: Vec<PathBuf>,
        /// A value for the `<KEY>` placeholders of manifest files (repeatable).
        #[arg(long = "placeholder", value_name = "KEY=VALUE", value_parser = crate::validate::parse_placeholder)]
        placeholders: Vec<(String, String)>,
    },
    /// Run every scenario under the paths (default `scenarios/`), evaluate each
    /// `expect` block and golden trace: the regression-test entry point.
    Check(crate::check::CheckArgs),
    /// List the built-in reconcile algorithms.
    Algorithms,
    /// Render the plot of an existing run again.
    Plot {
        /// The `timeseries.csv` of a run (its events.csv and plot.json are read beside it).
        #[arg(value_hint = clap::ValueHint::FilePath)]
        timeseries_csv: PathBuf,
        /// Where replicas.svg and replicas.png go; default the CSV's folder.
        #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
        out: Option<PathBuf>,
        /// The plot's title; default the title in plot.json beside the CSV, else the
        /// name of the CSV's folder.
        #[arg(long)]
        title: Option<String>,
    },
    /// Monte-Carlo over seeds: one row per seed, percentiles, band plot.
    Sweep(crate::analysis::cli::SweepArgs),
    /// Combine the shard folders of `sweep --shard` into the files of one sweep.
    Merge(crate::analysis::cli::MergeArgs),
    /// The same scenario under several algorithms, side by side.
    Compare(crate::analysis::cli::CompareArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell to print the script for.
        shell: clap_complete::Shell,
    },
    /// Print the JSON Schema (draft 2020-12) of the scenario format.
    Schema,
}

/// The value parser of every flag that names a reconcile algorithm: it accepts any
/// name (an unknown one is reported later, with the list of valid ones, as before)
/// but offers the built-in names as possible values, so `--help` lists them and the
/// shell completion scripts complete them (issue 15). `PossibleValuesParser` would
/// refuse `exec:PATH`; that form is a hidden possible value, so it is named in the
/// help text but never offered as a literal completion.
#[derive(Clone, Debug)]
pub struct AlgorithmName;

impl clap::builder::TypedValueParser for AlgorithmName {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let builtin = crate::algorithm::builtin_names()
            .iter()
            .map(|name| clap::builder::PossibleValue::new(*name));
        let exec = clap::builder::PossibleValue::new("exec:PATH").hide(true);
        Some(Box::new(builtin.chain([exec])))
    }
}

/// What a command ends with.
pub enum Outcome {
    Success,
    /// An expectation, golden trace or comparison threshold failed.
    Failed,
    /// Invalid input: nothing was written.
    Invalid,
}

impl Outcome {
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::Invalid => 2,
        }
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

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
            let output = crate::analysis::cli::OutputArgs {
                out,
                quiet,
                json,
                force,
            };
            run_one(&scenario, &options, &output)
        }
        Command::Validate {
            files,
            placeholders,
        } => validate(&files, &placeholders.into_iter().collect()),
        Command::Check(args) => {
            crate::check::check(&args, &mut std::io::stdout(), &mut std::io::stderr()).into()
        }
        Command::Algorithms => {
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
        Command::Plot {
            timeseries_csv,
            out,
            title,
        } => plot(&timeseries_csv, out.as_deref(), title),
        Command::Sweep(args) => crate::analysis::cli::sweep_command(args),
        Command::Merge(args) => crate::analysis::cli::merge_command(args),
        Command::Compare(args) => crate::analysis::cli::compare_command(args),
        Command::Completions { shell } => crate::analysis::cli::completions_command(shell),
        Command::Schema => crate::analysis::cli::schema_command(),
    }
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

/// Run one scenario end to end and write its outputs under `out/<name>/`.
pub fn run_one(
    path: &Path,
    options: &RunOptions,
    output: &crate::analysis::cli::OutputArgs,
) -> Outcome {
    let (quiet, json) = (output.quiet, output.json);
    let prepared = match sim::prepare(path) {
        Ok(prepared) => prepared,
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
            return Outcome::Invalid;
        }
    };
    if !quiet {
        print_diagnostics(&prepared.warnings);
    }
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
    let result = match crate::check::run_prepared_observed(&prepared, options, &observe) {
        Ok(result) => result,
        Err(message) => {
            eprintln!("error: {}: {message}", path.display());
            return Outcome::Invalid;
        }
    };
    // The bar (if one was drawn) goes before the summary is printed.
    drop(progress);
    let dir = destination.dir();
    if let Err(e) = files::write_run(
        &destination,
        &result.world,
        &result.summary,
        result.hpa_target_pct,
    ) {
        eprintln!("error: {e}");
        return Outcome::Invalid;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result.summary).unwrap_or_default()
        );
    } else if !quiet {
        print_summary(&result.summary, dir);
    }
    if result.summary.expectations.iter().all(|e| e.passed) {
        Outcome::Success
    } else {
        Outcome::Failed
    }
}

fn print_summary(summary: &Summary, dir: &Path) {
    crate::analysis::cli::print_run_summary(summary, dir);
}

fn plot(csv: &Path, out: Option<&Path>, title: Option<String>) -> Outcome {
    let mut input = match crate::output::plot::read_timeseries_csv(csv) {
        Ok(input) => input,
        // Each reading error names its own file (the CSV, events.csv or plot.json).
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Invalid;
        }
    };
    if let Some(title) = title {
        input.title = title;
    }
    let dir = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| csv.parent().unwrap_or(Path::new(".")).to_path_buf());
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: {}: {e}", dir.display());
        return Outcome::Invalid;
    }
    let (svg_tmp, png_tmp) = (dir.join(".replicas.svg.tmp"), dir.join(".replicas.png.tmp"));
    // Every message names a file: the input for what is wrong with its data, the
    // output for what could not be written.
    let rename = |from: &Path, name: &str| {
        let to = dir.join(name);
        std::fs::rename(from, &to).map_err(|e| format!("{}: {e}", to.display()))
    };
    let result = crate::output::plot::render_replicas(&input, &svg_tmp, &png_tmp)
        .map_err(|e| format!("{}: {e}", csv.display()))
        .and_then(|()| rename(&svg_tmp, "replicas.svg"))
        .and_then(|()| rename(&png_tmp, "replicas.png"));
    match result {
        Ok(()) => {
            println!("wrote {}", dir.join("replicas.png").display());
            Outcome::Success
        }
        Err(e) => {
            let _ = std::fs::remove_file(&svg_tmp);
            let _ = std::fs::remove_file(&png_tmp);
            eprintln!("error: {e}");
            Outcome::Invalid
        }
    }
}
