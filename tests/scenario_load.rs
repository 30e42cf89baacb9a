//! Scenario loading: happy paths and at least 30 broken scenarios. Every broken case
//! asserts the message names the file, the line (and column) and the field.

use poolsim::scenario::{
    load, load_str, Action, Comparison, Diagnostic, ExpectTarget, NodeRef, Severity,
};
use std::path::Path;

const VALID: &str = r#"apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata:
  name: lab05-node-partition
  description: free text
spec:
  seed: 42
  duration: 90m
  sampleInterval: 5s
  algorithm: kubevirt-pool
  namespace: lab-user
  cluster:
    nodes: 3
    nodeCapacity: {cpu: "16", memory: 64Gi}
  settings: {}
  manifests:
    - apiVersion: pool.kubevirt.io/v1alpha1
      kind: VirtualMachinePool
      metadata: {name: lab05-webserver}
      spec: {}
  load:
    - {at: 0s, cores: 0.5}
    - {at: 20m, cores: 4, rampOver: 5m}
  events:
    - {at: 10m, partitionNode: {nodeOf: lab05-webserver-0}}
    - {at: 25m, healNode: {nodeOf: lab05-webserver-0}}
    - {at: 30m, scale: {pool: lab05-webserver, replicas: 1}}
  expect:
    - {metric: max_overshoot, atMost: 0}
    - {column: vms_ready, at: 60m, atLeast: 2}
    - {column: desired_replicas, during: [0s, 10m], equals: 2}
"#;

const FILE: &str = "scenarios/x.yaml";

fn errors_of(text: &str) -> Vec<Diagnostic> {
    match load_str(text, Path::new(FILE)) {
        Ok(loaded) => panic!(
            "expected errors, got a scenario: {:?}",
            loaded.scenario.name
        ),
        Err(diagnostics) => diagnostics,
    }
}

/// Asserts that some error is at `line` (and `col` if given), names `field`, and
/// mentions `needle`; the display names the file.
fn check(text: &str, line: u32, col: Option<u32>, field: &str, needle: &str) {
    let diagnostics = errors_of(text);
    let found = diagnostics.iter().any(|diagnostic| {
        diagnostic.severity == Severity::Error
            && diagnostic.line == line
            && col.is_none_or(|col| diagnostic.col == col)
            && diagnostic.field == field
            && diagnostic.message.contains(needle)
            && diagnostic
                .to_string()
                .starts_with(&format!("error: {FILE}:{line}:"))
    });
    assert!(
        found,
        "no error at line {line} col {col:?} field {field:?} containing {needle:?}; got:\n{}",
        diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The valid scenario with one line replaced (1-based line number).
fn with_line(line: usize, replacement: &str) -> String {
    let mut lines: Vec<&str> = VALID.lines().collect();
    lines[line - 1] = replacement;
    lines.join("\n") + "\n"
}

fn line_of(needle: &str) -> usize {
    VALID
        .lines()
        .position(|line| line.contains(needle))
        .expect(needle)
        + 1
}

fn replace(needle: &str, replacement: &str) -> (String, u32) {
    let line = line_of(needle);
    (with_line(line, replacement), line as u32)
}

#[test]
fn the_design_example_loads() {
    let loaded = load_str(VALID, Path::new(FILE)).unwrap_or_else(|diagnostics| {
        panic!("{diagnostics:#?}");
    });
    assert!(loaded.warnings.is_empty(), "{:#?}", loaded.warnings);
    let scenario = loaded.scenario;
    assert_eq!(scenario.name, "lab05-node-partition");
    assert_eq!(scenario.description, "free text");
    assert_eq!(scenario.seed, 42);
    assert_eq!(scenario.duration_ms, 90 * 60_000);
    assert_eq!(scenario.sample_interval_ms, 5_000);
    assert_eq!(scenario.algorithm, "kubevirt-pool");
    assert_eq!(scenario.namespace, "lab-user");
    let names: Vec<&str> = scenario
        .nodes
        .iter()
        .map(|node| node.name.as_str())
        .collect();
    assert_eq!(names, ["node-0", "node-1", "node-2"]);
    assert_eq!(scenario.nodes[0].cpu.milli_value(), 16_000);
    assert_eq!(scenario.nodes[0].memory.value(), 64 << 30);
    assert_eq!(scenario.nodes[0].pods, 110);
    assert_eq!(scenario.manifests.len(), 1);
    assert_eq!(scenario.manifests[0].field, "spec.manifests[0]");
    assert_eq!(scenario.manifests[0].object.pos.line, 17);
    assert_eq!(scenario.load.len(), 2);
    assert_eq!(scenario.load[1].ramp_over_ms, 300_000);
    assert_eq!(scenario.load[1].cores, 4.0);
    assert_eq!(scenario.events.len(), 3);
    assert_eq!(
        scenario.events[0].action,
        Action::PartitionNode(NodeRef::NodeOf("lab05-webserver-0".to_string()))
    );
    assert_eq!(
        scenario.events[2].action,
        Action::Scale {
            pool: "lab05-webserver".to_string(),
            replicas: 1
        }
    );
    assert_eq!(scenario.expectations.len(), 3);
    assert_eq!(
        scenario.expectations[0].target,
        ExpectTarget::Metric("max_overshoot".to_string())
    );
    assert_eq!(scenario.expectations[0].comparison, Comparison::AtMost(0.0));
    assert_eq!(
        scenario.expectations[2].target,
        ExpectTarget::ColumnDuring {
            column: "desired_replicas".to_string(),
            from_ms: 0,
            to_ms: 600_000
        }
    );
    let vms: Vec<&str> = scenario.referenced_vms().iter().map(|r| r.name).collect();
    assert_eq!(vms, ["lab05-webserver-0", "lab05-webserver-0"]);
    let pools = scenario.referenced_pools();
    assert_eq!(pools[0].name, "lab05-webserver");
    assert_eq!(pools[0].field, "spec.events[2].scale.pool");
}

#[test]
fn defaults_apply_to_a_minimal_scenario() {
    let text = "apiVersion: poolsim.io/v1alpha1\nkind: Scenario\nmetadata: {name: min}\nspec:\n  duration: 1h\n  cluster: {nodes: 1}\n";
    let scenario = load_str(text, Path::new(FILE)).unwrap().scenario;
    assert_eq!(scenario.seed, 0);
    assert_eq!(scenario.sample_interval_ms, 5_000);
    assert_eq!(scenario.algorithm, "kubevirt-pool");
    assert_eq!(scenario.namespace, "default");
    assert!(scenario.algorithm_pos.is_none());
    assert!(scenario.events.is_empty() && scenario.load.is_empty());
}

#[test]
fn node_list_events_by_node_name_and_sorting() {
    let text = r#"apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata: {name: list}
spec:
  duration: 1h
  cluster:
    nodes:
      - {name: worker-a, cpu: 8, memory: 32Gi, pods: 50, labels: {zone: a}}
      - {name: worker-b}
  events:
    - {at: 30m, crashNode: {node: worker-b}}
    - {at: 5m, fenceNode: {node: worker-a}}
    - {at: 5m, setLoad: {cores: 2, rampOver: 1m}}
    - {at: 6m, killGuest: {vm: vm-1}}
    - {at: 7m, delete: {kind: Service, name: web}}
    - {at: 8m, patch: {kind: VirtualMachinePool, name: p, mergePatch: {spec: {replicas: 3}}}}
    - {at: 9m, apply: {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}}
    - {at: 9m, detachVm: {vm: vm-2}}
"#;
    let scenario = load_str(text, Path::new(FILE)).unwrap().scenario;
    assert_eq!(scenario.nodes[0].cpu.value(), 8);
    assert_eq!(scenario.nodes[0].pods, 50);
    assert_eq!(scenario.nodes[0].labels["zone"], "a");
    assert_eq!(scenario.nodes[1].memory.value(), 64 << 30);
    let order: Vec<&str> = scenario.events.iter().map(|e| e.action.name()).collect();
    assert_eq!(
        order,
        [
            "fenceNode",
            "setLoad",
            "killGuest",
            "delete",
            "patch",
            "apply",
            "detachVm",
            "crashNode"
        ]
    );
    assert_eq!(scenario.events[0].field, "spec.events[1]");
    assert_eq!(
        scenario.events[1].action,
        Action::SetLoad {
            cores: 2.0,
            ramp_over_ms: 60_000
        }
    );
}

#[test]
fn manifest_files_with_placeholders_and_multiple_documents() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    std::fs::write(
        dir.path().join("manifests/lab.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: lab-<username>-secret\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-<username>}\n",
    )
    .unwrap();
    let scenario_path = dir.path().join("s.yaml");
    std::fs::write(
        &scenario_path,
        "apiVersion: poolsim.io/v1alpha1\nkind: Scenario\nmetadata: {name: files}\nspec:\n  duration: 1h\n  cluster: {nodes: 1}\n  placeholders: {username: alice}\n  manifestFiles: [manifests/lab.yaml]\n  manifests:\n    - {apiVersion: v1, kind: Service, metadata: {name: web-<username>}}\n",
    )
    .unwrap();
    let loaded = load(&scenario_path).unwrap_or_else(|d| panic!("{d:#?}"));
    let manifests = &loaded.scenario.manifests;
    assert_eq!(manifests.len(), 3);
    let name_of = |index: usize| {
        manifests[index]
            .object
            .get("metadata")
            .unwrap()
            .get("name")
            .unwrap()
            .as_scalar()
            .unwrap()
            .to_string()
    };
    assert_eq!(name_of(0), "web-alice");
    assert_eq!(name_of(1), "lab-alice-secret");
    assert_eq!(name_of(2), "cm-alice");
    assert_eq!(manifests[1].file, dir.path().join("manifests/lab.yaml"));
    assert_eq!(manifests[2].field, "[2]");
    assert_eq!(manifests[2].object.pos.line, 7);
}

#[test]
fn warnings_do_not_fail_the_load() {
    let text = VALID.replace(
        "    - {at: 30m, scale: {pool: lab05-webserver, replicas: 1}}",
        "    - {at: 100m, scale: {pool: lab05-webserver, replicas: 1}}",
    ) + "  placeholders: {unused: x}\n";
    let loaded = load_str(&text, Path::new(FILE)).unwrap();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(warnings[0].starts_with("warning: scenarios/x.yaml:27:12: spec.events[2].at: 1h40m is after the end of the run (1h30m)"), "{warnings:#?}");
    assert!(warnings[1].starts_with("warning: scenarios/x.yaml:32:18: spec.placeholders.unused: placeholder <unused> is not used"), "{warnings:#?}");
}

// ---------------------------------------------------------------- broken scenarios

#[test]
fn b01_syntax_error() {
    let (text, line) = replace("  seed: 42", "  seed: [42");
    let diagnostics = errors_of(&text);
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics[0].message.contains("YAML syntax error"));
    assert!(diagnostics[0].line >= line, "{}", diagnostics[0]);
    assert!(diagnostics[0]
        .to_string()
        .starts_with("error: scenarios/x.yaml:"));
}

#[test]
fn b02_tab_indentation() {
    let (text, line) = replace("  seed: 42", "\tseed: 42");
    let diagnostics = errors_of(&text);
    assert!(
        diagnostics[0].message.contains("spaces, not tabs"),
        "{}",
        diagnostics[0]
    );
    assert_eq!(diagnostics[0].line, line);
}

#[test]
fn b03_node_count_is_not_a_number() {
    let (text, line) = replace("    nodes: 3", "    nodes: three");
    check(
        &text,
        line,
        Some(12),
        "spec.cluster.nodes",
        "expected a whole number from 1 to 10000, got \"three\"",
    );
}

#[test]
fn b04_quoted_number_for_an_integer_field() {
    let (text, line) = replace("  seed: 42", "  seed: \"42\"");
    check(&text, line, Some(9), "spec.seed", "expected a whole number");
}

#[test]
fn b05_unknown_field_with_did_you_mean() {
    let (text, line) = replace("  sampleInterval: 5s", "  sampleIntervall: 5s");
    check(
        &text,
        line,
        Some(3),
        "spec.sampleIntervall",
        "did you mean \"sampleInterval\"?",
    );
}

#[test]
fn b06_unknown_top_level_field_lists_valid_keys() {
    let text = format!("{VALID}status: {{}}\n");
    check(
        &text,
        32,
        Some(1),
        "status",
        "valid: apiVersion, kind, metadata, spec",
    );
}

#[test]
fn b07_wrong_api_version() {
    check(
        &with_line(1, "apiVersion: poolsim.io/v1"),
        1,
        Some(13),
        "apiVersion",
        "expected \"poolsim.io/v1alpha1\"",
    );
}

#[test]
fn b08_wrong_kind() {
    check(
        &with_line(2, "kind: Scenarios"),
        2,
        Some(7),
        "kind",
        "expected \"Scenario\"",
    );
}

#[test]
fn b09_bad_duration_unit() {
    let (text, line) = replace("  duration: 90m", "  duration: 90min");
    check(
        &text,
        line,
        Some(13),
        "spec.duration",
        "unknown unit \"min\"",
    );
}

#[test]
fn b10_duration_too_long() {
    let (text, line) = replace("  duration: 90m", "  duration: 31d");
    check(&text, line, Some(13), "spec.duration", "at most 30d");
}

#[test]
fn b11_zero_duration() {
    let (text, line) = replace("  duration: 90m", "  duration: 0s");
    check(&text, line, Some(13), "spec.duration", "greater than 0s");
}

#[test]
fn b12_sample_interval_too_small() {
    let (text, line) = replace("  sampleInterval: 5s", "  sampleInterval: 10ms");
    check(
        &text,
        line,
        Some(19),
        "spec.sampleInterval",
        "at least 100ms",
    );
}

#[test]
fn b13_too_many_rows() {
    let text = VALID
        .replace("  duration: 90m", "  duration: 30d")
        .replace("  sampleInterval: 5s", "  sampleInterval: 1s");
    check(
        &text,
        9,
        Some(19),
        "spec.sampleInterval",
        "more than 1000000",
    );
}

#[test]
fn b14_bad_quantity() {
    let (text, line) = replace(
        "    nodeCapacity:",
        "    nodeCapacity: {cpu: \"16\", memory: 64GB}",
    );
    check(
        &text,
        line,
        Some(39),
        "spec.cluster.nodeCapacity.memory",
        "unknown suffix \"GB\"",
    );
}

#[test]
fn b15_negative_quantity() {
    let (text, line) = replace(
        "    nodeCapacity:",
        "    nodeCapacity: {cpu: -2, memory: 64Gi}",
    );
    check(
        &text,
        line,
        Some(25),
        "spec.cluster.nodeCapacity.cpu",
        "greater than 0",
    );
}

#[test]
fn b16_negative_cores() {
    let (text, line) = replace("    - {at: 0s, cores: 0.5}", "    - {at: 0s, cores: -1}");
    check(&text, line, Some(23), "spec.load[0].cores", "at least 0");
}

#[test]
fn b17_negative_replicas() {
    let (text, line) = replace(
        "{pool: lab05-webserver, replicas: 1}",
        "    - {at: 30m, scale: {pool: lab05-webserver, replicas: -1}}",
    );
    check(
        &text,
        line,
        Some(58),
        "spec.events[2].scale.replicas",
        "from 0 to 2147483647",
    );
}

#[test]
fn b18_duplicate_keys() {
    let text = VALID.replace("  seed: 42\n", "  seed: 42\n  seed: 43\n");
    let diagnostics = errors_of(&text);
    assert_eq!(diagnostics[0].line, 8);
    assert!(
        diagnostics[0]
            .message
            .contains("first on line 7, again on line 8"),
        "{}",
        diagnostics[0]
    );
}

#[test]
fn b19_empty_file() {
    let diagnostics = errors_of("");
    assert_eq!(
        diagnostics[0].to_string(),
        "error: scenarios/x.yaml:1:1: the file is empty: it holds no YAML document"
    );
    let diagnostics = errors_of("# nothing here\n");
    assert!(diagnostics[0].message.contains("empty"));
}

#[test]
fn b20_binary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("binary.yaml");
    std::fs::write(&path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").unwrap();
    let diagnostics = load(&path).unwrap_err();
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics[0].message.contains("binary file"));
    assert_eq!(diagnostics[0].file, path);
    assert_eq!(diagnostics[0].line, 3);
}

#[test]
fn b21_non_utf8_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.yaml");
    std::fs::write(
        &path,
        b"apiVersion: poolsim.io/v1alpha1\nkind: Sc\xe9nario\n",
    )
    .unwrap();
    let diagnostics = load(&path).unwrap_err();
    assert!(diagnostics[0].message.contains("UTF-8"));
    assert_eq!((diagnostics[0].line, diagnostics[0].col), (2, 9));
}

#[test]
fn b22_alias_bomb() {
    let mut text = String::from("apiVersion: poolsim.io/v1alpha1\nkind: Scenario\nmetadata: {name: bomb}\nspec:\n  settings:\n    a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let items = vec![format!("*a{}", level - 1); 9].join(", ");
        text.push_str(&format!("    a{level}: &a{level} [{items}]\n"));
    }
    let diagnostics = errors_of(&text);
    assert_eq!(diagnostics.len(), 1);
    assert!(
        diagnostics[0].message.contains("alias bomb"),
        "{}",
        diagnostics[0]
    );
    assert!(diagnostics[0].line >= 6);
}

#[test]
fn b23_too_deep() {
    let text = format!("{VALID}  extra: {}{}\n", "[".repeat(100), "]".repeat(100))
        .replace("  extra:", "  settings2:");
    let diagnostics = errors_of(&text);
    assert!(
        diagnostics[0].message.contains("deeper than 64"),
        "{}",
        diagnostics[0]
    );
    assert_eq!(diagnostics[0].line, 32);
}

#[test]
fn b24_too_large() {
    let text = format!("{VALID}#{}\n", "x".repeat(4 * 1024 * 1024));
    let diagnostics = errors_of(&text);
    assert!(
        diagnostics[0].message.contains("4 MiB"),
        "{}",
        diagnostics[0]
    );
    assert_eq!(diagnostics[0].line, 1);
}

#[test]
fn b25_name_escaping_the_output_folder() {
    let (text, line) = replace("  name: lab05-node-partition", "  name: ../x");
    check(&text, line, Some(9), "metadata.name", "DNS-1123 label");
    let (text, line) = replace("  name: lab05-node-partition", "  name: Lab05/x");
    check(
        &text,
        line,
        Some(9),
        "metadata.name",
        "not a valid metadata.name",
    );
}

#[test]
fn b26_two_actions_in_one_event() {
    let (text, line) = replace(
        "    - {at: 25m, healNode",
        "    - {at: 25m, healNode: {nodeOf: lab05-webserver-0}, killGuest: {vm: a}}",
    );
    check(
        &text,
        line,
        None,
        "spec.events[1]",
        "has healNode and killGuest; split it",
    );
}

#[test]
fn b27_event_without_action() {
    let (text, line) = replace("    - {at: 25m, healNode", "    - {at: 25m}");
    check(
        &text,
        line,
        Some(7),
        "spec.events[1]",
        "an event needs one action; valid actions: scale, apply",
    );
}

#[test]
fn b28_unknown_node_in_an_event() {
    let (text, line) = replace(
        "    - {at: 25m, healNode",
        "    - {at: 25m, healNode: {node: node-7}}",
    );
    check(&text, line, Some(34), "spec.events[1].healNode.node", "no node named \"node-7\" in spec.cluster; did you mean \"node-0\"? valid: node-0, node-1, node-2");
}

#[test]
fn b29_unsorted_load() {
    let (text, line) = replace(
        "    - {at: 20m, cores: 4, rampOver: 5m}",
        "    - {at: 0s, cores: 4}\n    - {at: 20m, cores: 1}\n    - {at: 10m, cores: 2}",
    );
    check(
        &text,
        line + 2,
        Some(7),
        "spec.load[3].at",
        "in time order: 10m comes after 20m",
    );
}

#[test]
fn b30_unknown_action_typo() {
    let (text, line) = replace(
        "    - {at: 25m, healNode",
        "    - {at: 25m, heal_node: {nodeOf: lab05-webserver-0}}",
    );
    check(
        &text,
        line,
        Some(17),
        "spec.events[1].heal_node",
        "did you mean \"healNode\"?",
    );
}

#[test]
fn b31_unknown_metric_and_column() {
    let (text, line) = replace(
        "    - {metric: max_overshoot",
        "    - {metric: max_overshot, atMost: 0}",
    );
    check(
        &text,
        line,
        Some(16),
        "spec.expect[0].metric",
        "did you mean \"max_overshoot\"?",
    );
    let (text, line) = replace(
        "    - {column: vms_ready",
        "    - {column: vm_ready, at: 60m, atLeast: 2}",
    );
    check(
        &text,
        line,
        Some(16),
        "spec.expect[1].column",
        "did you mean \"vms_ready\"?",
    );
}

#[test]
fn b32_expectation_without_comparison_or_after_the_end() {
    let (text, line) = replace(
        "    - {metric: max_overshoot",
        "    - {metric: max_overshoot}",
    );
    check(
        &text,
        line,
        Some(7),
        "spec.expect[0]",
        "needs one of atMost, atLeast or equals",
    );
    let (text, line) = replace(
        "    - {column: vms_ready",
        "    - {column: vms_ready, at: 2h, atLeast: 2}",
    );
    check(
        &text,
        line,
        Some(31),
        "spec.expect[1].at",
        "after the end of the run",
    );
}

#[test]
fn b33_during_window_reversed() {
    let (text, line) = replace(
        "    - {column: desired_replicas",
        "    - {column: desired_replicas, during: [10m, 0s], equals: 2}",
    );
    check(
        &text,
        line,
        Some(48),
        "spec.expect[2].during",
        "ends (0s) before it starts (10m)",
    );
}

#[test]
fn b34_missing_required_fields() {
    let text = "apiVersion: poolsim.io/v1alpha1\nkind: Scenario\nmetadata: {}\nspec:\n  cluster: {nodes: 1}\n";
    check(
        text,
        3,
        Some(11),
        "metadata.name",
        "missing required field \"name\"",
    );
    check(
        text,
        5,
        Some(3),
        "spec.duration",
        "missing required field \"duration\"",
    );
}

#[test]
fn b35_duplicate_node_names() {
    let (text, line) = replace("    nodes: 3", "    nodes: [{name: a}, {name: a}]");
    let text = text.replace("    nodeCapacity: {cpu: \"16\", memory: 64Gi}\n", "");
    check(
        &text,
        line,
        Some(31),
        "spec.cluster.nodes[1].name",
        "duplicate node name \"a\", first used on line 13",
    );
}

#[test]
fn b36_manifest_file_outside_the_folder_and_missing() {
    let text = format!("{VALID}  manifestFiles: [../secret.yaml, missing.yaml, /etc/passwd]\n");
    check(
        &text,
        32,
        Some(19),
        "spec.manifestFiles[0]",
        "leaves the scenario file's folder",
    );
    check(
        &text,
        32,
        Some(35),
        "spec.manifestFiles[1]",
        "cannot read manifest file",
    );
    check(
        &text,
        32,
        Some(49),
        "spec.manifestFiles[2]",
        "absolute path",
    );
}

#[test]
fn b37_broken_manifest_file_names_that_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: v1\nkind: Service\n---\nmetadata: {name: x}\n",
    )
    .unwrap();
    let scenario_path = dir.path().join("s.yaml");
    std::fs::write(
        &scenario_path,
        format!("{VALID}  manifestFiles: [bad.yaml]\n"),
    )
    .unwrap();
    let diagnostics = load(&scenario_path).unwrap_err();
    let manifest_path = dir.path().join("bad.yaml");
    let rendered: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    assert!(
        rendered.contains(&format!(
            "error: {}:4:1: [1].apiVersion: a Kubernetes object needs \"apiVersion\"",
            manifest_path.display()
        )),
        "{rendered:#?}"
    );
}

#[test]
fn b38_inline_manifest_is_not_an_object() {
    let (text, line) = replace(
        "    - apiVersion: pool.kubevirt.io/v1alpha1",
        "    - just-a-string",
    );
    let text = text
        .replace("      kind: VirtualMachinePool\n", "")
        .replace("      metadata: {name: lab05-webserver}\n", "")
        .replace("      spec: {}\n", "");
    check(
        &text,
        line,
        Some(7),
        "spec.manifests[0]",
        "expected a Kubernetes object",
    );
}

#[test]
fn b39_node_ref_needs_node_or_node_of() {
    let (text, line) = replace(
        "    - {at: 25m, healNode",
        "    - {at: 25m, healNode: {vm: x}}",
    );
    check(
        &text,
        line,
        Some(28),
        "spec.events[1].healNode.vm",
        "unknown field \"vm\"",
    );
    let diagnostics = errors_of(&text);
    assert!(
        diagnostics
            .iter()
            .any(|d| d.field == "spec.events[1].healNode"
                && d.message.contains("{node: NODE_NAME} or {nodeOf: VM_NAME}")),
        "{diagnostics:#?}"
    );
}

#[test]
fn b40_string_field_given_a_number() {
    let (text, line) = replace("  namespace: lab-user", "  namespace: 123");
    check(&text, line, Some(14), "spec.namespace", "quote it");
}

#[test]
fn b41_many_problems_reported_in_one_pass() {
    let text = VALID
        .replace("  seed: 42", "  seed: -1")
        .replace("  duration: 90m", "  duration: 90")
        .replace("    nodes: 3", "    nodes: 0");
    let diagnostics = errors_of(&text);
    let fields: Vec<&str> = diagnostics.iter().map(|d| d.field.as_str()).collect();
    for field in ["spec.seed", "spec.duration", "spec.cluster.nodes"] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
}

#[test]
fn b42_unreadable_file() {
    let diagnostics = load(Path::new("/nonexistent/poolsim/scenario.yaml")).unwrap_err();
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics[0]
        .to_string()
        .starts_with("error: /nonexistent/poolsim/scenario.yaml: cannot read the scenario file"));
}

#[test]
fn a_scale_event_without_any_pool_says_the_scenario_defines_none() {
    let text = b"apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata: {name: no-pool}
spec:
  duration: 10m
  cluster: {nodes: 1}
  events:
    - {at: 1m, scale: {pool: web, replicas: 2}}
";
    let errors = poolsim::sim::prepare_bytes(text, std::path::Path::new("no-pool.yaml"))
        .err()
        .expect("a scale of a pool that does not exist is an error");
    let message = errors
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(message.contains("no-pool.yaml:8:"), "{message}");
    assert!(message.contains("events[0].scale.pool"), "{message}");
    assert!(
        message.contains("the scenario defines no VirtualMachinePool"),
        "{message}"
    );
}
