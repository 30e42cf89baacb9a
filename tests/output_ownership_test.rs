//! Output folders (issue 17): poolsim writes only into folders it created (or is told
//! to with `--force`), each command replaces only its own files, concurrent writers
//! into one `--out` take turns, and a writer killed mid-write leaves nothing the next
//! one does not roll back. Through the binary, as a user sees it.

mod common;
use common::{poolsim, poolsim_command, poolsim_ok};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const SCENARIO: &str = "scenarios/lab05-webserver.yaml";
const NAME: &str = "lab05-webserver";
const MARKER: &str = ".poolsim-output";
const RUN_FILES: [&str; 7] = [
    "timeseries.csv",
    "events.csv",
    "summary.json",
    "plot.json",
    "replicas.svg",
    "replicas.png",
    "report.html",
];

/// Every file below `dir`, by path relative to it, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let name = path.strip_prefix(root).unwrap().to_string_lossy().into();
                files.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// The names of the entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn run(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", SCENARIO, "--quiet", "--out", out.to_str().unwrap()];
    args.extend(extra);
    poolsim(&args)
}

/// The files of one run of SCENARIO written into a fresh folder: what any whole run
/// folder of it holds.
fn reference_run() -> BTreeMap<String, Vec<u8>> {
    let out = tempfile::tempdir().unwrap();
    assert!(run(out.path(), &[]).status.success());
    tree(&out.path().join(NAME))
}

/// A user's folder where the run folder would go: `--out .` with a scenario named `src`.
fn foreign_folder(out: &Path) -> BTreeMap<String, Vec<u8>> {
    let dir = out.join(NAME);
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    std::fs::write(dir.join("main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(dir.join("summary.json"), "{\"mine\": true}\n").unwrap();
    std::fs::write(dir.join("nested/notes.txt"), "keep me\n").unwrap();
    tree(&dir)
}

#[test]
fn a_folder_poolsim_did_not_write_is_refused_and_left_intact() {
    let out = tempfile::tempdir().unwrap();
    let before = foreign_folder(out.path());
    for command in [
        vec!["run", SCENARIO],
        vec!["sweep", SCENARIO, "--seeds", "2"],
        vec!["sweep", SCENARIO, "--seeds", "2", "--shard", "0/2"],
        vec!["compare", SCENARIO, "--algorithms", "kubevirt-pool"],
        vec!["check", SCENARIO],
    ] {
        let mut args = command.clone();
        args.extend(["--out", out.path().to_str().unwrap()]);
        let output = poolsim(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        let dir = out.path().join(NAME);
        assert!(
            stderr.contains(&dir.display().to_string()) && stderr.contains("--force"),
            "{command:?} names the folder and offers --force: {stderr}"
        );
        assert_eq!(tree(&dir), before, "{command:?} touched the folder");
        assert_eq!(entries(out.path()), [NAME], "{command:?} left something");
    }
}

#[test]
fn force_replaces_a_foreign_folder() {
    let out = tempfile::tempdir().unwrap();
    foreign_folder(out.path());
    let output = run(out.path(), &["--force"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(tree(&out.path().join(NAME)), reference_run());
    // The folder is poolsim's now: the next run needs no --force.
    assert!(run(out.path(), &[]).status.success());
}

/// `sweep --force` into a foreign folder writes only its `sweep/` there and does not
/// mark the folder as poolsim's, so a later run without --force still refuses it.
#[test]
fn a_sweep_forced_into_a_foreign_folder_does_not_make_it_poolsims() {
    let out = tempfile::tempdir().unwrap();
    let before = foreign_folder(out.path());
    let out_arg = out.path().to_str().unwrap();
    poolsim_ok(&[
        "sweep", SCENARIO, "--seeds", "2", "--quiet", "--force", "--out", out_arg,
    ]);
    let after = tree(&out.path().join(NAME));
    assert!(after.contains_key("sweep/sweep.csv"));
    assert!(before
        .iter()
        .all(|(name, bytes)| after.get(name) == Some(bytes)));
    assert!(!after.contains_key(MARKER));
    assert_eq!(run(out.path(), &[]).status.code(), Some(2));
}

#[test]
fn an_empty_folder_is_taken_over_and_a_file_is_refused() {
    let out = tempfile::tempdir().unwrap();
    std::fs::create_dir(out.path().join(NAME)).unwrap();
    assert!(run(out.path(), &[]).status.success());
    assert_eq!(tree(&out.path().join(NAME)), reference_run());

    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join(NAME), "a file\n").unwrap();
    for force in [&[][..], &["--force"]] {
        let output = run(out.path(), force);
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("is not a folder"));
        assert_eq!(std::fs::read(out.path().join(NAME)).unwrap(), b"a file\n");
    }
}

#[test]
fn a_run_folder_written_before_the_marker_is_recognised() {
    let out = tempfile::tempdir().unwrap();
    assert!(run(out.path(), &[]).status.success());
    let dir = out.path().join(NAME);
    std::fs::remove_file(dir.join(MARKER)).unwrap();
    // Older versions wrote fewer files.
    std::fs::remove_file(dir.join("plot.json")).unwrap();
    assert!(run(out.path(), &[]).status.success());
    assert_eq!(tree(&dir), reference_run());
}

/// A run, a sweep, its shards and a comparison each replace only their own folder.
#[test]
fn each_command_keeps_what_the_others_wrote_in_the_run_folder() {
    let out = tempfile::tempdir().unwrap();
    let out_arg = out.path().to_str().unwrap();
    let with_out = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--quiet", "--out", out_arg]);
        poolsim_ok(&args);
    };
    with_out(&["sweep", SCENARIO, "--seeds", "2"]);
    for shard in ["0/2", "1/2"] {
        with_out(&["sweep", SCENARIO, "--seeds", "2", "--shard", shard]);
    }
    with_out(&["compare", SCENARIO, "--algorithms", "kubevirt-pool"]);
    let dir = out.path().join(NAME);
    let others = tree(&dir);
    assert!(others.contains_key("sweep/sweep.csv") && others.contains_key("compare/compare.csv"));
    for folder in [
        "",
        "sweep/",
        "sweep-shards/",
        "sweep-shards/shard-0-of-2/",
        "compare/",
    ] {
        let marker = format!("{folder}{MARKER}");
        assert!(others.contains_key(&marker), "{marker} is missing");
    }

    with_out(&["run", SCENARIO]);
    let after_run = tree(&dir);
    for (name, bytes) in &others {
        assert_eq!(after_run.get(name), Some(bytes), "the run dropped {name}");
    }
    assert_eq!(after_run.len(), others.len() + RUN_FILES.len());

    // And the other way round: a new sweep and comparison keep the run's files.
    with_out(&["sweep", SCENARIO, "--seeds", "3"]);
    with_out(&["compare", SCENARIO, "--algorithms", "kubevirt-vmirs"]);
    with_out(&["merge", dir.join("sweep-shards").to_str().unwrap()]);
    let last = tree(&dir);
    for name in RUN_FILES {
        assert_eq!(last.get(name), after_run.get(name), "{name} was dropped");
    }
    assert_eq!(entries(out.path()), [NAME]);
}

#[test]
fn concurrent_runs_into_one_out_all_succeed_and_leave_no_debris() {
    let out = tempfile::tempdir().unwrap();
    // Two earlier outputs the runs must keep.
    poolsim_ok(&[
        "sweep",
        SCENARIO,
        "--seeds",
        "2",
        "--quiet",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let sweep = tree(&out.path().join(NAME).join("sweep"));
    let children: Vec<_> = (0..6)
        .map(|_| {
            poolsim_command()
                .args(["run", SCENARIO, "--quiet", "--out"])
                .arg(out.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
        assert!(output.stderr.is_empty(), "{output:?}");
    }
    assert_eq!(entries(out.path()), [NAME], "no staging folders are left");
    let dir = out.path().join(NAME);
    let mut expected = reference_run();
    expected.extend(
        sweep
            .into_iter()
            .map(|(name, bytes)| (format!("sweep/{name}"), bytes)),
    );
    assert_eq!(tree(&dir), expected);
}

/// What a run killed at each step of replacing its folder leaves (`.NAME.tmp-PID` with
/// the new files and the kept subfolders moved into it, `.NAME.old-PID` with the old
/// folder), for a process id that no longer runs: the next run rolls it back and keeps
/// the sweep.
#[test]
fn the_next_run_rolls_back_what_a_killed_run_left() {
    let reference = reference_run();
    // Killed: while writing the new files; after moving the sweep into the new folder;
    // after moving the old folder aside; before removing the old folder.
    for step in 0..4 {
        let out = tempfile::tempdir().unwrap();
        let out_arg = out.path().to_str().unwrap();
        poolsim_ok(&[
            "sweep", SCENARIO, "--seeds", "2", "--quiet", "--out", out_arg,
        ]);
        poolsim_ok(&["run", SCENARIO, "--quiet", "--seed", "7", "--out", out_arg]);
        let dir = out.path().join(NAME);
        let sweep = tree(&dir.join("sweep"));
        let staging = out.path().join(format!(".{NAME}.tmp-4194000"));
        let old = out.path().join(format!(".{NAME}.old-4194000"));
        std::fs::create_dir(&staging).unwrap();
        std::fs::write(staging.join("timeseries.csv"), "time_s\n").unwrap();
        if step >= 1 {
            std::fs::rename(dir.join("sweep"), staging.join("sweep")).unwrap();
        }
        if step >= 2 {
            std::fs::rename(&dir, &old).unwrap();
        }
        if step >= 3 {
            std::fs::rename(&staging, &dir).unwrap();
        }
        let output = run(out.path(), &[]);
        assert!(output.status.success(), "step {step}: {output:?}");
        assert_eq!(entries(out.path()), [NAME], "step {step}: debris left");
        let after = tree(&dir);
        for (name, bytes) in &reference {
            assert_eq!(after.get(name), Some(bytes), "step {step}: {name}");
        }
        for (name, bytes) in &sweep {
            let kept = after.get(&format!("sweep/{name}"));
            assert_eq!(kept, Some(bytes), "step {step}: sweep/{name}");
        }
    }
}

/// The staging folder of `dir`'s writers, if one is there now.
fn staging_folder(out: &Path, name: &str) -> Option<String> {
    let prefix = format!(".{name}.tmp-");
    entries(out).into_iter().find(|e| e.starts_with(&prefix))
}

/// A real SIGKILL while the run writes its folder (a long scenario, so writing its plot
/// takes a while): the next run succeeds and nothing is left over.
#[test]
fn a_run_killed_while_writing_is_followed_by_a_clean_run() {
    const LONG: &str = "scenarios/bench/bench-day.yaml";
    const LONG_NAME: &str = "bench-day";
    let out = tempfile::tempdir().unwrap();
    let out_arg = out.path().to_str().unwrap();
    poolsim_ok(&["run", LONG, "--quiet", "--out", out_arg]);
    let first = tree(&out.path().join(LONG_NAME));
    let mut killed_while_writing = false;
    // The write is a small part of the run: try until a kill lands inside it.
    for _ in 0..10 {
        let mut child = poolsim_command()
            .args(["run", LONG, "--quiet", "--out", out_arg])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(60) {
            if staging_folder(out.path(), LONG_NAME).is_some() {
                child.kill().unwrap();
                killed_while_writing = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        child.wait().unwrap();
        if killed_while_writing {
            break;
        }
    }
    assert!(killed_while_writing, "no kill landed while the run wrote");
    let output = poolsim(&["run", LONG, "--quiet", "--out", out_arg]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(entries(out.path()), [LONG_NAME], "debris left");
    assert_eq!(tree(&out.path().join(LONG_NAME)), first);
}

/// While another writer holds the lock on `--out`, a run simulates but does not write;
/// it writes as soon as the lock is released.
#[test]
fn a_run_waits_for_the_writer_that_holds_the_lock() {
    let out = tempfile::tempdir().unwrap();
    let lock = std::fs::File::open(out.path()).unwrap();
    lock.lock().unwrap();
    let mut child = poolsim_command()
        .args(["run", SCENARIO, "--quiet", "--out"])
        .arg(out.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Long enough for the run to simulate (well under a second) and reach the lock.
    std::thread::sleep(Duration::from_secs(2));
    assert!(child.try_wait().unwrap().is_none(), "the run did not wait");
    assert!(
        entries(out.path()).is_empty(),
        "the run wrote under the lock"
    );
    lock.unlock().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(tree(&out.path().join(NAME)), reference_run());
}

/// `check --bless` replaces a golden trace folder only when it holds the two golden
/// files and nothing else (golden folders carry no marker: they are committed).
#[test]
fn bless_refuses_a_golden_folder_holding_other_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (golden, out) = (tmp.path().join("golden"), tmp.path().join("out"));
    let bless = |extra: &[&str]| {
        let mut args = vec!["check", SCENARIO, "--bless", "--golden"];
        args.extend([golden.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        args.extend(extra);
        poolsim(&args)
    };
    assert!(bless(&[]).status.success());
    let trace = golden.join(NAME).join("kubevirt-pool");
    assert_eq!(entries(&trace), ["events.csv", "timeseries.csv"]);
    assert!(
        bless(&[]).status.success(),
        "a golden folder poolsim wrote is replaced"
    );
    std::fs::write(trace.join("README.md"), "mine\n").unwrap();
    let before = tree(&trace);
    let output = bless(&[]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--golden") && stderr.contains("\"README.md\""),
        "{stderr}"
    );
    assert_eq!(tree(&trace), before);
    assert!(bless(&["--force"]).status.success());
    assert_eq!(entries(&trace), ["events.csv", "timeseries.csv"]);
}
