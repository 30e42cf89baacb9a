//! `poolsim check`: the regression-test entry point (DESIGN.md §1.1). Every scenario
//! under the paths is checked first (any invalid one: exit 2, nothing written), then
//! run, its outputs written as `poolsim run` writes them, its `expect` block evaluated
//! and its golden trace compared. `docs/REGRESSION.md` describes the layout and output.

use super::golden::{self, Divergence, GOLDEN_FILES};
use crate::outcome::Outcome;
use crate::output::files;
use crate::output::ownership::Destination;
use crate::run::{self, Prepared, RunOptions};
use crate::scenario::diag::Diagnostic;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// How many `events.csv` rows a golden mismatch report shows before the divergence.
pub const EVENTS_BEFORE_DIVERGENCE: usize = 5;

/// The scenarios `check` runs when given no path.
pub const DEFAULT_PATH: &str = "scenarios";

/// `poolsim check [PATH...] [--algorithm NAME] [--bless] [--out DIR] [--golden DIR]`.
#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// Scenario files or folders (walked recursively); default `scenarios/`.
    pub paths: Vec<PathBuf>,
    /// Run every scenario under this algorithm instead of its own `spec.algorithm`.
    #[arg(long, value_name = "NAME", value_parser = crate::cli::AlgorithmName)]
    pub algorithm: Option<String>,
    /// Write (or rewrite) the golden traces of the scenarios run, instead of comparing.
    #[arg(long)]
    pub bless: bool,
    /// Where each run's outputs go, under `DIR/<metadata.name>/`.
    #[arg(long, default_value = "output")]
    pub out: PathBuf,
    /// The golden folder; default: `golden/` in the nearest folder above each scenario
    /// that has one.
    #[arg(long)]
    pub golden: Option<PathBuf>,
    /// Replace run folders (and, with --bless, golden trace folders) even when poolsim
    /// did not create them.
    #[arg(long)]
    pub force: bool,
    /// Print only the scenarios that fail and the final count; no progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl CheckArgs {
    /// Arguments for checking `paths` with every default.
    pub fn new(paths: Vec<PathBuf>, out: PathBuf) -> Self {
        CheckArgs {
            paths,
            algorithm: None,
            bless: false,
            out,
            golden: None,
            force: false,
            quiet: false,
        }
    }
}

/// How a check ends (exit codes 0, 1 and 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// An expectation or a golden trace failed.
    Failed,
    /// A path, scenario or flag is invalid, or a run could not finish.
    Invalid,
}

impl From<Verdict> for Outcome {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Passed => Outcome::Success,
            Verdict::Failed => Outcome::Failed,
            Verdict::Invalid => Outcome::Invalid,
        }
    }
}

/// The golden trace judgement of one run.
#[derive(Debug, Clone, PartialEq)]
pub enum GoldenOutcome {
    Matched,
    /// No golden trace for this scenario and algorithm: judged on expectations only.
    Missing,
    Blessed(PathBuf),
    Diverged(Vec<Divergence>),
}

/// The judgement of one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    pub path: PathBuf,
    pub name: String,
    pub algorithm: String,
    pub seed: u64,
    pub failed_expectations: Vec<String>,
    pub golden: GoldenOutcome,
    /// The new run's `events.csv`, kept for the report around a divergence.
    pub events_csv: String,
}

impl ScenarioReport {
    pub fn passed(&self) -> bool {
        self.failed_expectations.is_empty() && !matches!(self.golden, GoldenOutcome::Diverged(_))
    }

    /// The command that reproduces this run.
    pub fn reproduce_command(&self) -> String {
        format!(
            "poolsim run {} --seed {} --algorithm {}",
            self.path.display(),
            self.seed,
            self.algorithm
        )
    }
}

/// Run `poolsim check`, writing the report to `out` and diagnostics to `err`.
pub fn check(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> Verdict {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(DEFAULT_PATH)]
    } else {
        args.paths.clone()
    };
    let prepared = match prepare_all(&paths, args.algorithm.as_deref())
        .and_then(|prepared| check_destinations(prepared, args))
    {
        Ok(prepared) => prepared,
        Err(diagnostics) => {
            for diagnostic in diagnostics {
                let _ = writeln!(err, "{diagnostic}");
            }
            let _ = writeln!(err, "check: invalid input; nothing was run or written");
            return Verdict::Invalid;
        }
    };
    for (_, scenario) in &prepared {
        for warning in &scenario.warnings {
            let _ = writeln!(err, "{warning}");
        }
    }
    let options = RunOptions {
        seed: None,
        algorithm: args.algorithm.clone(),
        check_invariants: false,
    };
    let (mut passed, mut failed) = (0, 0);
    let mut invalid = false;
    let progress = crate::progress::Progress::new("check", prepared.len(), args.quiet);
    for (path, scenario) in &prepared {
        let outcome = check_one(path, scenario, &options, args);
        progress.tick();
        match outcome {
            Ok(report) => {
                if !(args.quiet && report.passed()) {
                    progress.suspend(|| print_report(&report, out));
                }
                if report.passed() {
                    passed += 1;
                } else {
                    failed += 1;
                }
            }
            Err(message) => {
                let _ = writeln!(err, "error: {}: {message}", path.display());
                invalid = true;
            }
        }
    }
    let _ = writeln!(
        out,
        "check: {} scenarios, {passed} passed, {failed} failed{}",
        prepared.len(),
        if args.bless {
            " (golden traces blessed: exit 0 whatever the expectations say)"
        } else {
            ""
        }
    );
    if invalid {
        Verdict::Invalid
    } else if failed > 0 && !args.bless {
        Verdict::Failed
    } else {
        Verdict::Passed
    }
}

/// Find and fully check every scenario before anything runs: all problems at once.
fn prepare_all(
    paths: &[PathBuf],
    algorithm: Option<&str>,
) -> Result<Vec<(PathBuf, Prepared)>, Vec<Diagnostic>> {
    let files = super::discover::discover(paths)?;
    let mut problems = Vec::new();
    if let Some(name) = algorithm {
        let exec = name.strip_prefix(crate::algorithm::EXEC_PREFIX);
        if exec.is_none() {
            if let Err(message) = crate::algorithm::resolve(name) {
                problems.push(flag_problem("--algorithm", message));
            }
        } else if exec == Some("") {
            problems.push(flag_problem(
                "--algorithm",
                "exec: names no program; write exec:PATH".into(),
            ));
        }
    }
    let mut prepared = Vec::new();
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    for file in files {
        match run::prepare(&file) {
            Ok(scenario) => {
                let name = scenario.scenario.name.clone();
                if let Some(first) = names.insert(name.clone(), file.clone()) {
                    problems.push(Diagnostic {
                        file: file.clone(),
                        line: 0,
                        col: 0,
                        field: "metadata.name".into(),
                        severity: crate::scenario::Severity::Error,
                        message: format!(
                            "{name:?} is also the name of {}; outputs and golden traces are kept by name, so names must differ",
                            first.display()
                        ),
                    });
                }
                prepared.push((file, scenario));
            }
            Err(diagnostics) => problems.extend(diagnostics),
        }
    }
    if problems.is_empty() {
        Ok(prepared)
    } else {
        Err(problems)
    }
}

/// Every folder the check will write is one it may write (`output::ownership`), before
/// anything runs.
fn check_destinations(
    prepared: Vec<(PathBuf, Prepared)>,
    args: &CheckArgs,
) -> Result<Vec<(PathBuf, Prepared)>, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    for (path, scenario) in &prepared {
        let (run, golden) = destinations(path, scenario, args);
        if let Err(e) = run.check() {
            problems.push(flag_problem("--out", e.to_string()));
        }
        if let Some(Err(e)) = golden.as_ref().map(Destination::check) {
            problems.push(flag_problem("--golden", e.to_string()));
        }
    }
    if problems.is_empty() {
        Ok(prepared)
    } else {
        Err(problems)
    }
}

/// Where a scenario's run goes, and its golden trace when blessing.
fn destinations(
    path: &Path,
    prepared: &Prepared,
    args: &CheckArgs,
) -> (Destination, Option<Destination>) {
    let name = &prepared.scenario.name;
    let run = Destination::run(&args.out, name, args.force);
    let golden = args.bless.then(|| {
        let root = golden_root(path, args);
        let algorithm = args
            .algorithm
            .as_deref()
            .unwrap_or(&prepared.scenario.algorithm);
        Destination::golden(
            &root,
            &golden::trace_dir(&root, name, algorithm),
            args.force,
        )
    });
    (run, golden)
}

fn golden_root(path: &Path, args: &CheckArgs) -> PathBuf {
    args.golden
        .clone()
        .unwrap_or_else(|| golden::default_root(path))
}

fn flag_problem(flag: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity: crate::scenario::Severity::Error,
        file: PathBuf::from("(command line)"),
        line: 0,
        col: 0,
        field: flag.into(),
        message,
    }
}

/// Run one prepared scenario, write its outputs, judge it.
pub fn check_one(
    path: &Path,
    prepared: &Prepared,
    options: &RunOptions,
    args: &CheckArgs,
) -> Result<ScenarioReport, String> {
    let result = run::run_prepared(prepared, options)?;
    let summary = &result.summary;
    let name = prepared.scenario.name.clone();
    result
        .write(&Destination::run(&args.out, &name, args.force))
        .map_err(|e| e.to_string())?;
    let timeseries = files::timeseries_csv(&result.world.samples.rows);
    let events = files::events_csv(&result.world).map_err(|e| e.to_string())?;
    let root = golden_root(path, args);
    let dir = golden::trace_dir(&root, &name, &summary.algorithm);
    let golden = if args.bless {
        Destination::golden(&root, &dir, args.force)
            .write(|staging| {
                files::write_file(staging, GOLDEN_FILES[0], timeseries.as_bytes())?;
                files::write_file(staging, GOLDEN_FILES[1], events.as_bytes())
            })
            .map_err(|e| e.to_string())?;
        GoldenOutcome::Blessed(dir)
    } else {
        compare_golden(&dir, &timeseries, &events)?
    };
    Ok(ScenarioReport {
        path: path.to_path_buf(),
        name,
        algorithm: summary.algorithm.clone(),
        seed: summary.seed,
        failed_expectations: summary
            .expectations
            .iter()
            .filter(|e| !e.passed)
            .map(|e| e.description.clone())
            .collect(),
        golden,
        events_csv: events,
    })
}

/// Compare a run with the golden trace in `dir`, if there is one.
pub fn compare_golden(dir: &Path, timeseries: &str, events: &str) -> Result<GoldenOutcome, String> {
    if !dir.is_dir() {
        return Ok(GoldenOutcome::Missing);
    }
    let mut divergences = Vec::new();
    for (file, actual) in GOLDEN_FILES.into_iter().zip([timeseries, events]) {
        let path = dir.join(file);
        let expected = crate::input::read_string(&path, crate::input::FileKind::Csv)
            .map_err(|e| format!("cannot read the golden file {e}"))?;
        divergences.extend(golden::first_divergence(file, &expected, actual));
    }
    Ok(if divergences.is_empty() {
        GoldenOutcome::Matched
    } else {
        GoldenOutcome::Diverged(divergences)
    })
}

fn print_report(report: &ScenarioReport, out: &mut dyn Write) {
    let golden_note = match &report.golden {
        GoldenOutcome::Matched => "golden trace matches".to_string(),
        GoldenOutcome::Missing => format!(
            "no golden trace for {}: judged on expectations only",
            report.algorithm
        ),
        GoldenOutcome::Blessed(dir) => format!("golden trace written to {}", dir.display()),
        GoldenOutcome::Diverged(_) => "golden trace differs".to_string(),
    };
    let _ = writeln!(
        out,
        "{} {}  algorithm {}  seed {}  ({golden_note})",
        if report.passed() { "PASS" } else { "FAIL" },
        report.name,
        report.algorithm,
        report.seed
    );
    for description in &report.failed_expectations {
        let _ = writeln!(out, "     expectation failed: {description}");
    }
    if let GoldenOutcome::Diverged(divergences) = &report.golden {
        for d in divergences {
            let _ = writeln!(
                out,
                "     {}: first divergence at {} s, column {}: expected {}, actual {}",
                d.file, d.time_s, d.column, d.expected, d.actual
            );
        }
        let earliest = divergences
            .iter()
            .map(Divergence::time_value)
            .fold(f64::INFINITY, f64::min);
        let before = golden::events_up_to(&report.events_csv, earliest, EVENTS_BEFORE_DIVERGENCE);
        if !before.is_empty() {
            let _ = writeln!(out, "     events up to {earliest} s (this run):");
            for row in before {
                let _ = writeln!(out, "       {row}");
            }
        }
    }
    if !report.passed() {
        let _ = writeln!(out, "     reproduce: {}", report.reproduce_command());
    }
}
