//! `uncontrolled_overshoot` (issue 13, item 1): the guests beyond desired that the
//! control plane is not stopping, beside `overshoot`, which also counts a scale-in's
//! graceful shutdowns. Runs shipped and inline scenarios (with the invariant checker
//! on) and the CLI: the column, the summary metrics, the plot legend, the `compare`
//! gate, sweep percentiles and the schema.

mod common;
use common::{at, poolsim, poolsim_ok, rows};
use poolsim::check::{run_prepared, RunResult};
use poolsim::output::record::Sample;
use poolsim::sim::{prepare, RunOptions};
use std::path::{Path, PathBuf};

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn run_file(path: &Path) -> RunResult {
    let prepared = prepare(path).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    run_prepared(&prepared, &options).expect("runs")
}

fn run_shipped(relative: &str) -> RunResult {
    run_file(&repo_path(relative))
}

/// Every row: the uncontrolled part never exceeds the overshoot it is part of.
fn assert_within_overshoot(rows: &[Sample]) {
    for row in rows {
        assert!(
            (0..=row.overshoot).contains(&row.uncontrolled_overshoot),
            "at {} s: uncontrolled {} outside 0..=overshoot {}",
            row.time.as_secs_f64(),
            row.uncontrolled_overshoot,
            row.overshoot
        );
    }
}

#[test]
fn a_scale_in_is_overshoot_but_not_uncontrolled() {
    let result = run_shipped("scenarios/fidelity/scale-in-is-not-uncontrolled-overshoot.yaml");
    let rows = rows(&result);
    assert_within_overshoot(rows);
    // 5 -> 1: four guests shut down gracefully while desired is already 1.
    assert_eq!(result.summary.max_overshoot, 4);
    assert!(result.summary.overshoot_vm_minutes > 0.0);
    assert_eq!(result.summary.max_uncontrolled_overshoot, 0);
    assert_eq!(result.summary.uncontrolled_overshoot_vm_minutes, 0.0);
    assert_eq!(at(rows, 19 * 60).guests_running, 1);
}

#[test]
fn the_hpa_wave_scale_down_is_not_uncontrolled() {
    // The lab's HPA goes 5 -> 2 at the end of the wave: the three guests' graceful
    // shutdowns show as overshoot in the samples that fall inside them (+2 at the
    // 5 s grid since the HPA syncs on its own loop, 50 ms after the scrape).
    let result = run_shipped("scenarios/lab05-hpa-load-wave.yaml");
    assert_within_overshoot(rows(&result));
    assert!(result.summary.max_overshoot >= 2);
    assert_eq!(result.summary.max_uncontrolled_overshoot, 0);
}

#[test]
fn a_partition_under_vmirs_is_uncontrolled_until_the_node_heals() {
    let result = run_shipped("scenarios/lab05-node-partition-vmirs.yaml");
    let rows = rows(&result);
    assert_within_overshoot(rows);
    // The replacement runs beside the unreachable guest: both measures say 1.
    for minute in 20..30 {
        let row = at(rows, minute * 60);
        assert_eq!(
            (row.overshoot, row.uncontrolled_overshoot),
            (1, 1),
            "{minute}m"
        );
    }
    // Healed at 30m: virt-handler sees the deleted VMI and stops the guest.
    for row in rows.iter().filter(|r| r.time.as_secs_f64() >= 30.0 * 60.0) {
        assert_eq!(row.uncontrolled_overshoot, 0, "at {:?}", row.time);
    }
    let summary = &result.summary;
    assert_eq!(summary.max_uncontrolled_overshoot, 1);
    assert!(summary.uncontrolled_overshoot_vm_minutes > 10.0);
    assert!(summary.uncontrolled_overshoot_vm_minutes <= summary.overshoot_vm_minutes);
}

#[test]
fn the_guest_of_a_detached_vm_is_uncontrolled() {
    let result = run_shipped("scenarios/lab05-detached-vm.yaml");
    assert_within_overshoot(rows(&result));
    assert_eq!(result.summary.max_uncontrolled_overshoot, 1);
    assert!(result.summary.uncontrolled_overshoot_vm_minutes > 5.0);
}

#[test]
fn the_upstream_pool_under_a_partition_has_no_uncontrolled_overshoot() {
    // kubevirt-pool counts the unknown VM: no replacement, so the unreachable guest
    // fills its own place and is no excess.
    let result = run_shipped("scenarios/lab05-node-partition.yaml");
    assert_within_overshoot(rows(&result));
    assert_eq!(result.summary.max_uncontrolled_overshoot, 0);
}

/// Three VMs on three nodes; the node of web-0 is partitioned at 5m and healed at
/// 25m; at 10m the pool is scaled to 0. The two reachable guests are stopped by their
/// virt-handlers; the partitioned one cannot be, although its VM and VMI are deleted.
const SCALE_TO_ZERO_DURING_PARTITION: &str = r#"
apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata: {name: scale-to-zero-during-partition}
spec:
  seed: 5
  duration: 30m
  cluster: {nodes: 3}
  manifests:
    - apiVersion: pool.kubevirt.io/v1beta1
      kind: VirtualMachinePool
      metadata: {name: web}
      spec:
        replicas: 3
        selector: {matchLabels: {kubevirt.io/vmpool: web}}
        virtualMachineTemplate:
          metadata: {labels: {kubevirt.io/vmpool: web}}
          spec:
            runStrategy: Always
            template:
              metadata: {labels: {kubevirt.io/vmpool: web}}
              spec:
                domain:
                  cpu: {cores: 1}
                  devices: {disks: [{name: rootdisk, disk: {bus: virtio}}]}
                  resources: {requests: {memory: 1Gi}}
                volumes:
                  - name: rootdisk
                    containerDisk: {image: quay.io/containerdisks/fedora:latest}
  events:
    - {at: 5m, partitionNode: {nodeOf: web-0}}
    - {at: 10m, scale: {pool: web, replicas: 0}}
    - {at: 25m, healNode: {nodeOf: web-0}}
"#;

#[test]
fn a_deleted_vm_on_an_unreachable_node_is_uncontrolled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scenario.yaml");
    std::fs::write(&path, SCALE_TO_ZERO_DURING_PARTITION).expect("write");
    let result = run_file(&path);
    let rows = rows(&result);
    assert_within_overshoot(rows);
    assert_eq!(at(rows, 9 * 60).uncontrolled_overshoot, 0);
    // From shortly after the scale-in until the heal: one guest nobody can stop.
    for minute in 12..25 {
        let row = at(rows, minute * 60);
        assert_eq!(row.desired_replicas, 0);
        assert_eq!(row.guests_running, 1, "{minute}m");
        assert_eq!(row.uncontrolled_overshoot, 1, "{minute}m");
    }
    let last = rows.last().expect("rows");
    assert_eq!((last.guests_running, last.uncontrolled_overshoot), (0, 0));
    // Right after the scale-in, the two reachable guests shutting down are overshoot,
    // and not uncontrolled.
    let shutting = rows
        .iter()
        .find(|r| r.desired_replicas == 0 && r.guests_running == 3)
        .expect("a sample while the reachable guests shut down");
    assert_eq!(
        (shutting.overshoot, shutting.uncontrolled_overshoot),
        (3, 1)
    );
}

#[test]
fn run_writes_the_column_after_the_contract_columns_and_the_summary_metrics() {
    let out = tempfile::tempdir().expect("tempdir");
    let out_dir = out.path().to_str().expect("utf-8");
    poolsim_ok(&[
        "run",
        "scenarios/lab05-node-partition-vmirs.yaml",
        "--out",
        out_dir,
        "--quiet",
    ]);
    let run = out.path().join("lab05-node-partition-vmirs");
    let csv = std::fs::read_to_string(run.join("timeseries.csv")).expect("csv");
    let header = csv.lines().next().expect("header");
    assert_eq!(
        header,
        "time_s,desired_replicas,hpa_desired_replicas,vms_total,vms_ready,vmis_running,\
         vmis_unknown,guests_running,overshoot,pvcs_bound,cpu_utilization_pct,load_cores,\
         uncontrolled_overshoot"
    );
    let row_25m = csv
        .lines()
        .find(|line| line.starts_with("1500,"))
        .expect("row at 25m");
    assert!(row_25m.ends_with(",1"), "{row_25m}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).expect("json"))
            .expect("summary");
    assert_eq!(summary["max_overshoot"], 1);
    assert_eq!(summary["max_uncontrolled_overshoot"], 1);
    assert!(
        summary["uncontrolled_overshoot_vm_minutes"]
            .as_f64()
            .expect("number")
            > 10.0
    );
    // The legend names both areas, each with its own size.
    let svg = std::fs::read_to_string(run.join("replicas.svg")).expect("svg");
    assert!(
        svg.contains("overshoot: +1 for"),
        "light area in the legend"
    );
    assert!(
        svg.contains("uncontrolled: +1 for"),
        "dark area in the legend"
    );
}

#[test]
fn the_plot_says_when_an_overshoot_is_not_uncontrolled_and_reads_old_csvs() {
    let out = tempfile::tempdir().expect("tempdir");
    let out_dir = out.path().to_str().expect("utf-8");
    poolsim_ok(&[
        "run",
        "scenarios/fidelity/scale-in-is-not-uncontrolled-overshoot.yaml",
        "--out",
        out_dir,
        "--quiet",
    ]);
    let run = out.path().join("scale-in-is-not-uncontrolled-overshoot");
    let svg = std::fs::read_to_string(run.join("replicas.svg")).expect("svg");
    assert!(svg.contains("overshoot: +4 for"));
    assert!(svg.contains("uncontrolled (none)"));

    // A CSV written before the column existed still plots, without the dark area.
    let csv = std::fs::read_to_string(run.join("timeseries.csv")).expect("csv");
    let old: String = csv
        .lines()
        .map(|line| format!("{}\n", line.rsplit_once(',').expect("a column").0))
        .collect();
    let old_dir = out.path().join("old");
    std::fs::create_dir(&old_dir).expect("mkdir");
    std::fs::write(old_dir.join("timeseries.csv"), old).expect("write");
    let csv_path = old_dir.join("timeseries.csv");
    poolsim_ok(&["plot", csv_path.to_str().expect("utf-8")]);
    let svg = std::fs::read_to_string(old_dir.join("replicas.svg")).expect("svg");
    assert!(svg.contains("overshoot: +4 for"));
    assert!(!svg.contains("uncontrolled"));
}

#[test]
fn compare_gates_on_the_uncontrolled_metrics() {
    let out = tempfile::tempdir().expect("tempdir");
    let out_dir = out.path().to_str().expect("utf-8");
    let args = |baseline_first: &str, other: &str| {
        vec![
            "compare".to_string(),
            "scenarios/lab05-node-partition.yaml".to_string(),
            "--algorithms".to_string(),
            format!("{baseline_first},{other}"),
            "--fail-if-worse".to_string(),
            "max_uncontrolled_overshoot:0,uncontrolled_overshoot_vm_minutes".to_string(),
            "--out".to_string(),
            out_dir.to_string(),
            "--quiet".to_string(),
        ]
    };
    let worse = args("kubevirt-pool", "kubevirt-vmirs");
    let output = poolsim(&worse.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        output.status.code(),
        Some(1),
        "vmirs overshoots uncontrolled"
    );
    let printed = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        printed.contains("FAIL kubevirt-vmirs max_uncontrolled_overshoot 1 > limit 0"),
        "{printed}"
    );
    let table = std::fs::read_to_string(
        out.path()
            .join("lab05-node-partition/compare/comparison.csv"),
    )
    .expect("comparison.csv");
    let header = table.lines().next().expect("header");
    assert!(header.ends_with("max_uncontrolled_overshoot,uncontrolled_overshoot_vm_minutes"));

    let better = args("kubevirt-vmirs", "vmirs-fenced");
    let output = poolsim(&better.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        output.status.code(),
        Some(0),
        "the fenced rule never overshoots"
    );
}

#[test]
fn sweep_percentiles_and_the_schema_include_the_metrics() {
    let out = tempfile::tempdir().expect("tempdir");
    let out_dir = out.path().to_str().expect("utf-8");
    poolsim_ok(&[
        "sweep",
        "scenarios/lab05-node-partition-vmirs.yaml",
        "--seeds",
        "2",
        "--jobs",
        "1",
        "--out",
        out_dir,
        "--quiet",
    ]);
    let percentiles = std::fs::read_to_string(
        out.path()
            .join("lab05-node-partition-vmirs/sweep/percentiles.csv"),
    )
    .expect("percentiles.csv");
    let row = percentiles
        .lines()
        .find(|line| line.starts_with("max_uncontrolled_overshoot,"))
        .unwrap_or_else(|| panic!("no percentile row: {percentiles}"));
    // Two seeds with a value; one guest too many on each.
    assert!(
        row.starts_with("max_uncontrolled_overshoot,2,1,1,1"),
        "{row}"
    );
    assert!(percentiles
        .lines()
        .any(|line| line.starts_with("uncontrolled_overshoot_vm_minutes,")));

    let schema = poolsim_ok(&["schema"]);
    let schema = String::from_utf8_lossy(&schema.stdout);
    assert!(schema.contains("\"uncontrolled_overshoot\""));
    assert!(schema.contains("\"max_uncontrolled_overshoot\""));
    assert!(schema.contains("\"uncontrolled_overshoot_vm_minutes\""));
}

#[test]
fn expect_blocks_name_the_column_and_the_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = SCALE_TO_ZERO_DURING_PARTITION.to_string()
        + "  expect:\n\
           \x20   - {column: uncontrolled_overshoot, at: 15m, equals: 1}\n\
           \x20   - {metric: max_uncontrolled_overshoot, equals: 1}\n\
           \x20   - {metric: uncontrolled_overshoot_vm_minutes, atLeast: 10}\n";
    let path = dir.path().join("scenario.yaml");
    std::fs::write(&path, &scenario).expect("write");
    let out = dir.path().join("out");
    poolsim_ok(&[
        "check",
        path.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    // A misspelt name is invalid input, with the valid names.
    let bad = scenario.replace(
        "metric: max_uncontrolled_overshoot,",
        "metric: max_uncontroled_overshoot,",
    );
    std::fs::write(&path, bad).expect("write");
    let output = poolsim(&["validate", path.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("max_uncontrolled_overshoot"), "{stderr}");
}
