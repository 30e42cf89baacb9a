//! The terminal side: the run summary table, shell completions, and `poolsim schema`,
//! checked against the keys the scenario decoder really accepts.

mod common;
use common::poolsim;
use std::path::Path;

#[test]
fn completions_are_printed_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = poolsim(&["completions", shell]);
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(
            script.contains("sweep") && script.contains("compare"),
            "{shell}"
        );
    }
    assert_eq!(poolsim(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn run_prints_an_aligned_table_without_colours_when_piped() {
    let tmp = tempfile::tempdir().unwrap();
    let output = poolsim(&[
        "run",
        "scenarios/lab05-node-partition.yaml",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        !text.contains('\x1b'),
        "no ANSI codes when stdout is not a terminal"
    );
    let value_column = |line: &str| {
        line.find(|c: char| c.is_whitespace())
            .map(|end| end + line[end..].find(|c: char| !c.is_whitespace()).unwrap_or(0))
    };
    let first = text.lines().find(|l| l.starts_with("scenario")).unwrap();
    let metric = text
        .lines()
        .find(|l| l.starts_with("max_overshoot"))
        .unwrap();
    assert_eq!(
        value_column(first),
        value_column(metric),
        "aligned:\n{text}"
    );
    assert!(text.contains("recovery_s"));
    assert!(text.lines().any(|l| l.starts_with("PASS")));

    let quiet = poolsim(&[
        "run",
        "scenarios/lab05-node-partition.yaml",
        "--quiet",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(quiet.stdout.is_empty());
}

fn schema() -> serde_json::Value {
    let output = poolsim(&["schema"]);
    assert!(output.status.success());
    serde_json::from_slice(&output.stdout).expect("the schema is JSON")
}

#[test]
fn schema_is_draft_2020_12_and_names_events() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let spec = &schema["properties"]["spec"]["properties"];
    assert!(spec["events"]["items"]["properties"]["partitionNode"].is_object());
    assert!(spec["expect"].is_object());
}

const BASE: &str = "apiVersion: poolsim.io/v1alpha1\nkind: Scenario\n";

/// The keys the decoder lists as valid when it meets an unknown key in `text`.
fn accepted_keys(text: &str) -> Vec<String> {
    let diagnostics = match poolsim::scenario::spec::load_str(text, Path::new("schema-test.yaml")) {
        Ok(_) => panic!("the unknown key was accepted:\n{text}"),
        Err(diagnostics) => diagnostics,
    };
    let message = diagnostics
        .iter()
        .map(|d| d.message.clone())
        .find(|m| m.contains("unknown field \"zzzUnknown\""))
        .unwrap_or_else(|| panic!("no unknown-field error for\n{text}\n{diagnostics:?}"));
    let list = message.rsplit("valid: ").next().unwrap();
    list.split(", ").map(str::to_string).collect()
}

#[test]
fn schema_names_every_key_the_decoder_accepts() {
    let schema = schema();
    let spec = "/properties/spec/properties";
    let events = format!("{spec}/events/items/properties");
    let cases: Vec<(String, String)> = vec![
        (
            "metadata: {name: s}\nspec: {duration: 1m, cluster: {nodes: 1}}\nzzzUnknown: 1\n".into(),
            "/properties".into(),
        ),
        (
            "metadata: {name: s, zzzUnknown: 1}\nspec: {duration: 1m, cluster: {nodes: 1}}\n".into(),
            "/properties/metadata/properties".into(),
        ),
        (
            "metadata: {name: s}\nspec: {duration: 1m, cluster: {nodes: 1}, zzzUnknown: 1}\n".into(),
            spec.into(),
        ),
        (
            "metadata: {name: s}\nspec: {duration: 1m, cluster: {nodes: 1, zzzUnknown: 1}}\n".into(),
            format!("{spec}/cluster/properties"),
        ),
        (
            "metadata: {name: s}\nspec: {duration: 1m, cluster: {nodes: 1, nodeCapacity: {zzzUnknown: 1}}}\n".into(),
            format!("{spec}/cluster/properties/nodeCapacity/properties"),
        ),
        (
            "metadata: {name: s}\nspec: {duration: 1m, cluster: {nodes: [{name: a, zzzUnknown: 1}]}}\n".into(),
            format!("{spec}/cluster/properties/nodes/anyOf/1/items/properties"),
        ),
        (
            "metadata: {name: s}\nspec: {duration: 1m, cluster: {nodes: 1}, load: [{at: 0s, cores: 1, zzzUnknown: 1}]}\n".into(),
            format!("{spec}/load/items/properties"),
        ),
        (
            "metadata: {name: s}\nspec: {duration: 1m, cluster: {nodes: 1}, expect: [{metric: max_overshoot, atMost: 0, zzzUnknown: 1}]}\n".into(),
            format!("{spec}/expect/items/properties"),
        ),
        (
            "metadata: {name: s}\nspec: {duration: 1m, cluster: {nodes: 1}, events: [{at: 1s, zzzUnknown: 1}]}\n".into(),
            events.clone(),
        ),
    ];
    let mut cases = cases;
    for (action, body) in [
        ("scale", "pool: p, replicas: 1"),
        ("delete", "kind: Service, name: s"),
        ("patch", "kind: Service, name: s, mergePatch: {}"),
        ("killGuest", "vm: v"),
        ("detachVm", "vm: v"),
        ("setLoad", "cores: 1"),
        ("partitionNode", "node: node-0"),
        ("healNode", "node: node-0"),
        ("crashNode", "node: node-0"),
        ("recoverNode", "node: node-0"),
        ("fenceNode", "node: node-0"),
    ] {
        cases.push((
            format!("metadata: {{name: s}}\nspec: {{duration: 1m, cluster: {{nodes: 1}}, events: [{{at: 1s, {action}: {{{body}, zzzUnknown: 1}}}}]}}\n"),
            format!("{events}/{action}/properties"),
        ));
    }
    for (text, pointer) in cases {
        let properties = schema
            .pointer(&pointer)
            .unwrap_or_else(|| panic!("the schema has nothing at {pointer}"));
        let keys = accepted_keys(&format!("{BASE}{text}"));
        assert!(!keys.is_empty());
        for key in keys {
            assert!(
                properties.get(&key).is_some(),
                "the decoder accepts {key:?} but the schema has no {pointer}/{key}"
            );
        }
    }
}
