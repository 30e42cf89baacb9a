//! The HPA end to end: shipped `lab05-hpa-*` scenarios and small scenarios written
//! here, run through `prepare` and `run_prepared`, judged against the HPA's formulas
//! (kubernetes `pkg/controller/podautoscaler/horizontal.go` and `replica_calculator.go`)
//! rather than against copied outputs.

mod common;
use common::{at, rows};
use poolsim::check::{run_prepared, RunResult};
use poolsim::output::files::events_csv;
use poolsim::output::record::Sample;
use poolsim::sim::{prepare, RunOptions};
use std::path::{Path, PathBuf};

/// The seed HPA's target (`targetCPUUtilizationPercentage: 50`).
const TARGET_PCT: f64 = 50.0;
/// `--horizontal-pod-autoscaler-tolerance`.
const TOLERANCE: f64 = 0.1;
/// `--horizontal-pod-autoscaler-downscale-stabilization`.
const DOWNSCALE_WINDOW_S: u64 = 300;
/// `--horizontal-pod-autoscaler-sync-period`.
const SYNC_PERIOD_S: u64 = 15;

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn run_file(path: &Path) -> RunResult {
    let mut prepared = prepare(path).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
    // These tests judge load-driven decisions; a booting guest's CPU (`guestBootCpu`,
    // pinned by tests/hpa_own_loop_test.rs) is taken out, as the lab05-hpa-* scenarios do.
    prepared.settings.guest_boot_cpu = 0.0;
    run_prepared(&prepared, &RunOptions::default()).expect("runs")
}

fn run_shipped(name: &str) -> RunResult {
    run_file(&repo_path(&format!("scenarios/{name}.yaml")))
}

/// Runs a scenario written here, in a temporary folder beside copies of the lab's
/// manifest files (manifest paths must stay inside the scenario's folder).
fn run_text(scenario: &str) -> RunResult {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("lab05")).expect("mkdir");
    for entry in std::fs::read_dir(repo_path("scenarios/lab05")).expect("lab05") {
        let entry = entry.expect("entry");
        std::fs::copy(
            entry.path(),
            dir.path().join("lab05").join(entry.file_name()),
        )
        .expect("copy");
    }
    let path = dir.path().join("scenario.yaml");
    std::fs::write(&path, scenario).expect("write");
    run_file(&path)
}

/// The lab's cluster and pool, with `pool` as the pool manifest file, `hpa` inline
/// under `manifests`, and the given `load`/`events` text.
fn lab_scenario(name: &str, duration: &str, pool: &str, hpa: &str, rest: &str) -> String {
    format!(
        "apiVersion: poolsim.io/v1alpha1
kind: Scenario
metadata:
  name: {name}
spec:
  seed: 1
  duration: {duration}
  namespace: lab-user
  placeholders: {{username: user}}
  cluster: {{nodes: 3, nodeCapacity: {{cpu: \"16\", memory: 64Gi}}}}
  manifestFiles:
    - lab05/cluster-storage.yaml
    - lab05/secret_lab05-cloudinit.yaml
    - lab05/{pool}
    - lab05/svc_lab05-webserver.yaml
  manifests:
{hpa}
{rest}"
    )
}

/// An autoscaling/v1 HPA on the lab's pool, indented for `manifests`.
fn v1_hpa(min: i32, max: i32) -> String {
    format!(
        "    - apiVersion: autoscaling/v1
      kind: HorizontalPodAutoscaler
      metadata: {{name: lab05-webserver}}
      spec:
        minReplicas: {min}
        maxReplicas: {max}
        scaleTargetRef: {{apiVersion: pool.kubevirt.io/v1alpha1, kind: VirtualMachinePool, name: lab05-webserver}}
        targetCPUUtilizationPercentage: 50"
    )
}

fn seconds(row: &Sample) -> u64 {
    row.time.0 / 1000
}

/// Each change of the pool's `spec.replicas`: (time in s, from, to).
fn replica_changes(rows: &[Sample]) -> Vec<(u64, i64, i64)> {
    rows.windows(2)
        .filter(|w| w[0].desired_replicas != w[1].desired_replicas)
        .map(|w| (seconds(&w[1]), w[0].desired_replicas, w[1].desired_replicas))
        .collect()
}

/// `(time_s, message)` of every `SuccessfulRescale` in events.csv.
fn rescale_events(result: &RunResult) -> Vec<(f64, String)> {
    let text = events_csv(&result.world).expect("events");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.expect("record"))
        .filter(|r| &r[1] == "HorizontalPodAutoscaler" && &r[3] == "SuccessfulRescale")
        .map(|r| (r[0].parse().expect("time"), r[4].to_string()))
        .collect()
}

/// `calculateScaleUpLimit` for an HPA without behavior: max(2 × current, 4).
fn legacy_scale_up_limit(current: i64) -> i64 {
    (2 * current).max(4)
}

/// `ceil(ratio × pods)` of `GetResourceReplicas` when all pods have metrics.
fn proposal(pods: i64, utilization_pct: i64) -> i64 {
    (utilization_pct as f64 / TARGET_PCT * pods as f64).ceil() as i64
}

#[test]
fn legacy_scale_up_is_limited_to_twice_the_current_count_each_step() {
    // No CPU request (100m from the allocation ratio) and 4 cores of load: the HPA
    // wants far more than maxReplicas 10, so every step is limited.
    let scenario = lab_scenario(
        "hpa-scale-up-limit",
        "25m",
        "vmpool_lab05-webserver.yaml",
        &v1_hpa(2, 10),
        "  load: [{at: 0s, cores: 4}]\n",
    );
    let result = run_text(&scenario);
    let changes = replica_changes(rows(&result));
    assert!(!changes.is_empty(), "the HPA scaled");
    for &(time, from, to) in &changes {
        assert!(to > from, "only scale-ups at {time}s: {changes:?}");
        assert!(
            to <= legacy_scale_up_limit(from).min(10),
            "{from} -> {to} at {time}s exceeds max(2 x {from}, 4): {changes:?}"
        );
    }
    // The limit binds: some step lands exactly on max(2 × current, 4) below max.
    assert!(
        changes
            .iter()
            .any(|&(_, from, to)| to == legacy_scale_up_limit(from) && to < 10),
        "{changes:?}"
    );
    // At least three steps to get from 2 to 10 (2 -> 4 -> 8 -> 10 at best).
    assert!(changes.len() >= 3, "{changes:?}");
    let last = rows(&result).last().expect("rows");
    assert_eq!(last.desired_replicas, 10, "clamped at maxReplicas");
    assert_eq!(last.hpa_desired_replicas, Some(10));
}

#[test]
fn load_wave_steps_up_holds_five_minutes_then_drops_to_min_replicas() {
    let result = run_shipped("lab05-hpa-load-wave");
    let rows = rows(&result);
    let changes = replica_changes(rows);
    // Up 2 -> 4 -> 5 within the legacy limit, then straight down to minReplicas.
    let ups: Vec<_> = changes.iter().filter(|c| c.2 > c.1).collect();
    assert_eq!(
        ups.iter().map(|c| (c.1, c.2)).collect::<Vec<_>>(),
        vec![(2, 4), (4, 5)]
    );
    for &&(_, from, to) in &ups {
        assert!(to <= legacy_scale_up_limit(from));
    }
    // The first scale-up is what two VMs at their reading ask for.
    let (up_time, _, _) = *ups[0];
    let reading = at(rows, up_time).cpu_utilization_pct.expect("utilization");
    assert_eq!(proposal(2, reading).min(legacy_scale_up_limit(2)), 4);

    // Stabilization: from the first sync that reads the dropped load, the
    // recommendation is 2, but the highest one of the last 5 minutes (5) holds.
    let first_low = rows
        .iter()
        .filter(|r| seconds(r) >= 25 * 60)
        .find(|r| r.cpu_utilization_pct.is_some_and(|u| proposal(5, u) <= 2))
        .expect("a low reading after the drop");
    let low_s = seconds(first_low);
    for row in rows
        .iter()
        .filter(|r| (low_s..low_s + DOWNSCALE_WINDOW_S - SYNC_PERIOD_S).contains(&seconds(r)))
    {
        assert_eq!(row.desired_replicas, 5, "held at {}s", seconds(row));
    }
    let down = changes.iter().find(|c| c.2 < c.1).expect("a scale-down");
    assert_eq!((down.1, down.2), (5, 2), "straight to minReplicas");
    assert!(
        (low_s + DOWNSCALE_WINDOW_S - SYNC_PERIOD_S..=low_s + DOWNSCALE_WINDOW_S + SYNC_PERIOD_S)
            .contains(&down.0),
        "scale-down at {}s, about {DOWNSCALE_WINDOW_S}s after the first low reading at {low_s}s",
        down.0
    );
}

#[test]
fn no_load_settles_at_min_replicas_and_never_below() {
    let scenario = lab_scenario(
        "hpa-no-load",
        "20m",
        "vmpool_lab05-webserver-cpu1.yaml",
        &v1_hpa(2, 5),
        "  events:\n    - {at: 0s, scale: {pool: lab05-webserver, replicas: 4}}\n",
    );
    let result = run_text(&scenario);
    let rows = rows(&result);
    // Idle guests: 0.02 cores of a 1005m request (1 core + the console log's 5m):
    // 1.99%, which the HPA's integer arithmetic makes 1%.
    assert_eq!(at(rows, 10 * 60).cpu_utilization_pct, Some(1));
    assert!(rows
        .iter()
        .filter(|r| seconds(r) > 0)
        .all(|r| r.desired_replicas >= 2));
    // The first sync records 4 as a recommendation, which holds the count for the
    // stabilization window; then minReplicas.
    assert_eq!(at(rows, 4 * 60).desired_replicas, 4);
    let last = rows.last().expect("rows");
    assert_eq!(last.desired_replicas, 2);
    assert_eq!(last.vms_ready, 2);
}

#[test]
fn load_far_above_the_target_stays_at_max_replicas() {
    let result = run_shipped("lab05-hpa-no-cpu-request");
    let rows = rows(&result);
    assert!(rows.iter().all(|r| r.desired_replicas <= 5));
    assert!(rows
        .iter()
        .all(|r| r.hpa_desired_replicas.unwrap_or(0) <= 5));
    // Three cores over five VMs with a 100m request: the HPA wants far more than 5.
    let busy = at(rows, 20 * 60);
    let reading = busy.cpu_utilization_pct.expect("utilization");
    assert!(proposal(5, reading) > 5, "{reading}%");
    assert_eq!(busy.desired_replicas, 5);
    assert_eq!(busy.hpa_desired_replicas, Some(5));
}

#[test]
fn the_default_cpu_request_reads_ten_times_the_utilization_of_a_full_core() {
    let explicit = run_shipped("lab05-hpa-load-wave");
    let implicit = run_shipped("lab05-hpa-no-cpu-request");
    // Same load (0.2 cores), both on two VMs at 3m30s-4m: 1005m vs 105m requested
    // (compute container + the guest-console-log's 5m).
    let time_s = 4 * 60;
    let full_core = at(rows(&explicit), time_s);
    let default_request = at(rows(&implicit), time_s);
    assert_eq!(full_core.desired_replicas, 2);
    assert_eq!(default_request.vms_ready, 2);
    let implicit_pct = default_request.cpu_utilization_pct.expect("implicit") as f64;
    let explicit_pct = full_core.cpu_utilization_pct.expect("explicit") as f64;
    // Both readings are truncated to whole percent, so compare within one point.
    let scaled = implicit_pct * 105.0 / 1005.0;
    assert!(
        (scaled - explicit_pct).abs() <= 1.0,
        "{implicit_pct}% with 105m should be 1005/105 times {explicit_pct}% with 1005m"
    );
}

#[test]
fn utilization_within_tolerance_changes_nothing() {
    // Three VMs with a full core each and 1.5 cores: 52%, ratio 1.04. Without the
    // tolerance, ceil(1.04 × 3) = 4.
    let scenario = lab_scenario(
        "hpa-tolerance",
        "15m",
        "vmpool_lab05-webserver-cpu1.yaml",
        &v1_hpa(2, 5),
        "  load: [{at: 0s, cores: 1.5}]
  events:
    - {at: 0s, scale: {pool: lab05-webserver, replicas: 3}}\n",
    );
    let result = run_text(&scenario);
    let rows = rows(&result);
    let steady: Vec<&Sample> = rows.iter().filter(|r| seconds(r) >= 6 * 60).collect();
    assert!(!steady.is_empty());
    for row in steady {
        let reading = row.cpu_utilization_pct.expect("utilization");
        let ratio = reading as f64 / TARGET_PCT;
        assert!((ratio - 1.0).abs() <= TOLERANCE, "{reading}%");
        assert_ne!(proposal(3, reading), 3, "the tolerance is what holds");
        assert_eq!(row.desired_replicas, 3, "at {}s", seconds(row));
    }
    assert!(rescale_events(&result).is_empty());
}

#[test]
fn partition_missing_metrics_hold_then_eviction_scales_up() {
    let result = run_shipped("lab05-hpa-partition");
    let rows = rows(&result);
    let partition_s = 10 * 60;
    let eviction_s = partition_s + 45 + 300; // NotReady after the grace period, then tolerationSeconds.
                                             // Before: three VMs, 52%, within tolerance.
    assert_eq!(at(rows, partition_s - 5).desired_replicas, 3);
    // Node NotReady: one VM not ready; its pod has no metric. The other two read u%,
    // and the missing pod counts 0% on a scale-up: (2u + 0) / 3 against the target.
    let during = at(rows, partition_s + 120);
    assert_eq!(during.vms_ready, 2);
    let reading = during.cpu_utilization_pct.expect("utilization") as f64;
    assert!(
        reading / TARGET_PCT > 1.0 + TOLERANCE,
        "two pods alone would scale up"
    );
    let with_missing = 2.0 * reading / 3.0 / TARGET_PCT;
    assert!(
        (with_missing - 1.0).abs() <= TOLERANCE,
        "{with_missing}: within tolerance, so no change"
    );
    for row in rows
        .iter()
        .filter(|r| (partition_s..eviction_s).contains(&seconds(r)))
    {
        assert_eq!(row.desired_replicas, 3, "held at {}s", seconds(row));
    }
    // Evicted: a terminating pod is not counted at all; the two left give the count.
    let expected = proposal(2, reading as i64);
    let scaled = replica_changes(rows)
        .into_iter()
        .find(|c| c.0 >= partition_s)
        .expect("a change after the partition");
    assert!(
        (eviction_s..=eviction_s + 2 * SYNC_PERIOD_S).contains(&scaled.0),
        "{scaled:?}"
    );
    assert_eq!((scaled.1, scaled.2), (3, expected));
    let last = rows.last().expect("rows");
    assert_eq!(last.desired_replicas, expected);
    assert_eq!(last.vms_ready, expected);
}

#[test]
fn rescale_events_read_like_kubectl_describe_hpa() {
    let result = run_shipped("lab05-hpa-load-wave");
    let events = rescale_events(&result);
    let messages: Vec<&str> = events.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "New size: 4; reason: cpu resource utilization (percentage of request) above target",
            "New size: 5; reason: cpu resource utilization (percentage of request) above target",
            "New size: 2; reason: All metrics below target",
        ]
    );
    // Each event's size is what the pool's spec.replicas and the HPA status say next.
    for (time_s, message) in &events {
        let size: i64 = message
            .trim_start_matches("New size: ")
            .split(';')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("size");
        let row = rows(&result)
            .iter()
            .find(|r| r.time.0 as f64 >= time_s * 1000.0)
            .expect("row after the event");
        assert_eq!(row.desired_replicas, size, "at {time_s}s");
        assert_eq!(row.hpa_desired_replicas, Some(size), "at {time_s}s");
    }
}

#[test]
fn v2_behavior_adds_one_vm_per_minute_and_halves_per_minute() {
    let result = run_shipped("lab05-hpa-v2-behavior");
    let changes = replica_changes(rows(&result));
    let ups: Vec<_> = changes.iter().filter(|c| c.2 > c.1).collect();
    let downs: Vec<_> = changes.iter().filter(|c| c.2 < c.1).collect();
    // scaleUp: Pods 1 per 60 s.
    assert!(ups.iter().all(|c| c.2 - c.1 == 1), "{ups:?}");
    for pair in ups.windows(2) {
        assert!(pair[1].0 - pair[0].0 >= 60, "{ups:?}");
    }
    assert_eq!(ups.last().map(|c| c.2), Some(6));
    // scaleDown: Percent 50 per 60 s, floor of half, never below minReplicas.
    assert_eq!(
        downs.iter().map(|c| (c.1, c.2)).collect::<Vec<_>>(),
        vec![(6, 3), (3, 2)]
    );
    assert!(downs[1].0 - downs[0].0 >= 60);
    // scaleDown stabilization 60 s: the load drops at 25m, nothing moves before 26m.
    assert!(downs[0].0 >= 26 * 60, "{downs:?}");
}

#[test]
fn a_smaller_tolerance_setting_scales_where_the_default_holds() {
    // The tolerance scenario above (52% against 50%, ratio 1.04) with the
    // kube-controller-manager flag set to 0.01: the HPA now scales 3 -> 4.
    let scenario = lab_scenario(
        "hpa-tolerance-setting",
        "15m",
        "vmpool_lab05-webserver-cpu1.yaml",
        &v1_hpa(2, 5),
        "  settings: {hpaTolerance: 0.01}
  load: [{at: 0s, cores: 1.5}]
  events:
    - {at: 0s, scale: {pool: lab05-webserver, replicas: 3}}\n",
    );
    let result = run_text(&scenario);
    let changes = replica_changes(rows(&result));
    assert!(
        changes.iter().any(|&(_, from, to)| from == 3 && to == 4),
        "{changes:?}"
    );
}

#[test]
fn the_downscale_stabilization_setting_shortens_the_hold() {
    let shipped = std::fs::read_to_string(repo_path("scenarios/lab05-hpa-load-wave.yaml"))
        .expect("shipped scenario");
    let shortened = shipped.replacen(
        "  settings: {guestBootCpu: 0}\n",
        "  settings: {guestBootCpu: 0, hpaDownscaleStabilization: 1m}\n",
        1,
    );
    assert_ne!(shipped, shortened, "the settings line went in");
    let first_scale_down = |result: &RunResult| {
        replica_changes(rows(result))
            .into_iter()
            .find(|&(_, from, to)| to < from)
            .map(|(time_s, _, _)| time_s)
            .expect("a scale-down")
    };
    let default_s = first_scale_down(&run_shipped("lab05-hpa-load-wave"));
    let short_s = first_scale_down(&run_text(&shortened));
    // The load drops at 25m; the default window holds replicas for 5 minutes after
    // the last high recommendation, the 1-minute window for about one.
    let drop_s = 25 * 60;
    assert!(default_s >= drop_s + 5 * 60, "default at {default_s}s");
    assert!(
        (drop_s + 60..drop_s + 3 * 60).contains(&short_s),
        "1m window at {short_s}s"
    );
}

#[test]
fn a_selector_label_missing_from_the_vmi_template_leaves_the_hpa_without_pods() {
    // The pool selects `kubevirt.io/vmpool` (admission only checks the VM template's
    // labels), but the VMI template labels its pods `app: web` only: the launcher pods
    // do not match `status.labelSelector`, so the HPA finds no pods, warns, and never
    // scales, however high the load.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("lab05")).expect("mkdir");
    for entry in std::fs::read_dir(repo_path("scenarios/lab05")).expect("lab05") {
        let entry = entry.expect("entry");
        std::fs::copy(
            entry.path(),
            dir.path().join("lab05").join(entry.file_name()),
        )
        .expect("copy");
    }
    let pool = std::fs::read_to_string(repo_path(
        "scenarios/lab05/vmpool_lab05-webserver-cpu1.yaml",
    ))
    .expect("pool");
    let vmi_labels = "      template:\n        metadata:\n          labels:\n            kubevirt.io/vmpool: lab05-webserver\n";
    assert!(pool.contains(vmi_labels), "the VMI template labels moved");
    let unlabelled = pool.replace(
        vmi_labels,
        "      template:\n        metadata:\n          labels:\n            app: web\n",
    );
    std::fs::write(dir.path().join("lab05/pool-unlabelled.yaml"), unlabelled).expect("write");
    let scenario = lab_scenario(
        "hpa-no-pods",
        "10m",
        "pool-unlabelled.yaml",
        &v1_hpa(2, 5),
        "  load: [{at: 0s, cores: 4}]\n",
    );
    let path = dir.path().join("scenario.yaml");
    std::fs::write(&path, scenario).expect("write");
    let prepared = prepare(&path).unwrap_or_else(|d| panic!("{d:?}"));
    assert!(
        prepared
            .warnings
            .iter()
            .any(|w| w.to_string().contains("an HPA on this pool finds no pods")),
        "{:?}",
        prepared.warnings
    );
    let result = run_prepared(&prepared, &RunOptions::default()).expect("runs");
    let rows = rows(&result);
    assert!(rows.iter().all(|r| r.desired_replicas == 2));
    assert!(rows.iter().all(|r| r.cpu_utilization_pct.is_none()));
    let text = events_csv(&result.world).expect("events");
    assert!(
        text.lines().any(|l| l.contains("HorizontalPodAutoscaler")
            && l.contains("FailedGetResourceMetric")
            // `GetResourceReplicas` asks the metrics API first, which answers nothing
            // for a selector that matches no pods (`rest_metrics_client.go`).
            && l.contains("no metrics returned from resource metrics API")),
        "{text}"
    );
    assert!(rescale_events(&result).is_empty());
}
