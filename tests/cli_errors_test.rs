//! A catalogue of broken scenarios run through the real binary (`poolsim run`): each
//! must exit 2, name the file, the line, the field and what would be valid, and write
//! nothing. A few valid-but-surprising scenarios must warn on stderr and still run.
//!
//! The table is data: one [`Case`] per scenario. Every case runs in its own temporary
//! folder holding the lab05 manifests (`lab05/…`) beside the scenario file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A valid scenario every case starts from (line numbers matter: cases name them).
const BASE: &str = "apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata:
  name: broken
spec:
  seed: 1
  duration: 10m
  sampleInterval: 5s
  namespace: lab-user
  placeholders:
    username: user
  cluster:
    nodes: 3
  manifestFiles:
    - lab05/cluster-storage.yaml
    - lab05/secret_lab05-cloudinit.yaml
    - lab05/vmpool_lab05-webserver.yaml
    - lab05/svc_lab05-webserver.yaml
  events:
    - {at: 5m, scale: {pool: lab05-webserver, replicas: 3}}
";

/// The scenario file's name inside each case's folder.
const SCENARIO: &str = "scenario.yaml";

/// What the scenario argument of `poolsim run` is.
enum Target {
    /// `scenario.yaml` with these bytes.
    File(Vec<u8>),
    /// A directory named `scenario.yaml`.
    Directory,
    /// Nothing at all under that name.
    Missing,
}

/// One broken (or warning) scenario.
struct Case {
    name: &'static str,
    target: Target,
    /// More files in the case folder (path relative to it, contents).
    extra_files: Vec<(&'static str, String)>,
    /// `(file name, text)`: stderr must show `file:LINE:` with LINE the first line of
    /// that file that contains `text`. `None` where the format has no line (an
    /// unreadable file).
    located_at: Option<(&'static str, &'static str)>,
    /// Substrings stderr must contain: the field, what is wrong, what is valid.
    expect: Vec<&'static str>,
    /// 2 for errors; 0 for warnings (the run goes on and writes its outputs).
    exit: i32,
}

fn base_with(from: &str, to: &str) -> Vec<u8> {
    assert!(BASE.contains(from), "BASE has no {from:?}");
    BASE.replacen(from, to, 1).into_bytes()
}

fn error(
    name: &'static str,
    target: Target,
    located_at: Option<(&'static str, &'static str)>,
    expect: Vec<&'static str>,
) -> Case {
    Case {
        name,
        target,
        extra_files: Vec::new(),
        located_at,
        expect,
        exit: 2,
    }
}

/// A pool manifest for inline use, with one line replaced by the case.
const INLINE_POOL: &str = "  manifests:
    - apiVersion: pool.kubevirt.io/v1alpha1
      kind: VirtualMachinePool
      metadata: {name: inline-pool}
      spec:
        replicas: 2
        selector:
          matchLabels: {app: web}
        virtualMachineTemplate:
          metadata:
            labels: {app: web}
          spec:
            runStrategy: Always
            template:
              spec:
                domain:
                  resources:
                    requests: {memory: 2Gi}
";

fn with_inline_pool(from: &str, to: &str) -> Vec<u8> {
    assert!(INLINE_POOL.contains(from), "INLINE_POOL has no {from:?}");
    let pool = INLINE_POOL.replacen(from, to, 1);
    BASE.replacen(
        "  manifestFiles:\n",
        &format!("{pool}  manifestFiles:\n"),
        1,
    )
    .into_bytes()
}

const INLINE_HPA: &str = "  manifests:
    - apiVersion: autoscaling/v1
      kind: HorizontalPodAutoscaler
      metadata: {name: lab05-webserver}
      spec:
        minReplicas: 2
        maxReplicas: 5
        scaleTargetRef: {apiVersion: pool.kubevirt.io/v1alpha1, kind: VirtualMachinePool, name: lab05-webserver}
        targetCPUUtilizationPercentage: 50
";

fn with_inline_hpa(from: &str, to: &str) -> Vec<u8> {
    assert!(INLINE_HPA.contains(from), "INLINE_HPA has no {from:?}");
    let hpa = INLINE_HPA.replacen(from, to, 1);
    BASE.replacen("  manifestFiles:\n", &format!("{hpa}  manifestFiles:\n"), 1)
        .into_bytes()
}

fn alias_bomb() -> Vec<u8> {
    let mut settings =
        String::from("  settings:\n    a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let items = vec![format!("*a{}", level - 1); 9].join(", ");
        settings.push_str(&format!("    a{level}: &a{level} [{items}]\n"));
    }
    base_with("    nodes: 3\n", &format!("    nodes: 3\n{settings}"))
}

fn cases() -> Vec<Case> {
    use Target::*;
    let scenario = SCENARIO;
    vec![
        // YAML itself.
        error(
            "yaml syntax error",
            File(base_with("  duration: 10m\n", "  duration: [10m\n")),
            // The reader notices the unclosed list at the next line's key.
            Some((scenario, "sampleInterval")),
            vec!["YAML"],
        ),
        error(
            "tab indentation",
            File(base_with("  seed: 1\n", "\tseed: 1\n")),
            Some((scenario, "\tseed")),
            vec!["tab"],
        ),
        error(
            "duplicate keys",
            File(base_with("  seed: 1\n", "  seed: 1\n  seed: 2\n")),
            Some((scenario, "seed: 2")),
            vec!["spec.seed", "first on line 6, again on line 7"],
        ),
        error(
            "empty file",
            File(Vec::new()),
            Some((scenario, "")),
            vec!["empty"],
        ),
        error(
            "binary file",
            File(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec()),
            None,
            vec!["binary file"],
        ),
        error(
            "alias bomb (billion laughs)",
            File(alias_bomb()),
            // The expansion passes the node limit inside the sixth level.
            Some((scenario, "a5: &a5")),
            vec!["alias bomb"],
        ),
        // Types and names.
        error(
            "wrong type: node count",
            File(base_with("    nodes: 3\n", "    nodes: three\n")),
            Some((scenario, "nodes: three")),
            vec!["spec.cluster.nodes", "\"three\""],
        ),
        error(
            "wrong type: seed",
            File(base_with("  seed: 1\n", "  seed: [1]\n")),
            Some((scenario, "seed: [1]")),
            vec!["spec.seed"],
        ),
        error(
            "unknown field with did-you-mean",
            File(base_with("  duration: 10m\n", "  duraton: 10m\n")),
            Some((scenario, "duraton")),
            vec!["spec.duraton", "did you mean \"duration\""],
        ),
        error(
            "unknown top-level field",
            File(base_with("spec:\n", "specs:\n")),
            Some((scenario, "specs:")),
            vec!["specs", "did you mean \"spec\""],
        ),
        error(
            "unknown event action with did-you-mean",
            File(base_with("scale: {pool", "scael: {pool")),
            Some((scenario, "scael")),
            vec!["spec.events[0]", "did you mean \"scale\""],
        ),
        error(
            "unknown algorithm with did-you-mean",
            File(base_with("  seed: 1\n", "  seed: 1\n  algorithm: kubevirt-pol\n")),
            Some((scenario, "kubevirt-pol")),
            vec!["spec.algorithm", "did you mean \"kubevirt-pool\""],
        ),
        error(
            "wrong apiVersion",
            File(base_with("poolsim.io/v1alpha1", "poolsim.io/v1")),
            Some((scenario, "apiVersion")),
            vec!["apiVersion", "poolsim.io/v1alpha1"],
        ),
        error(
            "wrong kind",
            File(base_with("kind: Scenario", "kind: Scenarios")),
            Some((scenario, "kind:")),
            vec!["kind", "Scenario"],
        ),
        error(
            "bad duration",
            File(base_with("  duration: 10m\n", "  duration: 10 minutes\n")),
            Some((scenario, "10 minutes")),
            vec!["spec.duration", "Go duration"],
        ),
        // Manifests: admission.
        error(
            "pool selector does not match the template labels",
            File(with_inline_pool(
                "        virtualMachineTemplate:\n          metadata:\n            labels: {app: web}",
                "        virtualMachineTemplate:\n          metadata:\n            labels: {app: db}",
            )),
            Some((scenario, "matchLabels: {app: web}")),
            vec!["spec.manifests[0].spec.selector", "does not match"],
        ),
        error(
            "negative pool replicas",
            File(with_inline_pool("        replicas: 2\n", "        replicas: -1\n")),
            Some((scenario, "replicas: -1")),
            vec!["spec.manifests[0].spec.replicas", "0"],
        ),
        error(
            "bad memory quantity",
            File(with_inline_pool("{memory: 2Gi}", "{memory: 2Gb}")),
            Some((scenario, "2Gb")),
            vec!["memory", "quantity"],
        ),
        error(
            "unknown pool field with did-you-mean",
            File(with_inline_pool("        replicas: 2\n", "        replica: 2\n")),
            Some((scenario, "replica: 2")),
            vec!["spec.manifests[0].spec.replica", "did you mean \"replicas\""],
        ),
        error(
            "HPA minReplicas above maxReplicas",
            File(with_inline_hpa("        maxReplicas: 5\n", "        maxReplicas: 1\n")),
            Some((scenario, "maxReplicas: 1")),
            vec!["minReplicas", "maxReplicas"],
        ),
        // Events naming what does not exist.
        error(
            "scale a pool that does not exist",
            File(base_with("scale: {pool: lab05-webserver", "scale: {pool: nopool")),
            Some((scenario, "nopool")),
            vec!["spec.events[0].scale.pool", "lab05-webserver"],
        ),
        error(
            "kill the guest of a VM no pool creates",
            File(base_with("scale: {pool: lab05-webserver, replicas: 3}", "killGuest: {vm: other-0}")),
            Some((scenario, "other-0")),
            vec!["spec.events[0].killGuest.vm", "<pool>-<index>"],
        ),
        error(
            "partition a node that does not exist",
            File(base_with("scale: {pool: lab05-webserver, replicas: 3}", "partitionNode: {node: node-9}")),
            Some((scenario, "node-9")),
            vec!["spec.events[0].partitionNode.node", "valid: node-0, node-1, node-2"],
        ),
        // Paths that would leave their folder.
        error(
            "metadata.name climbs out of the output folder",
            File(base_with("  name: broken\n", "  name: ../x\n")),
            Some((scenario, "../x")),
            vec!["metadata.name", "DNS-1123 label"],
        ),
        error(
            "metadata.name is an absolute path",
            File(base_with("  name: broken\n", "  name: /abs\n")),
            Some((scenario, "/abs")),
            vec!["metadata.name", "DNS-1123 label"],
        ),
        Case {
            extra_files: vec![("outside.yaml", "kind: Secret\n".into())],
            ..error(
                "manifestFiles entry climbs out of the scenario folder",
                File(base_with(
                    "    - lab05/cluster-storage.yaml\n",
                    "    - lab05/../../outside.yaml\n",
                )),
                Some((scenario, "outside.yaml")),
                vec!["spec.manifestFiles[0]", "leaves the scenario file's folder"],
            )
        },
        error(
            "manifestFiles entry is absolute",
            File(base_with("    - lab05/cluster-storage.yaml\n", "    - /etc/hostname\n")),
            Some((scenario, "/etc/hostname")),
            vec!["spec.manifestFiles[0]", "relative"],
        ),
        // Absurd sizes.
        error(
            "duration of ten years",
            File(base_with("  duration: 10m\n", "  duration: 3650d\n")),
            Some((scenario, "3650d")),
            vec!["spec.duration", "30d"],
        ),
        error(
            "a billion replicas by a scale event",
            File(base_with("replicas: 3}", "replicas: 1000000000}")),
            Some((scenario, "1000000000")),
            vec!["spec.events[0].scale.replicas", "100000"],
        ),
        error(
            "a billion replicas in the pool manifest",
            File(with_inline_pool("        replicas: 2\n", "        replicas: 1000000000\n")),
            Some((scenario, "1000000000")),
            vec!["spec.manifests[0].spec.replicas", "100000"],
        ),
        error(
            "a billion HPA maxReplicas",
            File(with_inline_hpa("        maxReplicas: 5\n", "        maxReplicas: 1000000000\n")),
            Some((scenario, "1000000000")),
            vec!["spec.manifests[0].spec.maxReplicas", "100000"],
        ),
        error(
            "a million nodes",
            File(base_with("    nodes: 3\n", "    nodes: 1000000\n")),
            Some((scenario, "1000000")),
            vec!["spec.cluster.nodes", "10000"],
        ),
        error(
            "too many timeseries rows",
            File(base_with(
                "  duration: 10m\n  sampleInterval: 5s\n",
                "  duration: 30d\n  sampleInterval: 100ms\n",
            )),
            Some((scenario, "sampleInterval: 100ms")),
            vec!["spec.sampleInterval", "1000000", "at least"],
        ),
        // Not a scenario file at all.
        error("a directory", Directory, None, vec!["cannot read"]),
        error("a missing file", Missing, None, vec!["cannot read"]),
        // Valid but surprising: warn and run.
        Case {
            exit: 0,
            ..error(
                "an event after the end (warning)",
                File(base_with("{at: 5m, scale", "{at: 20m, scale")),
                Some((scenario, "at: 20m")),
                vec!["warning:", "spec.events[0].at", "after the end"],
            )
        },
        Case {
            exit: 0,
            ..error(
                "a referenced Secret is missing (warning)",
                File(base_with("    - lab05/secret_lab05-cloudinit.yaml\n", "")),
                Some(("vmpool_lab05-webserver.yaml", "name: lab05-cloudinit")),
                vec!["warning:", "lab05-cloudinit"],
            )
        },
    ]
}

fn lab05_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lab05")
}

/// Lays out one case's folder: `lab05/` manifests, extra files, the scenario target.
fn lay_out(case: &Case, root: &Path) -> PathBuf {
    let cases = root.join("case");
    std::fs::create_dir_all(cases.join("lab05")).unwrap();
    for entry in std::fs::read_dir(lab05_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), cases.join("lab05").join(entry.file_name())).unwrap();
    }
    for (path, contents) in &case.extra_files {
        std::fs::write(root.join(path), contents).unwrap();
    }
    let scenario = cases.join(SCENARIO);
    match &case.target {
        Target::File(bytes) => std::fs::write(&scenario, bytes).unwrap(),
        Target::Directory => std::fs::create_dir(&scenario).unwrap(),
        Target::Missing => {}
    }
    scenario
}

fn run_binary(scenario: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_poolsim"))
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .output()
        .expect("the poolsim binary runs")
}

/// The 1-based line of the first line of `file` (in the case folder) containing `text`.
fn line_in(case_dir: &Path, file: &str, text: &str) -> usize {
    let path = if file == SCENARIO {
        case_dir.join(file)
    } else {
        case_dir.join("lab05").join(file)
    };
    let contents = std::fs::read_to_string(&path).unwrap();
    if text.is_empty() {
        return 1;
    }
    contents
        .lines()
        .position(|line| line.contains(text))
        .unwrap_or_else(|| panic!("{file} has no line containing {text:?}"))
        + 1
}

/// Runs one case; returns what is wrong with how poolsim handled it, if anything.
fn check_case(case: &Case) -> Option<String> {
    let root = tempfile::tempdir().unwrap();
    let scenario = lay_out(case, root.path());
    let out = root.path().join("out");
    let output = run_binary(&scenario, &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut problems = Vec::new();
    if output.status.code() != Some(case.exit) {
        problems.push(format!(
            "exit code {:?}, expected {}",
            output.status.code(),
            case.exit
        ));
    }
    if case.exit == 2 && !stderr.contains(&scenario.display().to_string()) {
        problems.push("stderr does not name the scenario file".to_string());
    }
    if let Some((file, text)) = case.located_at {
        let line = line_in(&scenario.with_file_name(""), file, text);
        let located = format!("{file}:{line}:");
        if !stderr.contains(&located) {
            problems.push(format!("stderr does not point at {located}"));
        }
    }
    for needle in &case.expect {
        if !stderr.contains(needle) {
            problems.push(format!("stderr lacks {needle:?}"));
        }
    }
    let written = std::fs::read_dir(&out).map_or(0, |entries| entries.count());
    match case.exit {
        2 if written > 0 => problems.push(format!("{} wrote {written} entries", out.display())),
        0 if !out.join("broken/timeseries.csv").is_file() => {
            problems.push("the run wrote no timeseries.csv".to_string())
        }
        _ => {}
    }
    if stderr.contains("panicked") {
        problems.push("poolsim panicked".to_string());
    }
    (!problems.is_empty()).then(|| {
        format!(
            "case {:?}: {}\n--- stderr ---\n{stderr}",
            case.name,
            problems.join("; ")
        )
    })
}

#[test]
fn every_broken_scenario_is_rejected_clearly_and_writes_nothing() {
    let cases = cases();
    assert!(
        cases.len() >= 30,
        "the catalogue holds {} cases",
        cases.len()
    );
    let failures: Vec<String> = cases.iter().filter_map(check_case).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases misbehave:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// A `spec.<key>:` list of `count` copies of `item`, placed before `manifestFiles:`.
fn with_list(key: &str, item: &str, count: usize) -> Vec<u8> {
    let mut list = format!("  {key}:\n");
    for _ in 0..count {
        list.push_str(item);
    }
    BASE.replacen(
        "  manifestFiles:\n",
        &format!("{list}  manifestFiles:\n"),
        1,
    )
    .into_bytes()
}

#[test]
fn limits_name_themselves_and_write_nothing() {
    let events = BASE
        .replacen(
            "  events:\n",
            &format!(
                "  events:\n{}",
                "    - {at: 1m, setLoad: {cores: 1}}\n".repeat(10_001)
            ),
            1,
        )
        .into_bytes();
    let cases = [
        error(
            "too many events",
            Target::File(events),
            // The list's position is its first item.
            Some((SCENARIO, "{at: 1m, setLoad")),
            vec!["spec.events", "10002 events", "limit of 10000 (MAX_EVENTS"],
        ),
        error(
            "too many load points",
            Target::File(with_list("load", "    - {at: 1m, cores: 1}\n", 10_001)),
            Some((SCENARIO, "{at: 1m, cores: 1}")),
            vec!["spec.load", "10001 load points", "MAX_LOAD_POINTS"],
        ),
        error(
            "too many manifests",
            Target::File(with_list(
                "manifests",
                "    - {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n",
                1_001,
            )),
            Some((SCENARIO, "kind: ConfigMap")),
            vec!["spec.manifests", "1001 manifests", "MAX_MANIFESTS"],
        ),
        error(
            "the run exceeds its event budget",
            Target::File(base_with(
                "    nodes: 3\n",
                "    nodes: 3\n  settings:\n    maxEventsProcessed: 500\n",
            )),
            None,
            vec!["after processing 500 events", "maxEventsProcessed"],
        ),
    ];
    let failures: Vec<String> = cases.iter().filter_map(check_case).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Runs `BASE` into `out` and returns the binary's output.
fn run_base(root: &Path, scenario_text: &[u8], out: &Path) -> Output {
    let case = Case {
        name: "base",
        target: Target::File(scenario_text.to_vec()),
        extra_files: Vec::new(),
        located_at: None,
        expect: Vec::new(),
        exit: 0,
    };
    let scenario = lay_out(&case, root);
    run_binary(&scenario, out)
}

#[test]
fn a_run_replaces_the_output_folder_whole_and_a_failed_run_leaves_it_alone() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let run_dir = out.join("broken");
    // A folder poolsim wrote (a folder it did not is refused: tests/output_ownership_test.rs).
    assert_eq!(
        run_base(root.path(), BASE.as_bytes(), &out).status.code(),
        Some(0)
    );
    std::fs::write(run_dir.join("stale.txt"), "from an older run").unwrap();

    let output = run_base(root.path(), BASE.as_bytes(), &out);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        !run_dir.join("stale.txt").exists(),
        "a stale file survived the run"
    );
    let timeseries = std::fs::read(run_dir.join("timeseries.csv")).unwrap();
    assert!(!timeseries.is_empty());

    // A broken scenario with the same name: exit 2, the last good outputs untouched.
    let broken = base_with("  duration: 10m\n", "  duration: 10 minutes\n");
    let output = run_base(root.path(), &broken, &out);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert_eq!(
        std::fs::read(run_dir.join("timeseries.csv")).unwrap(),
        timeseries
    );
    let entries: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["broken"], "temporary folders were left behind");
}

/// An external algorithm that answers `hello` and then does `on_reconcile` (shell).
fn exec_algorithm(dir: &Path, on_reconcile: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("algorithm.py");
    std::fs::write(
        &path,
        format!(
            r#"#!/usr/bin/env python3
import json, sys
for line in sys.stdin:
    request = json.loads(line)
    if request["type"] == "hello":
        print(json.dumps({{"type": "hello", "name": "broken", "summary": "misbehaves"}}), flush=True)
        continue
    {on_reconcile}
"#
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_misbehaving_external_algorithm_ends_the_run_with_exit_2_and_no_outputs() {
    let cases = [
        (
            "an answer of 100 MB on one line",
            "sys.stdout.write('x' * 100_000_000); sys.stdout.flush()",
            "wrote a line longer than 16777216 bytes",
        ),
        ("a crash", "sys.exit(3)", "exit"),
        (
            "garbage",
            "print('this is not json', flush=True)",
            "this is not json",
        ),
    ];
    for (name, on_reconcile, expected) in cases {
        let root = tempfile::tempdir().unwrap();
        let algorithm = exec_algorithm(root.path(), on_reconcile);
        let case = Case {
            name,
            target: Target::File(BASE.as_bytes().to_vec()),
            extra_files: Vec::new(),
            located_at: None,
            expect: Vec::new(),
            exit: 2,
        };
        let scenario = lay_out(&case, root.path());
        let out = root.path().join("out");
        let output = Command::new(env!("CARGO_BIN_EXE_poolsim"))
            .arg("run")
            .arg(&scenario)
            .arg("--algorithm")
            .arg(format!("exec:{}", algorithm.display()))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(
            std::fs::read_dir(&out).map_or(0, |e| e.count()) == 0,
            "{name}: outputs were written"
        );
    }
}
