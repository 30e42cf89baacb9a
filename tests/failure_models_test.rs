//! Random node failure models (`spec.failures`, issue 14 item 5): the pure expander's
//! distributions and event sequences, the shipped month of failures swept over seeds
//! (the same bytes at any `--jobs`, every expectation held), and bad failure specs
//! refused with file:line:column and what is valid (exit 2).

mod common;
use common::{poolsim, poolsim_ok};
use poolsim::cluster::world::{ClusterAction, NodeTarget};
use poolsim::engine::{RngStreams, SimTime};
use poolsim::scenario::failures::{expand, expand_all, outages, Distribution, FailureKind};
use poolsim::scenario::{load_str, Scenario};
use std::collections::BTreeMap;
use std::path::Path;

const MONTH: &str = "scenarios/lab05-random-failures-month.yaml";
const MONTH_NAME: &str = "lab05-random-failures-month";
const DAY_MS: u64 = 86_400_000;

/// A scenario of `nodes` nodes for `duration` with `failures` (YAML list items).
fn scenario_text(nodes: &str, duration: &str, failures: &str) -> String {
    format!(
        "apiVersion: poolsim.io/v1alpha1\nkind: Scenario\nmetadata: {{name: f}}\nspec:\n  duration: {duration}\n  cluster:\n    nodes: {nodes}\n  failures:\n{failures}"
    )
}

fn load(text: &str) -> Scenario {
    load_str(text, Path::new("failures.yaml"))
        .unwrap_or_else(|d| panic!("{d:#?}"))
        .scenario
}

fn node_of(action: &ClusterAction) -> &str {
    match action {
        ClusterAction::CrashNode(NodeTarget::Node(n))
        | ClusterAction::RecoverNode(NodeTarget::Node(n))
        | ClusterAction::FenceNode(NodeTarget::Node(n))
        | ClusterAction::UnfenceNode(NodeTarget::Node(n))
        | ClusterAction::PartitionNode(NodeTarget::Node(n))
        | ClusterAction::HealNode(NodeTarget::Node(n)) => n,
        other => panic!("not a node event by name: {other:?}"),
    }
}

#[test]
fn fixed_times_give_the_exact_sequence_with_fence_and_unfence() {
    let scenario = load(&scenario_text(
        "2",
        "30d",
        "    - {kind: crash, nodes: [node-1], timeToFailure: {fixed: 10d}, timeToRepair: {fixed: 1d}, fenceAfter: 5m}\n",
    ));
    let events = expand(
        &scenario.failures[0],
        &scenario.nodes,
        scenario.duration_ms,
        &RngStreams::new(0),
    );
    let node = || NodeTarget::Node("node-1".into());
    let fence_ms = 5 * 60_000;
    assert_eq!(
        events,
        vec![
            (SimTime(10 * DAY_MS), ClusterAction::CrashNode(node())),
            (
                SimTime(10 * DAY_MS + fence_ms),
                ClusterAction::FenceNode(node())
            ),
            (SimTime(11 * DAY_MS), ClusterAction::RecoverNode(node())),
            (SimTime(11 * DAY_MS), ClusterAction::UnfenceNode(node())),
            (SimTime(21 * DAY_MS), ClusterAction::CrashNode(node())),
            (
                SimTime(21 * DAY_MS + fence_ms),
                ClusterAction::FenceNode(node())
            ),
            (SimTime(22 * DAY_MS), ClusterAction::RecoverNode(node())),
            (SimTime(22 * DAY_MS), ClusterAction::UnfenceNode(node())),
        ]
    );
}

#[test]
fn a_node_repaired_before_the_fence_delay_is_not_fenced() {
    let scenario = load(&scenario_text(
        "1",
        "3d",
        "    - {kind: crash, timeToFailure: {fixed: 1d}, timeToRepair: {fixed: 10m}, fenceAfter: 10m}\n",
    ));
    let events = expand_all(
        &scenario.failures,
        &scenario.nodes,
        scenario.duration_ms,
        &RngStreams::new(0),
    );
    let names: Vec<&str> = events
        .iter()
        .map(|(_, action)| match action {
            ClusterAction::CrashNode(_) => "crash",
            ClusterAction::RecoverNode(_) => "recover",
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    // Failures at 1d, 2d+10m; the third would be at 3d+20m, after the end.
    assert_eq!(names, ["crash", "recover", "crash", "recover"]);
}

/// Exponential failures with a 1 ms repair are a Poisson process: over 500 node-months
/// at a mean of 1 day the count per node has mean and variance 30.
#[test]
fn exponential_failure_counts_are_poisson() {
    let scenario = load(&scenario_text(
        "500",
        "30d",
        "    - {kind: crash, timeToFailure: {exponential: {mean: 1d}}, timeToRepair: {fixed: 1ms}}\n",
    ));
    let drawn = outages(
        &scenario.failures[0],
        &scenario.nodes,
        scenario.duration_ms,
        &RngStreams::new(42),
    );
    let mut per_node: BTreeMap<&str, f64> = BTreeMap::new();
    for outage in &drawn {
        *per_node.entry(&outage.node).or_default() += 1.0;
    }
    assert_eq!(per_node.len(), 500, "every node fails at least once");
    let counts: Vec<f64> = per_node.values().copied().collect();
    let mean = counts.iter().sum::<f64>() / 500.0;
    let variance = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / 499.0;
    // Standard error of the mean: sqrt(30 / 500) = 0.245; 4 of them.
    assert!((mean - 30.0).abs() < 1.0, "mean {mean}");
    // The sample variance of 500 Poisson(30) counts has a standard error near 1.9.
    assert!((variance - 30.0).abs() < 8.0, "variance {variance}");
}

/// Weibull repair times by inverse CDF: median `scale * ln2^(1/shape)` and, for shape
/// 2, mean `scale * Γ(1.5)` (0.8862).
#[test]
fn weibull_draws_have_the_right_median_and_mean() {
    let weibull = Distribution::Weibull {
        shape: 2.0,
        scale_ms: 4.0 * 3_600_000.0,
    };
    let mut rng = RngStreams::new(5).stream("weibull-test");
    let mut draws: Vec<u64> = (0..20_000).map(|_| weibull.sample_ms(&mut rng)).collect();
    draws.sort_unstable();
    let median = draws[10_000] as f64;
    let mean = draws.iter().sum::<u64>() as f64 / draws.len() as f64;
    let expected_median = weibull.median_ms();
    assert!(
        (expected_median - 11_988_000.0).abs() < 1_000.0,
        "{expected_median}"
    );
    assert!(
        (median / expected_median - 1.0).abs() < 0.02,
        "median {median}"
    );
    let expected_mean = 4.0 * 3_600_000.0 * 0.886_227;
    assert!((mean / expected_mean - 1.0).abs() < 0.02, "mean {mean}");
}

#[test]
fn streams_are_per_process_and_node() {
    let one = scenario_text(
        "3",
        "30d",
        "    - {name: crashes, kind: crash, timeToFailure: {exponential: {mean: 5d}}, timeToRepair: {fixed: 1h}}\n",
    );
    let two = format!(
        "{one}    - {{name: blips, kind: partition, timeToFailure: {{exponential: {{mean: 2d}}}}, timeToRepair: {{fixed: 5m}}}}\n"
    );
    let (one, two) = (load(&one), load(&two));
    let streams = RngStreams::new(9);
    let crashes_alone = outages(&one.failures[0], &one.nodes, one.duration_ms, &streams);
    let crashes_beside = outages(&two.failures[0], &two.nodes, two.duration_ms, &streams);
    assert_eq!(
        crashes_alone, crashes_beside,
        "adding a process shifts nothing"
    );
    let first_of = |node: &str| {
        crashes_alone
            .iter()
            .find(|o| o.node == node)
            .map(|o| o.start_ms)
    };
    assert_ne!(first_of("node-0"), first_of("node-1"), "nodes draw apart");
    let other_seed = outages(
        &one.failures[0],
        &one.nodes,
        one.duration_ms,
        &RngStreams::new(10),
    );
    assert_ne!(crashes_alone, other_seed, "seeds draw apart");
}

/// Two crash processes on the same nodes: the merged events alternate crash and
/// recover per node (no second crash of a node that is down), and each node's
/// partitions alternate with heals.
#[test]
fn merged_processes_never_fail_a_node_that_is_down() {
    let scenario = load(&scenario_text(
        "4",
        "30d",
        "    - {name: a, kind: crash, timeToFailure: {exponential: {mean: 1d}}, timeToRepair: {exponential: {mean: 12h}}, fenceAfter: 1h}\n    - {name: b, kind: crash, timeToFailure: {weibull: {shape: 0.7, scale: 1d}}, timeToRepair: {fixed: 6h}}\n    - {name: c, kind: partition, timeToFailure: {exponential: {mean: 2d}}, timeToRepair: {fixed: 30m}}\n",
    ));
    for seed in 0..20 {
        let events = expand_all(
            &scenario.failures,
            &scenario.nodes,
            scenario.duration_ms,
            &RngStreams::new(seed),
        );
        assert!(events.windows(2).all(|pair| pair[0].0 <= pair[1].0));
        let mut crashed: BTreeMap<&str, bool> = BTreeMap::new();
        let mut partitioned: BTreeMap<&str, bool> = BTreeMap::new();
        let mut fenced: BTreeMap<&str, bool> = BTreeMap::new();
        for (at, action) in &events {
            let node = node_of(action);
            fn flag<'e>(map: &mut BTreeMap<&'e str, bool>, node: &'e str) -> bool {
                *map.entry(node).or_default()
            }
            match action {
                ClusterAction::CrashNode(_) => {
                    assert!(
                        !flag(&mut crashed, node),
                        "seed {seed}: {node} crashes twice at {at}"
                    );
                    crashed.insert(node, true);
                }
                ClusterAction::RecoverNode(_) => {
                    assert!(
                        flag(&mut crashed, node),
                        "seed {seed}: {node} recovers while up"
                    );
                    crashed.insert(node, false);
                }
                ClusterAction::FenceNode(_) => {
                    assert!(
                        flag(&mut crashed, node),
                        "seed {seed}: {node} fenced while up"
                    );
                    fenced.insert(node, true);
                }
                ClusterAction::UnfenceNode(_) => {
                    assert!(
                        flag(&mut fenced, node) && !flag(&mut crashed, node),
                        "seed {seed}: {node}"
                    );
                    fenced.insert(node, false);
                }
                ClusterAction::PartitionNode(_) => {
                    assert!(
                        !flag(&mut partitioned, node),
                        "seed {seed}: {node} partitioned twice"
                    );
                    partitioned.insert(node, true);
                }
                ClusterAction::HealNode(_) => {
                    assert!(
                        flag(&mut partitioned, node),
                        "seed {seed}: {node} heals while connected"
                    );
                    partitioned.insert(node, false);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

#[test]
fn selectors_pick_nodes_by_label() {
    let text = "apiVersion: poolsim.io/v1alpha1\nkind: Scenario\nmetadata: {name: f}\nspec:\n  duration: 30d\n  cluster:\n    nodes:\n      - {name: a, labels: {rack: r1}}\n      - {name: b, labels: {rack: r2}}\n      - {name: c, labels: {rack: r1}}\n  failures:\n    - {kind: partition, nodes: {matchLabels: {rack: r1}}, timeToFailure: {fixed: 1d}, timeToRepair: {fixed: 1h}}\n";
    let scenario = load(text);
    assert_eq!(scenario.failures[0].kind, FailureKind::Partition);
    let drawn = outages(
        &scenario.failures[0],
        &scenario.nodes,
        scenario.duration_ms,
        &RngStreams::new(0),
    );
    let mut nodes: Vec<&str> = drawn.iter().map(|o| o.node.as_str()).collect();
    nodes.dedup();
    assert_eq!(nodes, ["a", "c"]);
}

fn sweep_files(out: &Path, jobs: &str) -> Vec<(String, Vec<u8>)> {
    poolsim_ok(&[
        "sweep",
        MONTH,
        "--seeds",
        "3",
        "--jobs",
        jobs,
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    let dir = out.join(MONTH_NAME).join("sweep");
    let mut files: Vec<(String, Vec<u8>)> = ["sweep.csv", "percentiles.csv", "band.csv"]
        .iter()
        .map(|name| (name.to_string(), std::fs::read(dir.join(name)).unwrap()))
        .collect();
    files.sort();
    files
}

/// The shipped month: a sweep gives the same bytes at 1 and 2 jobs, the seeds differ
/// from each other, and every seed holds the scenario's expectations.
#[test]
fn the_month_sweep_is_deterministic_and_holds_its_expectations() {
    let tmp = tempfile::tempdir().unwrap();
    let one = sweep_files(&tmp.path().join("one"), "1");
    let two = sweep_files(&tmp.path().join("two"), "2");
    assert_eq!(one, two, "--jobs changed the bytes");
    let sweep_csv = String::from_utf8(one[2].1.clone()).unwrap();
    let mut lines = sweep_csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<f64>> = lines
        .map(|line| {
            line.split(',')
                .map(|v| v.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row[column("max_overshoot")], 0.0);
        assert_eq!(row[column("vms_created")], 8.0);
        let under = row[column("minutes_under_ready")];
        // Random crashes do cost readiness, but far less than a month.
        assert!(under > 0.0 && under <= 600.0, "minutes under ready {under}");
    }
    let events: Vec<f64> = rows.iter().map(|r| r[column("events_processed")]).collect();
    assert!(
        events[0] != events[1] || events[1] != events[2],
        "{events:?}"
    );
    // `check` on the same file: its expectations hold for the scenario's seed.
    let out = tmp.path().join("check");
    poolsim_ok(&["check", MONTH, "--out", out.to_str().unwrap()]);
}

/// The generated events reach the run: the event log has each kind, and the same seed
/// gives the same log.
#[test]
fn a_run_logs_the_generated_node_events() {
    let tmp = tempfile::tempdir().unwrap();
    let mut logs = Vec::new();
    for name in ["a", "b"] {
        let out = tmp.path().join(name);
        poolsim_ok(&["run", MONTH, "--seed", "3", "--out", out.to_str().unwrap()]);
        logs.push(std::fs::read_to_string(out.join(MONTH_NAME).join("events.csv")).unwrap());
    }
    assert_eq!(logs[0], logs[1]);
    for reason in [
        ",crashNode,",
        ",fenceNode,",
        ",recoverNode,",
        ",unfenceNode,",
        ",partitionNode,",
        ",healNode,",
    ] {
        assert!(logs[0].contains(reason), "no {reason} in the event log");
    }
}

/// `poolsim validate` on `failures` (YAML list items) in a 3-node scenario: exit 2,
/// and stderr holds each of `expected`.
fn refused(failures: &str, expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bad.yaml");
    std::fs::write(&path, scenario_text("3", "30d", failures)).unwrap();
    let output = poolsim(&["validate", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{failures}\n{stderr}");
    for needle in expected {
        assert!(
            stderr.contains(needle),
            "{failures}\nmissing {needle:?} in\n{stderr}"
        );
    }
}

#[test]
fn bad_failure_specs_are_refused_with_their_position() {
    refused(
        "    - {kind: crash, timeToFailure: {exponentail: {mean: 30d}}, timeToRepair: {fixed: 1h}}\n",
        &["bad.yaml:9:37: spec.failures[0].timeToFailure.exponentail: unknown field", "did you mean \"exponential\"?"],
    );
    refused(
        "    - {kind: crash, timeToFailure: {exponential: {mean: 0s}}, timeToRepair: {fixed: 1h}}\n",
        &["bad.yaml:9:", "timeToFailure.exponential.mean: expected a duration greater than 0s"],
    );
    refused(
        "    - {kind: crash, timeToFailure: {weibull: {shape: 0, scale: 30d}}, timeToRepair: {fixed: 1h}}\n",
        &["timeToFailure.weibull.shape: expected a number greater than 0"],
    );
    refused(
        "    - {kind: crash, timeToFailure: {fixed: 1d, weibull: {shape: 1, scale: 1d}}, timeToRepair: {fixed: 1h}}\n",
        &["give exactly one distribution", "{exponential: {mean: 30d}}"],
    );
    refused(
        "    - {kind: crash, nodes: [node-1, nod-2], timeToFailure: {fixed: 1d}, timeToRepair: {fixed: 1h}}\n",
        &["spec.failures[0].nodes[1]: no node named \"nod-2\" in spec.cluster", "did you mean \"node-2\"?"],
    );
    refused(
        "    - {kind: crash, nodes: {matchLabels: {rack: r9}}, timeToFailure: {fixed: 1d}, timeToRepair: {fixed: 1h}}\n",
        &["spec.failures[0].nodes: this selects no node of spec.cluster"],
    );
    refused(
        "    - {kind: partition, timeToFailure: {fixed: 1d}, timeToRepair: {fixed: 1h}, fenceAfter: 5m}\n",
        &["spec.failures[0].fenceAfter: fenceAfter applies to kind: crash only"],
    );
    refused(
        "    - {kind: explode, timeToFailure: {fixed: 1d}, timeToRepair: {fixed: 1h}}\n",
        &["spec.failures[0].kind: unknown value \"explode\"; valid: crash, partition"],
    );
    refused(
        "    - {name: x, kind: crash, timeToFailure: {fixed: 1d}, timeToRepair: {fixed: 1h}}\n    - {name: x, kind: partition, timeToFailure: {fixed: 1d}, timeToRepair: {fixed: 1h}}\n",
        &["bad.yaml:10:7: spec.failures[1].name: failure process name \"x\" is already used by spec.failures[0]"],
    );
    refused(
        "    - {kind: crash, timeToFailure: {exponential: {mean: 1s}}, timeToRepair: {fixed: 1s}}\n",
        &["more than poolsim's limit of 100000 (MAX_FAILURE_OUTAGES"],
    );
    refused(
        "    - {kind: crash, timeToFailure: {fixed: 1d}}\n",
        &["spec.failures[0].timeToRepair: missing required field"],
    );
    refused(
        "    - {kind: crash, timeToFailure: {fixed: 1d}, timeToRepair: {fixed: 1h}, fenceAftr: 5m}\n",
        &["unknown field \"fenceAftr\"; did you mean \"fenceAfter\"?"],
    );
}

#[test]
fn an_explicit_event_on_a_failing_node_is_warned() {
    let text = format!(
        "{}  events:\n    - {{at: 1h, crashNode: {{node: node-0}}}}\n",
        scenario_text(
            "2",
            "1d",
            "    - {kind: crash, nodes: [node-0], timeToFailure: {fixed: 2d}, timeToRepair: {fixed: 1h}}\n"
        )
    );
    let loaded = load_str(&text, Path::new("w.yaml")).unwrap_or_else(|d| panic!("{d:#?}"));
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("spec.events[0].crashNode")
                && w.contains("also fails at random (spec.failures[0], crash)")),
        "{warnings:#?}"
    );
}

/// Every key the decoder accepts under `spec.failures` is in `poolsim schema`.
#[test]
fn the_schema_names_every_failure_key() {
    let schema: serde_json::Value =
        serde_json::from_slice(&poolsim_ok(&["schema"]).stdout).expect("JSON");
    let item = &schema["properties"]["spec"]["properties"]["failures"]["items"]["properties"];
    for key in [
        "name",
        "kind",
        "nodes",
        "timeToFailure",
        "timeToRepair",
        "fenceAfter",
    ] {
        assert!(item[key].is_object(), "{key}");
    }
    for key in ["exponential", "weibull", "fixed"] {
        assert!(item["timeToRepair"]["properties"][key].is_object(), "{key}");
    }
    let weibull = &item["timeToFailure"]["properties"]["weibull"]["properties"];
    assert!(weibull["shape"].is_object() && weibull["scale"].is_object());
}
