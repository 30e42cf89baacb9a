//! `poolsim validate`, through the binary: scenarios, manifest files with
//! `--placeholder`, folders, warnings, and broken scenarios that must name the file, the
//! line and the field (exit 2, nothing written).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BINARY: &str = env!("CARGO_BIN_EXE_poolsim");

/// A small valid scenario with an inline pool; each broken case changes one thing.
const VALID: &str = "\
apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata:
  name: broken
spec:
  duration: 10m
  cluster:
    nodes: 2
  manifests:
    - apiVersion: pool.kubevirt.io/v1alpha1
      kind: VirtualMachinePool
      metadata:
        name: web
      spec:
        replicas: 1
        selector:
          matchLabels: {app: web}
        virtualMachineTemplate:
          metadata:
            labels: {app: web}
          spec:
            runStrategy: Always
            template:
              metadata:
                labels: {app: web}
              spec:
                domain:
                  devices:
                    disks: [{name: boot, disk: {bus: virtio}}]
                  resources: {requests: {memory: 1Gi}}
                volumes:
                  - {name: boot, containerDisk: {image: quay.io/x/y:1}}
  events:
    - {at: 2m, scale: {pool: web, replicas: 2}}
  expect:
    - {column: vms_total, at: 5m, equals: 2}
";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn validate(args: &[&str], dir: &Path) -> Output {
    Command::new(BINARY)
        .arg("validate")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The 1-based line of the first line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in the scenario"))
        + 1
}

/// Files in `dir` and below, to check that validate wrote nothing.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn a_valid_scenario_is_ok() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("good.yaml"), VALID).expect("write");
    let output = validate(&["good.yaml"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "good.yaml: ok\n");
    assert_eq!(files_under(dir.path()).len(), 1, "validate writes nothing");
}

#[test]
fn the_lab_pool_manifest_file_is_ok_with_its_placeholder_given() {
    let output = validate(
        &[
            "scenarios/lab05/vmpool_lab05-webserver.yaml",
            "--placeholder",
            "username=user",
        ],
        &repo(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "scenarios/lab05/vmpool_lab05-webserver.yaml: ok (manifest: 1 object)\n"
    );
    assert!(
        !stderr(&output).contains("placeholder"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_manifest_file_without_its_placeholder_warns_naming_the_flag() {
    let output = validate(&["scenarios/lab05/vmpool_lab05-webserver.yaml"], &repo());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.starts_with("warning: "), "{err}");
    assert!(
        err.contains("vmpool_lab05-webserver.yaml:61:")
            && err.contains("dataVolumeTemplates[0].spec.source.pvc.namespace")
            && err.contains("--placeholder username=VALUE"),
        "{err}"
    );
}

#[test]
fn a_multi_document_manifest_file_counts_its_objects() {
    let output = validate(&["scenarios/lab05/cluster-storage.yaml"], &repo());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "scenarios/lab05/cluster-storage.yaml: ok (manifest: 2 objects)\n"
    );
}

#[test]
fn a_broken_manifest_file_names_its_document_line_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "\
apiVersion: v1
kind: Secret
metadata: {name: one}
stringData: {a: b}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: Balloon
  selector: {app: web}
";
    std::fs::write(dir.path().join("objects.yaml"), text).expect("write");
    let output = validate(&["objects.yaml"], dir.path());
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains(&format!("objects.yaml:{}:", line_of(text, "Balloon")))
            && err.contains("[1].spec.type"),
        "{err}"
    );
    assert_eq!(stdout(&output), "");
}

#[test]
fn a_folder_is_validated_recursively_in_order() {
    let output = validate(&["scenarios", "--placeholder", "username=user"], &repo());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.contains(&"scenarios/lab05-node-crash.yaml: ok"),
        "{out}"
    );
    assert!(
        lines.contains(&"scenarios/lab05/svc_lab05-webserver.yaml: ok (manifest: 1 object)"),
        "{out}"
    );
    let paths: Vec<PathBuf> = lines
        .iter()
        .map(|line| PathBuf::from(line.split(": ok").next().unwrap_or_default()))
        .collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "files are checked in path order");

    let empty = tempfile::tempdir().expect("tempdir");
    let output = validate(&["."], empty.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no .yaml or .yml file"));
}

#[test]
fn a_missing_secret_is_a_warning_not_an_error() {
    let output = validate(&["scenarios/lab05-per-index-secrets-missing.yaml"], &repo());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("warning:") && err.contains("Secret lab05-cloudinit-1"),
        "{err}"
    );
    assert_eq!(
        stdout(&output),
        "scenarios/lab05-per-index-secrets-missing.yaml: ok\n"
    );
}

#[test]
fn a_bad_placeholder_flag_is_refused() {
    let output = validate(
        &[
            "scenarios/lab05/vmpool_lab05-webserver.yaml",
            "--placeholder",
            "username",
        ],
        &repo(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--placeholder"));
    assert!(stderr(&output).contains("KEY=VALUE"));
}

/// One broken scenario: what to change in [`VALID`], the text of the line the message
/// must point at, and the field it must name.
struct Broken {
    from: &'static str,
    to: &'static str,
    line_with: &'static str,
    field: &'static str,
}

#[test]
fn each_broken_scenario_is_refused_naming_file_line_and_field() {
    let cases = [
        Broken {
            from: "duration: 10m",
            to: "duration: ten minutes",
            line_with: "duration:",
            field: "spec.duration",
        },
        Broken {
            from: "nodes: 2",
            to: "nodes: two",
            line_with: "nodes:",
            field: "spec.cluster.nodes",
        },
        Broken {
            from: "{at: 2m, scale: {pool: web, replicas: 2}}",
            to: "{at: 2m, scale: {pool: webb, replicas: 2}}",
            line_with: "pool: webb",
            field: "spec.events[0].scale.pool",
        },
        Broken {
            from: "{at: 2m, scale: {pool: web, replicas: 2}}",
            to: "{at: 2m, scale: {pool: web, replicas: many}}",
            line_with: "replicas: many",
            field: "spec.events[0].scale.replicas",
        },
        Broken {
            from: "{at: 2m, scale: {pool: web, replicas: 2}}",
            to: "{at: 2m, detachVm: {vm: db-0}}",
            line_with: "detachVm",
            field: "spec.events[0].detachVm.vm",
        },
        Broken {
            from: "{column: vms_total, at: 5m, equals: 2}",
            to: "{column: vms_totl, at: 5m, equals: 2}",
            line_with: "vms_totl",
            field: "spec.expect[0].column",
        },
        Broken {
            from: "          matchLabels: {app: web}",
            to: "          matchLabels: {app: db}",
            line_with: "matchLabels: {app: db}",
            field: "spec.manifests[0].spec.selector",
        },
        Broken {
            from: "        replicas: 1",
            to: "        replicas: -1",
            line_with: "replicas: -1",
            field: "spec.manifests[0].spec.replicas",
        },
        Broken {
            from: "  manifests:",
            to: "  manifestFiles: [../outside.yaml]\n  manifests:",
            line_with: "manifestFiles",
            field: "spec.manifestFiles[0]",
        },
        Broken {
            from: "  duration: 10m",
            to: "  duration: 10m\n  duration: 20m",
            line_with: "duration: 20m",
            field: "",
        },
    ];
    for case in cases {
        let text = VALID.replacen(case.from, case.to, 1);
        assert_ne!(text, VALID, "{:?} must change the scenario", case.from);
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("broken.yaml"), &text).expect("write");
        let output = validate(&["broken.yaml"], dir.path());
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{}: {err}", case.to);
        let located = format!("error: broken.yaml:{}:", line_of(&text, case.line_with));
        assert!(
            err.lines()
                .any(|line| line.starts_with(&located) && line.contains(case.field)),
            "{}: expected a line starting {located:?} naming {:?}, got:\n{err}",
            case.to,
            case.field
        );
        assert_eq!(stdout(&output), "", "{}", case.to);
        assert_eq!(
            files_under(dir.path()).len(),
            1,
            "{}: validate writes nothing",
            case.to
        );
    }
}
