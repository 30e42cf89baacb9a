//! Generated scenarios over the lab05 manifests: random events of every action kind
//! (DESIGN.md §1.2) at random times, random seeds, every built-in algorithm, run with
//! the invariants checked after every event (`RunOptions::check_invariants`; a broken
//! invariant panics with the time and what broke). The run must finish, and its
//! timeseries must be consistent with itself.

use poolsim::check::run_prepared;
use poolsim::sim::{prepare, RunOptions};
use proptest::prelude::*;
use std::path::Path;

const POOL: &str = "lab05-webserver";
const NODES: usize = 3;

fn node_ref() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..NODES).prop_map(|i| format!("{{node: node-{i}}}")),
        (0..4usize).prop_map(|i| format!("{{nodeOf: {POOL}-{i}}}")),
    ]
}

/// One event's action, as written in a scenario file.
fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..5u32).prop_map(|r| format!("scale: {{pool: {POOL}, replicas: {r}}}")),
        node_ref().prop_map(|n| format!("partitionNode: {n}")),
        node_ref().prop_map(|n| format!("healNode: {n}")),
        node_ref().prop_map(|n| format!("crashNode: {n}")),
        node_ref().prop_map(|n| format!("recoverNode: {n}")),
        node_ref().prop_map(|n| format!("fenceNode: {n}")),
        (0..4usize).prop_map(|i| format!("killGuest: {{vm: {POOL}-{i}}}")),
        (0..4usize).prop_map(|i| format!("detachVm: {{vm: {POOL}-{i}}}")),
        (0..40u32, 0..3u32).prop_map(|(tenths, ramp)| format!(
            "setLoad: {{cores: {}, rampOver: {ramp}m}}",
            f64::from(tenths) / 10.0
        )),
        (0..5u32).prop_map(|r| format!(
            "patch: {{kind: VirtualMachinePool, name: {POOL}, mergePatch: {{spec: {{replicas: {r}}}}}}}"
        )),
        Just(format!("delete: {{kind: Service, name: {POOL}}}")),
        Just(format!("delete: {{kind: VirtualMachinePool, name: {POOL}}}")),
        Just(format!("delete: {{kind: HorizontalPodAutoscaler, name: {POOL}}}")),
        Just(
            "apply: {apiVersion: v1, kind: ConfigMap, metadata: {name: extra}, data: {a: b}}"
                .to_string()
        ),
    ]
}

#[derive(Debug, Clone)]
struct Generated {
    seed: u64,
    algorithm: &'static str,
    duration_min: u64,
    with_hpa: bool,
    replicas: u32,
    events: Vec<(u64, String)>,
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        any::<u64>(),
        prop::sample::select(poolsim::algorithm::builtin_names().to_vec()),
        10u64..=20,
        any::<bool>(),
        1u32..=3,
        prop::collection::vec((0u64..1200, action()), 0..10),
    )
        .prop_map(
            |(seed, algorithm, duration_min, with_hpa, replicas, events)| Generated {
                seed,
                algorithm,
                duration_min,
                with_hpa,
                replicas,
                events,
            },
        )
}

fn scenario_yaml(g: &Generated) -> String {
    let mut text = format!(
        "apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata:
  name: generated
spec:
  seed: {seed}
  duration: {duration}m
  sampleInterval: 10s
  algorithm: {algorithm}
  namespace: lab-user
  placeholders:
    username: user
  cluster:
    nodes: {NODES}
  manifestFiles:
    - lab05/cluster-storage.yaml
    - lab05/secret_lab05-cloudinit.yaml
    - lab05/vmpool_lab05-webserver.yaml
    - lab05/svc_lab05-webserver.yaml
{hpa}  load:
    - {{at: 0s, cores: 0.5}}
  events:
    - {{at: 0s, scale: {{pool: {POOL}, replicas: {replicas}}}}}
",
        seed = g.seed,
        duration = g.duration_min,
        algorithm = g.algorithm,
        replicas = g.replicas,
        hpa = if g.with_hpa {
            "    - lab05/hpa_lab05-webserver.yaml\n"
        } else {
            ""
        },
    );
    for (at_s, action) in &g.events {
        text.push_str(&format!("    - {{at: {at_s}s, {action}}}\n"));
    }
    text
}

fn run(g: &Generated) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let lab05 = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lab05");
    std::fs::create_dir(dir.path().join("lab05")).unwrap();
    for entry in std::fs::read_dir(lab05).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            dir.path().join("lab05").join(entry.file_name()),
        )
        .unwrap();
    }
    let path = dir.path().join("generated.yaml");
    let yaml = scenario_yaml(g);
    std::fs::write(&path, &yaml).unwrap();
    let prepared = match prepare(&path) {
        Ok(prepared) => prepared,
        Err(diagnostics) => {
            let text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            return Err(TestCaseError::fail(format!(
                "a generated scenario was refused:\n{}\n{yaml}",
                text.join("\n")
            )));
        }
    };
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    let result = run_prepared(&prepared, &options).map_err(TestCaseError::fail)?;
    let rows = &result.world.samples.rows;
    prop_assert!(!rows.is_empty());
    prop_assert_eq!(rows.last().unwrap().time.as_ms(), g.duration_min * 60_000);
    for pair in rows.windows(2) {
        prop_assert!(pair[0].time < pair[1].time, "rows out of time order");
    }
    // Fencing a node that still runs is a split brain (docs/FIDELITY.md §15): the old
    // guest keeps running beside its VM's restart, so guests may outnumber VMs
    // created; the run says so with a FencedWhileRunning event, and the model's own
    // invariants (checked above) exempt exactly those guests.
    let split_brain = result
        .world
        .events
        .rows
        .iter()
        .any(|row| row.reason == "FencedWhileRunning");
    for row in rows {
        prop_assert_eq!(
            row.overshoot,
            (row.guests_running - row.desired_replicas).max(0),
            "overshoot at {}",
            row.time
        );
        prop_assert!(split_brain || row.guests_running as u64 <= result.summary.vms_created);
        prop_assert!(
            row.vms_ready <= row.vms_total,
            "more ready than VMs at {}",
            row.time
        );
        prop_assert!(row.vmis_unknown >= 0 && row.pvcs_bound >= 0);
    }
    prop_assert_eq!(
        result.summary.max_overshoot,
        rows.iter().map(|r| r.overshoot).max().unwrap()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn generated_scenarios_keep_every_invariant(g in generated()) {
        run(&g)?;
    }
}
