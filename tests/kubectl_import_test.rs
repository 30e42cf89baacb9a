//! Issue 15 items 1 and 2: manifests as `kubectl get -o yaml/json` exports them (a
//! `v1 List` with status, managedFields and server-set fields, Nodes, VMs and VMIs),
//! standalone VirtualMachines, and the warm start (`spec.initialState:
//! fromManifests`). Fixtures: `tests/fixtures/kubectl/` (docs/IMPORT.md).

mod common;

use common::{at, poolsim, poolsim_ok, rows, run_checked};
use std::fs;
use std::path::Path;

const FIXTURES: &str = "tests/fixtures/kubectl";

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn yaml_and_json_exports_validate_with_one_summary_line_each() {
    for file in ["lab05-export.yaml", "lab05-export.json"] {
        let path = format!("{FIXTURES}/{file}");
        let output = poolsim_ok(&["validate", &path]);
        assert!(
            stdout(&output).contains("ok (manifest: 13 objects)"),
            "{}",
            stdout(&output)
        );
        let text = stderr(&output);
        let summaries: Vec<&str> = text
            .lines()
            .filter(|line| line.contains("server-set fields ignored"))
            .collect();
        assert_eq!(summaries.len(), 1, "{text}");
        assert!(summaries[0].contains("status ×9"), "{}", summaries[0]);
        assert!(
            summaries[0].contains("see docs/IMPORT.md"),
            "{}",
            summaries[0]
        );
        // Not one warning per field: nothing about managedFields, uid, status or
        // clusterIP beyond the summary, and no field of the export left unexplained.
        let others: Vec<&str> = text
            .lines()
            .filter(|line| line.starts_with("warning:") && !line.contains("server-set"))
            .filter(|line| !line.contains("request no CPU"))
            .collect();
        assert!(others.is_empty(), "{others:#?}");
    }
}

#[test]
fn a_warm_start_runs_the_exported_vms_at_zero_without_a_clone() {
    let text = fs::read_to_string(format!("{FIXTURES}/warm.yaml")).unwrap();
    let result = run_checked(&text, &format!("{FIXTURES}/warm.yaml"));
    let first = at(rows(&result), 0);
    assert_eq!(
        (
            first.vms_total,
            first.vms_ready,
            first.guests_running,
            first.pvcs_bound
        ),
        (3, 3, 3, 3)
    );
    assert_eq!(first.hpa_desired_replicas, Some(3));
    let events = &result.world.events.rows;
    assert!(
        !events.iter().any(|e| e.reason == "SuccessfulCreate"
            || e.reason == "SuccessfulDataVolumeCreate"
            || e.reason == "SuccessfulUpdate"),
        "the warm start recreated or rewrote something: {events:#?}"
    );
    // Each guest runs where its exported VMI says (worker-(i+1) mod 3).
    for (vm, node) in [("0", "worker-1"), ("1", "worker-2"), ("2", "worker-0")] {
        let row = events
            .iter()
            .find(|e| e.reason == "WarmStart" && e.object == format!("lab05-webserver-{vm}"))
            .expect("a WarmStart row per VM");
        assert!(row.message.contains(node), "{}", row.message);
    }
    assert_eq!(result.summary.vms_created, 3);
}

#[test]
fn the_same_export_started_cold_creates_and_clones_everything() {
    let text = fs::read_to_string(format!("{FIXTURES}/cold.yaml")).unwrap();
    let result = run_checked(&text, &format!("{FIXTURES}/cold.yaml"));
    let first = at(rows(&result), 0);
    assert_eq!((first.vms_ready, first.pvcs_bound), (0, 0));
    let created = result
        .world
        .events
        .rows
        .iter()
        .filter(|e| e.kind == "VirtualMachinePool" && e.reason == "SuccessfulCreate")
        .count();
    assert!(created >= 3, "the pool created {created} VMs");
}

#[test]
fn cli_run_of_the_warm_fixture_writes_ready_replicas_in_the_first_row() {
    let out = tempfile::tempdir().unwrap();
    let out_path = out.path().to_str().unwrap();
    poolsim_ok(&["run", &format!("{FIXTURES}/warm.yaml"), "--out", out_path]);
    let csv = fs::read_to_string(out.path().join("kubectl-warm/timeseries.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let first: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let column = |name: &str| first[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        (column("time_s"), column("vms_ready"), column("pvcs_bound")),
        ("0", "3", "3")
    );
}

/// A scenario in a fresh folder with `export.yaml` beside it; `poolsim validate` of it.
fn validate_with_export(scenario_extra: &str, export: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let scenario = format!(
        "apiVersion: poolsim.io/v1alpha1\nkind: Scenario\nmetadata: {{name: t}}\nspec:\n  duration: 5m\n  namespace: lab-user\n{scenario_extra}  manifestFiles: [export.yaml]\n"
    );
    fs::write(dir.path().join("s.yaml"), scenario).unwrap();
    fs::write(dir.path().join("export.yaml"), export).unwrap();
    let output = poolsim(&["validate", dir.path().join("s.yaml").to_str().unwrap()]);
    drop(dir);
    output
}

fn assert_exit_2(output: &std::process::Output, expected: &[&str]) {
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    let text = stderr(output);
    for part in expected {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

#[test]
fn bad_list_items_and_unknown_kinds_are_located() {
    let export = "apiVersion: v1\nkind: List\nitems:\n- just-a-string\n";
    let output = validate_with_export("  cluster: {nodes: 1}\n", export);
    assert_exit_2(
        &output,
        &["export.yaml:4:3: [0].items[0]: a List item must be an object (a mapping with apiVersion, kind and metadata), got \"just-a-string\""],
    );
    let export = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: d}\n";
    let output = validate_with_export("  cluster: {nodes: 1}\n", export);
    assert_exit_2(
        &output,
        &[
            "export.yaml:8:11: [0].items[0].items[0].kind: kind \"Deployment\" is not supported",
            "VirtualMachine",
        ],
    );
}

#[test]
fn a_list_without_items_and_a_node_without_capacity_are_errors() {
    let output = validate_with_export("  cluster: {nodes: 1}\n", "apiVersion: v1\nkind: List\n");
    assert_exit_2(
        &output,
        &["export.yaml:1:1: [0].items: missing required field \"items\""],
    );
    let node =
        "apiVersion: v1\nkind: Node\nmetadata: {name: w1}\nstatus:\n  nodeInfo: {osImage: x}\n";
    let output = validate_with_export("", node);
    assert_exit_2(
        &output,
        &["export.yaml:5:3: [0].status: a Node needs status.allocatable (or status.capacity) with cpu and memory"],
    );
}

#[test]
fn a_node_defined_twice_is_an_error() {
    let node = "apiVersion: v1\nkind: Node\nmetadata: {name: node-0}\nstatus: {capacity: {cpu: '8', memory: 32Gi}}\n";
    let output = validate_with_export("  cluster: {nodes: 2}\n", node);
    assert_exit_2(
        &output,
        &["export.yaml:3:18: [0].metadata.name: node \"node-0\" is defined twice"],
    );
}

#[test]
fn a_scenario_without_cluster_needs_node_objects() {
    let secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n";
    let output = validate_with_export("", secret);
    assert_exit_2(
        &output,
        &["spec.cluster: missing required field \"cluster\"; give spec.cluster"],
    );
}

/// The fixture export with its VMIs' nodes renamed, as YAML.
fn export_with_vmi_node(node: &str) -> String {
    let text = fs::read_to_string(format!("{FIXTURES}/lab05-export.yaml")).unwrap();
    text.replace("  nodeName: worker-1", &format!("  nodeName: {node}"))
}

#[test]
fn a_warm_start_naming_a_node_outside_the_cluster_is_an_error_at_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let export = export_with_vmi_node("worker-9");
    let line = export
        .lines()
        .position(|l| l.contains("nodeName: worker-9"))
        .unwrap()
        + 1;
    fs::write(dir.path().join("export.yaml"), &export).unwrap();
    fs::copy(
        format!("{FIXTURES}/storage.yaml"),
        dir.path().join("storage.yaml"),
    )
    .unwrap();
    let warm = fs::read_to_string(format!("{FIXTURES}/warm.yaml"))
        .unwrap()
        .replace("lab05-export.yaml", "export.yaml");
    fs::write(dir.path().join("warm.yaml"), warm).unwrap();
    let output = poolsim(&["validate", dir.path().join("warm.yaml").to_str().unwrap()]);
    assert_exit_2(
        &output,
        &[
            &format!("export.yaml:{line}:"),
            "status.nodeName: node \"worker-9\" is not in the cluster",
            "worker-0, worker-1, worker-2",
        ],
    );
    // The same file started cold ignores the VMIs' nodes: it is valid.
    let cold = fs::read_to_string(dir.path().join("warm.yaml"))
        .unwrap()
        .replace("  initialState: fromManifests\n", "");
    fs::write(dir.path().join("cold.yaml"), cold).unwrap();
    let path = dir.path().join("cold.yaml");
    poolsim_ok(&["validate", path.to_str().unwrap()]);
}

#[test]
fn json_errors_have_line_and_column() {
    let json = "{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"List\",\n    \"items\": [\n        {\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"Bad_Name\"}}\n    ]\n}\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.json");
    fs::write(&path, json).unwrap();
    let output = poolsim(&["validate", path.to_str().unwrap()]);
    assert_exit_2(
        &output,
        &["export.json:5:69: [0].items[0].metadata.name: Invalid value: \"Bad_Name\""],
    );
}

#[test]
fn an_apply_event_cannot_bring_a_node() {
    let scenario = "apiVersion: poolsim.io/v1alpha1\nkind: Scenario\nmetadata: {name: t}\nspec:\n  duration: 5m\n  cluster: {nodes: 1}\n  events:\n    - at: 1m\n      apply: {apiVersion: v1, kind: Node, metadata: {name: extra}, status: {capacity: {cpu: '4', memory: 8Gi}}}\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    fs::write(&path, scenario).unwrap();
    let output = poolsim(&["validate", path.to_str().unwrap()]);
    assert_exit_2(
        &output,
        &["spec.events[0].apply.kind: a Node cannot be applied during a run"],
    );
}

/// A pool of one VM beside a standalone VM named `web-0` that matches the pool's
/// selector: upstream's pool never adopts an orphan, so the pool creates `web-1`
/// (index 0 is taken by a VM in the namespace) and the standalone VM runs on its own.
const STANDALONE: &str = r#"apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata: {name: standalone}
spec:
  duration: 3m
  cluster: {nodes: 2}
  manifests:
    - apiVersion: pool.kubevirt.io/v1alpha1
      kind: VirtualMachinePool
      metadata: {name: web}
      spec:
        replicas: 1
        selector: {matchLabels: {app: web}}
        virtualMachineTemplate:
          metadata: {labels: {app: web}}
          spec:
            runStrategy: Always
            template:
              metadata: {labels: {app: web}}
              spec:
                domain:
                  devices: {disks: [{name: boot, disk: {bus: virtio}}]}
                  resources: {requests: {memory: 1Gi}}
                volumes: [{name: boot, containerDisk: {image: quay.io/x/y:1}}]
    - apiVersion: kubevirt.io/v1
      kind: VirtualMachine
      metadata:
        name: web-0
        labels: {app: web}
        uid: 11111111-2222-3333-4444-555555555555
      spec:
        running: true
        template:
          metadata: {labels: {app: web}}
          spec:
            domain:
              devices: {disks: [{name: boot, disk: {bus: virtio}}]}
              resources: {requests: {memory: 1Gi}}
            volumes: [{name: boot, containerDisk: {image: quay.io/x/y:1}}]
      status: {printableStatus: Stopped}
    - apiVersion: kubevirt.io/v1
      kind: VirtualMachine
      metadata: {name: halted}
      spec:
        runStrategy: Halted
        template:
          spec:
            domain:
              devices: {disks: [{name: boot, disk: {bus: virtio}}]}
              resources: {requests: {memory: 1Gi}}
            volumes: [{name: boot, containerDisk: {image: quay.io/x/y:1}}]
  events:
    - {at: 2m, killGuest: {vm: web-0}}
"#;

#[test]
fn a_standalone_vm_runs_on_its_own_and_is_not_adopted() {
    let result = run_checked(STANDALONE, "scenarios/standalone.yaml");
    let events = &result.world.events.rows;
    let created: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "VirtualMachinePool" && e.reason == "SuccessfulCreate")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(created, ["Created VM default/web-1"]);
    let started = |vm: &str| {
        events
            .iter()
            .any(|e| e.kind == "VirtualMachine" && e.object == vm && e.reason == "SuccessfulCreate")
    };
    assert!(started("web-0"), "the standalone VM's controller starts it");
    assert!(!started("halted"), "runStrategy Halted is honoured");
    let row = at(rows(&result), 100);
    // The pool counts its one VM; guests_running counts only VMs the pool created.
    assert_eq!(
        (row.vms_total, row.vms_ready, row.guests_running),
        (1, 1, 1)
    );
    assert!(!Path::new("scenarios/standalone.yaml").exists());
}

#[test]
fn events_may_name_exported_nodes_and_dv_claims_are_left_to_their_vm() {
    let claim = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: web-disk-0\n  ownerReferences:\n  - {apiVersion: cdi.kubevirt.io/v1beta1, kind: DataVolume, name: web-disk-0, uid: u, controller: true}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n  volumeName: pvc-123\nstatus: {phase: Bound}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: worker-7}\nstatus: {allocatable: {cpu: '8', memory: 32Gi}}\n";
    let extra = "  events:\n    - {at: 1m, partitionNode: {node: worker-7}}\n";
    let output = validate_with_export(extra, claim);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("export.yaml:6:5: [0].metadata.ownerReferences: claim \"web-disk-0\" belongs to a DataVolume"),
        "{text}"
    );
    assert!(text.contains("server-set field"), "{text}");
}

#[test]
fn a_warm_start_from_pool_status_alone_places_the_vms_on_the_freest_nodes() {
    // The pool of STANDALONE with `status.replicas: 2` and no VM objects: the warm
    // start makes web-0 and web-1 as the pool names them, each on the node with the
    // most free CPU at that point (so on two different nodes).
    let pool_only = STANDALONE
        .split("    - apiVersion: kubevirt.io/v1\n")
        .next()
        .unwrap()
        .replace("        replicas: 1\n", "        replicas: 2\n")
        .replace(
            "                volumes: [{name: boot, containerDisk: {image: quay.io/x/y:1}}]\n",
            "                volumes: [{name: boot, containerDisk: {image: quay.io/x/y:1}}]\n      status: {replicas: 2, readyReplicas: 2}\n",
        )
        .replace("  duration: 3m\n", "  duration: 3m\n  initialState: fromManifests\n");
    let result = run_checked(&pool_only, "scenarios/warm-pool-only.yaml");
    let first = at(rows(&result), 0);
    assert_eq!(
        (first.vms_total, first.vms_ready, first.guests_running),
        (2, 2, 2)
    );
    let nodes: Vec<&str> = result
        .world
        .events
        .rows
        .iter()
        .filter(|e| e.reason == "WarmStart")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(
        nodes,
        [
            "running on node node-0 from the export",
            "running on node node-1 from the export"
        ]
    );
    assert_eq!(at(rows(&result), 180).vms_ready, 2);
}
