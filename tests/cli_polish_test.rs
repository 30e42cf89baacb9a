//! Issue 15 ("start from what the user already has"), items 4 and 6, the command-line
//! parts: the README's commands are ones the CLI accepts and it says how to install
//! `poolsim`; every argument has help; completion offers the algorithm names; two
//! scenarios of one name are refused; JSON counts are integers.

mod common;

use clap::{CommandFactory, Parser};
use common::{poolsim, poolsim_ok};
use poolsim::cli::{Cli, Command};
use std::path::{Path, PathBuf};

const README: &str = include_str!("../README.md");

/// The commands of the README's ```sh blocks, continuation lines joined, trailing
/// `# comment`s removed.
fn readme_sh_lines() -> Vec<String> {
    let mut lines = Vec::new();
    let mut pending: Option<String> = None;
    let mut in_sh = false;
    for line in README.lines() {
        let trimmed = line.trim();
        if let Some(info) = trimmed.strip_prefix("```") {
            in_sh = !in_sh && matches!(info.trim(), "sh" | "bash" | "console" | "shell");
            continue;
        }
        if in_sh {
            let command = trimmed.split(" #").next().unwrap_or("").trim();
            // A line ending in `\` continues on the next one, as in the shell.
            match pending.take() {
                Some(start) => pending = Some(format!("{start} {command}")),
                None => pending = Some(command.to_string()),
            }
            if !command.ends_with('\\') {
                lines.extend(pending.take().filter(|line| !line.is_empty()));
            } else if let Some(line) = pending.as_mut() {
                line.pop();
            }
        }
    }
    lines
}

/// The arguments of a README line that runs poolsim (`poolsim ...` or
/// `cargo run --release -- ...`), up to a shell redirection; `None` for other lines.
fn poolsim_words(line: &str) -> Option<Vec<String>> {
    let rest = line
        .strip_prefix("poolsim ")
        .or_else(|| line.strip_prefix("cargo run --release -- "))?;
    let words = rest
        .split_whitespace()
        .take_while(|word| !matches!(*word, ">" | ">>" | "|" | "&&"))
        .map(str::to_string);
    Some(
        std::iter::once("poolsim".to_string())
            .chain(words)
            .collect(),
    )
}

#[test]
fn readme_poolsim_commands_parse_and_name_existing_scenarios() {
    let commands: Vec<Vec<String>> = readme_sh_lines()
        .iter()
        .filter_map(|line| poolsim_words(line))
        .collect();
    assert!(
        commands.len() >= 3,
        "the README's sh blocks run poolsim at least three times: {commands:?}"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for words in &commands {
        let cli = Cli::try_parse_from(words)
            .unwrap_or_else(|e| panic!("README command {words:?} does not parse: {e}"));
        let scenario = match cli.command {
            Command::Run { scenario, .. } => Some(scenario),
            Command::Sweep(args) => Some(args.scenario),
            Command::Compare(args) => Some(args.scenario),
            _ => None,
        };
        if let Some(path) = scenario {
            assert!(
                root.join(&path).is_file(),
                "README command {words:?} names {}, which is not in the repository",
                path.display()
            );
        }
    }
}

#[test]
fn readme_first_two_commands_still_run_a_scenario_and_the_tests() {
    let lines = readme_sh_lines();
    assert_eq!(
        lines.first().map(String::as_str),
        Some("cargo run --release -- run scenarios/lab05-webserver.yaml")
    );
    assert_eq!(
        lines.get(1).map(String::as_str),
        Some("cargo test --release")
    );
}

#[test]
fn readme_says_how_to_install_before_its_first_poolsim_command() {
    let install = README
        .find("cargo install --path .")
        .expect("the README says how to install poolsim");
    let first_use = README
        .find("`poolsim ")
        .into_iter()
        .chain(README.find("\npoolsim "))
        .min()
        .expect("the README uses poolsim");
    assert!(
        install < first_use,
        "`cargo install` (byte {install}) comes after the first `poolsim` command (byte {first_use})"
    );
}

/// Every argument of `command` and of its subcommands, as `path: argument`, that has
/// no help text.
fn arguments_without_help(command: &clap::Command, path: &str) -> Vec<String> {
    let here = format!("{path} {}", command.get_name()).trim().to_string();
    let mut missing: Vec<String> = command
        .get_arguments()
        .filter(|arg| {
            arg.get_help()
                .is_none_or(|help| help.to_string().trim().is_empty())
        })
        .map(|arg| format!("{here}: {}", arg.get_id()))
        .collect();
    for sub in command.get_subcommands() {
        missing.extend(arguments_without_help(sub, &here));
    }
    missing
}

#[test]
fn every_argument_of_every_command_has_help() {
    let mut command = Cli::command();
    // Building adds clap's own --help and --version, which must pass too.
    command.build();
    let missing = arguments_without_help(&command, "");
    assert!(missing.is_empty(), "arguments without help: {missing:#?}");
    let run = command.find_subcommand("run").expect("run exists");
    let seen: Vec<&str> = run.get_arguments().map(|a| a.get_id().as_str()).collect();
    for id in ["scenario", "seed", "algorithm"] {
        assert!(seen.contains(&id), "run has {id}: {seen:?}");
    }
}

#[test]
fn run_help_describes_scenario_seed_and_algorithm() {
    let help = String::from_utf8(poolsim_ok(&["run", "--help"]).stdout).unwrap();
    for line_start in ["<SCENARIO>  ", "--seed <SEED>  ", "--algorithm <NAME>  "] {
        let line = help
            .lines()
            .find(|line| line.trim_start().starts_with(line_start))
            .unwrap_or_else(|| panic!("no {line_start:?} line in:\n{help}"));
        assert!(
            line.trim().len() > line_start.len() + 10,
            "{line_start:?} has no text: {line:?}"
        );
    }
}

#[test]
fn bash_completion_offers_the_algorithm_names_after_algorithm_flags() {
    let script = String::from_utf8(poolsim_ok(&["completions", "bash"]).stdout).unwrap();
    let names = poolsim::algorithm::builtin_names().join(" ");
    let word_list = format!("compgen -W \"{names}\"");
    for flag in ["--algorithm)", "--algorithms)", "--baseline)"] {
        let offers_names = script.match_indices(flag).any(|(at, _)| {
            let case = &script[at..];
            let body = &case[..case.find(";;").unwrap_or(case.len())];
            body.contains(&word_list)
        });
        assert!(
            offers_names,
            "bash completion after {flag} offers {word_list}"
        );
    }
    assert!(
        !script.contains("exec:PATH"),
        "exec:PATH is accepted but not offered"
    );
}

#[test]
fn algorithm_flags_still_accept_exec_and_unknown_names_fail_later() {
    for args in [
        vec!["poolsim", "run", "a.yaml", "--algorithm", "exec:./x.py"],
        vec![
            "poolsim",
            "sweep",
            "a.yaml",
            "--seeds",
            "2",
            "--algorithm",
            "exec:x",
        ],
        vec!["poolsim", "check", "--algorithm", "exec:./x.py"],
        vec![
            "poolsim",
            "compare",
            "a.yaml",
            "--algorithms",
            "kubevirt-pool,exec:./x.py",
            "--baseline",
            "exec:./x.py",
        ],
    ] {
        Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    }
    // An unknown name still gets the resolver's message, with every valid name.
    let output = poolsim(&[
        "run",
        "scenarios/lab05-webserver.yaml",
        "--algorithm",
        "nope",
        "--out",
        "/nonexistent-poolsim-out",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown algorithm \"nope\""), "{stderr}");
    assert!(stderr.contains("exec:PATH"), "{stderr}");
}

/// A copy of `scenarios/lab05-webserver.yaml` (and the lab05 manifests it names) in
/// `dir` as `file`.
fn copy_webserver(dir: &Path, file: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let lab = dir.join("lab05");
    std::fs::create_dir_all(&lab).unwrap();
    for entry in std::fs::read_dir(root.join("lab05")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), lab.join(entry.file_name())).unwrap();
    }
    let path = dir.join(file);
    std::fs::copy(root.join("lab05-webserver.yaml"), &path).unwrap();
    path
}

fn assert_same_name_refused(args: &[&str], first: &Path, second: &Path, out: &Path) {
    let output = poolsim(args);
    assert_eq!(output.status.code(), Some(2), "{args:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in [
        first.display().to_string(),
        second.display().to_string(),
        "\"lab05-webserver\"".to_string(),
        "metadata.name".to_string(),
    ] {
        assert!(stderr.contains(&needle), "{needle} in: {stderr}");
    }
    assert!(!out.exists(), "nothing is written: {}", out.display());
}

#[test]
fn check_refuses_two_scenarios_of_one_name_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let a = copy_webserver(dir.path(), "a.yaml");
    let b = copy_webserver(dir.path(), "b.yaml");
    let out = dir.path().join("out");
    let (a_text, b_text, out_text) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    assert_same_name_refused(&["check", a_text, b_text, "--out", out_text], &a, &b, &out);
    let folder = dir.path().to_str().unwrap();
    assert_same_name_refused(&["check", folder, "--out", out_text], &a, &b, &out);
}

#[test]
fn check_runs_a_file_named_twice_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = copy_webserver(dir.path(), "a.yaml");
    let again = dir.path().join(".").join("a.yaml");
    let out = dir.path().join("out");
    let output = poolsim_ok(&[
        "check",
        a.to_str().unwrap(),
        again.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("check: 1 scenarios, 1 passed"), "{stdout}");
    assert!(out.join("lab05-webserver/summary.json").is_file());
}

fn json_stdout(args: &[&str]) -> serde_json::Value {
    let output = poolsim_ok(args);
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

#[test]
fn json_outputs_print_counts_as_integers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let scenario = "scenarios/lab05-webserver.yaml";
    let sweep = json_stdout(&["sweep", scenario, "--seeds", "2", "--out", out, "--json"]);
    let table = sweep["table"].as_array().unwrap();
    assert!(!table.is_empty());
    for row in table {
        // The seeds with a value for that metric (`recovery_s` may have none).
        assert!(row["seeds"].is_u64(), "seeds is an integer: {row}");
        assert!(row["seeds"].as_u64() <= Some(2), "{row}");
    }
    let duration = table.iter().find(|row| row["metric"] == "duration_s");
    assert_eq!(
        duration.map(|row| &row["seeds"]),
        Some(&serde_json::json!(2))
    );
    let vms_created = table
        .iter()
        .find(|row| row["metric"] == "vms_created")
        .expect("a vms_created row");
    assert!(vms_created["max"].is_u64(), "{vms_created}");

    let compare = json_stdout(&[
        "compare",
        scenario,
        "--algorithms",
        "kubevirt-pool,kubevirt-vmirs",
        "--fail-if-worse",
        "max_overshoot",
        "--out",
        out,
        "--json",
    ]);
    let row = &compare["table"][0];
    assert!(row["vms_created"].is_u64(), "{row}");
    assert!(row["max_overshoot"].is_u64(), "{row}");
    let gate = &compare["gate"][0];
    assert!(gate["candidate_value"].is_u64(), "{gate}");
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("lab05-webserver/compare/comparison.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(written, compare, "comparison.json is what --json prints");

    let run = json_stdout(&["run", scenario, "--out", out, "--json"]);
    let observed: Vec<&serde_json::Value> = run["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["observed"])
        .filter(|v| !v.is_null())
        .collect();
    assert!(!observed.is_empty());
    for value in observed {
        assert!(value.is_u64(), "an observed count is an integer: {value}");
    }
    assert!(run["vms_created"].is_u64());
}
