//! The command line's types (DESIGN.md §1.1): the subcommands and their arguments.
//! What each command does is in `crate::commands`; `main` only maps its outcome to an
//! exit code: 0 success, 1 a failed expectation or comparison, 2 invalid input.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

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
    Sweep(SweepArgs),
    /// Combine the shard folders of `sweep --shard` into the files of one sweep.
    Merge(MergeArgs),
    /// The same scenario under several algorithms, side by side.
    Compare(CompareArgs),
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
    #[arg(long, value_name = "NAME", value_parser = AlgorithmName)]
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
    #[arg(long, value_name = "A,B[,..]", value_delimiter = ',', required = true, value_parser = AlgorithmName)]
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
    #[arg(long, value_name = "NAME", value_parser = AlgorithmName)]
    pub baseline: Option<String>,
    /// METRIC[:MARGIN],.. : exit 1 when a candidate's p50 is worse than the baseline's
    /// by more than MARGIN (a number, or a percentage of the baseline like 10%).
    #[arg(long, value_name = "METRIC[:MARGIN],..")]
    pub fail_if_worse: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}
