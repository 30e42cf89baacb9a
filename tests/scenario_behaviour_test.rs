//! The failure scenarios of `scenarios/` behave as the upstream code does, over time:
//! each test runs one shipped scenario (or a variant of its text) and checks its
//! timeseries in windows and its event log by object names.

mod common;
use common::{at, rows};
use poolsim::check::{run_prepared, RunResult};
use poolsim::output::files::events_csv;
use poolsim::output::record::Sample;
use poolsim::scenario::load_str;
use poolsim::sim::{prepare, prepare_loaded, RunOptions};
use std::path::{Path, PathBuf};

fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.yaml"))
}

fn run(name: &str) -> RunResult {
    let prepared = prepare(&scenario_path(name)).unwrap_or_else(|d| panic!("{name}: {d:?}"));
    run_prepared(&prepared, &RunOptions::default()).expect("runs")
}

/// Runs the shipped scenario `name` with its text changed by `edit` (manifest files
/// still resolve beside the original).
fn run_variant(name: &str, edit: impl Fn(&str) -> String) -> RunResult {
    let path = scenario_path(name);
    let text = edit(&std::fs::read_to_string(&path).expect("readable"));
    let loaded = load_str(&text, &path).unwrap_or_else(|d| panic!("{name} variant: {d:?}"));
    let prepared = prepare_loaded(loaded.scenario, loaded.warnings)
        .unwrap_or_else(|d| panic!("{name} variant: {d:?}"));
    run_prepared(&prepared, &RunOptions::default()).expect("runs")
}

/// Removes the one line of a scenario that contains `needle`.
fn without_line(text: &str, needle: &str) -> String {
    assert_eq!(text.matches(needle).count(), 1, "{needle:?} once");
    text.lines()
        .filter(|line| !line.contains(needle))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Rows with `from_s <= time <= to_s`.
fn during(rows: &[Sample], from_s: u64, to_s: u64) -> impl Iterator<Item = &Sample> {
    rows.iter()
        .filter(move |r| r.time.0 >= from_s * 1000 && r.time.0 <= to_s * 1000)
}

fn assert_during(
    rows: &[Sample],
    from_s: u64,
    to_s: u64,
    what: &str,
    value: impl Fn(&Sample) -> i64,
    expected: i64,
) {
    let mut seen = 0;
    for row in during(rows, from_s, to_s) {
        seen += 1;
        assert_eq!(
            value(row),
            expected,
            "{what} at {} s (window {from_s}-{to_s} s)",
            row.time.0 as f64 / 1000.0
        );
    }
    assert!(seen > 0, "no rows in {from_s}-{to_s} s");
}

/// One row of events.csv.
#[derive(Debug, Clone)]
struct Event {
    time_s: f64,
    kind: String,
    object: String,
    reason: String,
    message: String,
}

/// The run's events.csv, read back as a user would.
fn event_log(result: &RunResult) -> Vec<Event> {
    let text = events_csv(&result.world).expect("csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|record| {
            let record = record.expect("a csv record");
            Event {
                time_s: record[0].parse().expect("time_s"),
                kind: record[1].to_string(),
                object: record[2].to_string(),
                reason: record[3].to_string(),
                message: record[4].to_string(),
            }
        })
        .collect()
}

fn find<'e>(events: &'e [Event], kind: &str, reason: &str) -> Vec<&'e Event> {
    events
        .iter()
        .filter(|e| e.kind == kind && e.reason == reason)
        .collect()
}

/// Names of the VMs the pool created (its `SuccessfulCreate` events), in order.
fn pool_created_vms(events: &[Event]) -> Vec<(f64, String)> {
    find(events, "VirtualMachinePool", "SuccessfulCreate")
        .into_iter()
        .map(|e| {
            let name = e
                .message
                .rsplit('/')
                .next()
                .expect("Created VM ns/name")
                .to_string();
            (e.time_s, name)
        })
        .collect()
}

/// Names of the VMs the pool deleted (its `SuccessfulDelete` events), in order.
fn pool_deleted_vms(events: &[Event]) -> Vec<(f64, String)> {
    find(events, "VirtualMachinePool", "SuccessfulDelete")
        .into_iter()
        .map(|e| {
            let name = e
                .message
                .split_whitespace()
                .nth(2)
                .and_then(|key| key.rsplit('/').next())
                .expect("Deleted VM ns/name (...)")
                .to_string();
            (e.time_s, name)
        })
        .collect()
}

/// The node a launcher pod of `vm` was scheduled to, for each of its pods in order.
fn launcher_nodes(events: &[Event], vm: &str) -> Vec<(f64, String)> {
    let prefix = format!("virt-launcher-{vm}-");
    find(events, "Pod", "Scheduled")
        .into_iter()
        .filter(|e| e.object.starts_with(&prefix))
        .map(|e| {
            let node = e
                .message
                .rsplit(' ')
                .next()
                .expect("... to NODE")
                .to_string();
            (e.time_s, node)
        })
        .collect()
}

fn names(list: &[(f64, String)]) -> Vec<&str> {
    list.iter().map(|(_, name)| name.as_str()).collect()
}

const MIN: u64 = 60;

#[test]
fn node_crash_leaves_the_vmi_stuck_until_the_node_is_fenced() {
    let result = run("lab05-node-crash");
    let rows = rows(&result);
    let events = event_log(&result);

    let first_nodes = launcher_nodes(&events, "lab05-webserver-0");
    let crashed = first_nodes[0].1.clone();
    let other_vm_nodes = launcher_nodes(&events, "lab05-webserver-1");
    assert_ne!(
        other_vm_nodes[0].1, crashed,
        "the scheduler spreads the pool's two pods over two nodes"
    );

    // The guest dies at once; the API notices 40-50 s later (node-monitor-grace-period).
    assert_during(
        rows,
        8 * MIN,
        20 * MIN,
        "guests_running",
        |r| r.guests_running,
        1,
    );
    let not_ready = find(&events, "Node", "NodeNotReady");
    assert_eq!(not_ready.len(), 1);
    assert_eq!(not_ready[0].object, crashed);
    assert!(
        (520.0..=535.0).contains(&not_ready[0].time_s),
        "{not_ready:?}"
    );
    assert_eq!(at(rows, 8 * MIN + 30).vms_ready, 2, "not yet noticed");
    // Stuck: the API still says Running; nothing replaces the VM.
    assert_during(rows, 9 * MIN, 20 * MIN, "vms_ready", |r| r.vms_ready, 1);
    assert_during(
        rows,
        9 * MIN,
        20 * MIN,
        "vmis_running",
        |r| r.vmis_running,
        2,
    );
    assert_during(
        rows,
        9 * MIN,
        20 * MIN,
        "vmis_unknown",
        |r| r.vmis_unknown,
        1,
    );

    // The taint manager deletes the pod once, after the 300 s toleration; it stays.
    let evictions = find(&events, "Pod", "TaintManagerEviction");
    assert_eq!(evictions.len(), 1, "{evictions:?}");
    assert!(evictions[0]
        .object
        .starts_with("virt-launcher-lab05-webserver-0-"));
    assert!((evictions[0].time_s - not_ready[0].time_s - 300.0).abs() < 1.0);

    // Fenced at 20m: pod GC removes the pod, a new VMI starts on another node.
    let force_deleted = find(&events, "Pod", "PodGCForceDelete");
    assert_eq!(force_deleted.len(), 1);
    assert!((1200.0..=1221.0).contains(&force_deleted[0].time_s));
    let nodes = launcher_nodes(&events, "lab05-webserver-0");
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    assert!(nodes[1].0 >= force_deleted[0].time_s);
    assert_ne!(nodes[1].1, crashed);
    assert_during(rows, 22 * MIN, 50 * MIN, "vms_ready", |r| r.vms_ready, 2);
    assert_eq!(
        names(&pool_created_vms(&events)),
        ["lab05-webserver-0", "lab05-webserver-1"],
        "the pool never replaces the VM: the VM controller restarts its VMI"
    );
    assert!(rows.iter().all(|r| r.overshoot == 0));
}

#[test]
fn node_crash_without_fencing_waits_for_the_node_to_boot() {
    let result = run_variant("lab05-node-crash", |text| without_line(text, "fenceNode"));
    let rows = rows(&result);
    let events = event_log(&result);
    assert!(find(&events, "Pod", "PodGCForceDelete").is_empty());
    assert_during(rows, 9 * MIN, 30 * MIN, "vms_ready", |r| r.vms_ready, 1);
    assert_during(
        rows,
        9 * MIN,
        30 * MIN,
        "vmis_running",
        |r| r.vmis_running,
        2,
    );
    // The node boots (about a minute), virt-handler finds the guest gone and the VM
    // controller starts a new VMI.
    let ready = find(&events, "Node", "NodeReady");
    assert_eq!(ready.len(), 1);
    assert!(ready[0].time_s > 30.0 * 60.0);
    assert_during(rows, 34 * MIN, 50 * MIN, "vms_ready", |r| r.vms_ready, 2);
    assert!(rows.iter().all(|r| r.overshoot == 0));
}

#[test]
fn a_detached_vm_runs_on_beside_its_replacement_until_deleted() {
    let result = run("lab05-detached-vm");
    let rows = rows(&result);
    let events = event_log(&result);

    let created = pool_created_vms(&events);
    assert_eq!(
        names(&created),
        [
            "lab05-webserver-0",
            "lab05-webserver-1",
            "lab05-webserver-2",
            "lab05-webserver-3"
        ]
    );
    // The replacement comes at once, under the lowest free name.
    assert!((360.0..=362.0).contains(&created[2].0), "{created:?}");
    // The detached VM is never counted again (no adoption) and keeps its guest.
    assert_during(rows, 6 * MIN + 5, 19 * MIN, "vms_total", |r| r.vms_total, 2);
    assert_during(
        rows,
        10 * MIN,
        15 * MIN,
        "guests_running",
        |r| r.guests_running,
        3,
    );
    assert_during(rows, 10 * MIN, 15 * MIN, "overshoot", |r| r.overshoot, 1);
    assert!(
        find(&events, "VirtualMachinePool", "SuccessfulDelete").is_empty(),
        "the pool never deletes the VM it released"
    );
    // Deleted by the user: its guest stops, the count is back to desired.
    let stopped = find(&events, "VirtualMachineInstance", "ShuttingDown");
    assert_eq!(stopped.len(), 1);
    assert_eq!(stopped[0].object, "lab05-webserver-0");
    assert!(stopped[0].time_s >= 900.0 && stopped[0].time_s < 930.0);
    assert_during(
        rows,
        16 * MIN,
        20 * MIN,
        "guests_running",
        |r| r.guests_running,
        2,
    );
    // Its name stays taken (the pool finalizer keeps it Terminating): scale-out skips it.
    assert!(created[3].0 >= 1200.0);
    assert_eq!(at(rows, 29 * MIN).vms_ready, 3);
    assert_eq!(
        at(rows, 29 * MIN).pvcs_bound,
        4,
        "the detached VM keeps its disk"
    );
}

#[test]
fn kubectl_scale_2_4_1_0_names_by_lowest_free_index_and_cleans_up_disks() {
    let result = run("lab05-scale-2-4-1-0");
    let rows = rows(&result);
    let events = event_log(&result);

    let created = pool_created_vms(&events);
    assert_eq!(
        names(&created),
        [
            "lab05-webserver-0",
            "lab05-webserver-1",
            "lab05-webserver-2",
            "lab05-webserver-3"
        ]
    );
    assert!(created[..2].iter().all(|(t, _)| *t < 5.0));
    assert!(created[2..]
        .iter()
        .all(|(t, _)| (360.0..=362.0).contains(t)));

    // 4 -> 1 deletes three VMs at once; 1 -> 0 the survivor.
    let deleted = pool_deleted_vms(&events);
    assert_eq!(deleted.len(), 4, "{deleted:?}");
    assert!(deleted[..3]
        .iter()
        .all(|(t, _)| (840.0..=842.0).contains(t)));
    assert!((1200.0..=1202.0).contains(&deleted[3].0));
    let mut all: Vec<&str> = names(&deleted);
    all.sort();
    assert_eq!(all, names(&created), "every VM is deleted exactly once");

    assert_during(rows, MIN, 6 * MIN, "vms_total", |r| r.vms_total, 2);
    assert_during(rows, 9 * MIN, 14 * MIN - 5, "vms_ready", |r| r.vms_ready, 4);
    assert_during(
        rows,
        9 * MIN,
        14 * MIN - 5,
        "pvcs_bound",
        |r| r.pvcs_bound,
        4,
    );
    assert_during(
        rows,
        15 * MIN,
        20 * MIN - 5,
        "vms_total",
        |r| r.vms_total,
        1,
    );
    assert_during(
        rows,
        15 * MIN,
        20 * MIN - 5,
        "pvcs_bound",
        |r| r.pvcs_bound,
        1,
    );
    assert_during(rows, 21 * MIN, 30 * MIN, "vms_total", |r| r.vms_total, 0);
    assert_during(rows, 21 * MIN, 30 * MIN, "pvcs_bound", |r| r.pvcs_bound, 0);
    // Overshoot only while deleted guests shut down (seconds), never while scaling out.
    for row in rows.iter().filter(|r| r.overshoot > 0) {
        let t = row.time.0 / 1000;
        assert!(
            (14 * MIN..14 * MIN + 30).contains(&t) || (20 * MIN..20 * MIN + 30).contains(&t),
            "overshoot {} at {t} s",
            row.overshoot
        );
    }
}

#[test]
fn a_paused_pool_ignores_scale_until_unpaused() {
    let result = run("lab05-paused-pool");
    let rows = rows(&result);
    let events = event_log(&result);

    let paused = find(&events, "VirtualMachinePool", "SuccessfulPaused");
    assert_eq!(paused.len(), 1, "{paused:?}");
    assert!((360.0..=365.0).contains(&paused[0].time_s));
    let resumed = find(&events, "VirtualMachinePool", "SuccessfulResume");
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    assert!((1080.0..=1085.0).contains(&resumed[0].time_s));

    assert_during(
        rows,
        8 * MIN,
        30 * MIN,
        "desired_replicas",
        |r| r.desired_replicas,
        4,
    );
    assert_during(rows, 8 * MIN, 18 * MIN, "vms_total", |r| r.vms_total, 2);
    let created = pool_created_vms(&events);
    assert_eq!(
        names(&created[2..]),
        ["lab05-webserver-2", "lab05-webserver-3"]
    );
    assert!(created[2..]
        .iter()
        .all(|(t, _)| (1080.0..=1085.0).contains(t)));
    assert_eq!(at(rows, 19 * MIN).vms_total, 4);
    assert_during(rows, 22 * MIN, 30 * MIN, "vms_ready", |r| r.vms_ready, 4);
}

#[test]
fn per_index_secrets_give_each_vm_its_own_secret() {
    let result = run("lab05-per-index-secrets");
    let events = event_log(&result);
    assert!(find(&events, "Pod", "FailedMount").is_empty());
    assert_during(
        rows(&result),
        4 * MIN,
        15 * MIN,
        "vms_ready",
        |r| r.vms_ready,
        2,
    );

    // Without lab05-cloudinit-0 it is VM 0, not VM 1, that cannot start: the index
    // is appended per VM.
    let variant = run_variant("lab05-per-index-secrets", |text| {
        without_line(text, "secret_lab05-cloudinit-0.yaml")
    });
    let failed = find(&event_log(&variant), "Pod", "FailedMount")
        .into_iter()
        .map(|e| (e.object.clone(), e.message.clone()))
        .collect::<Vec<_>>();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].0.starts_with("virt-launcher-lab05-webserver-0-"));
    assert!(failed[0].1.contains("\"lab05-cloudinit-0\""));
}

#[test]
fn a_missing_per_index_secret_keeps_only_that_vm_from_starting() {
    let path = scenario_path("lab05-per-index-secrets-missing");
    let prepared = prepare(&path).expect("valid, with a warning");
    assert!(
        prepared
            .warnings
            .iter()
            .any(|w| w.message.contains("Secret lab05-cloudinit-1")),
        "{:?}",
        prepared.warnings
    );
    let result = run_prepared(&prepared, &RunOptions::default()).expect("runs");
    let rows = rows(&result);
    let events = event_log(&result);
    let failed = find(&events, "Pod", "FailedMount");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0]
        .object
        .starts_with("virt-launcher-lab05-webserver-1-"));
    assert!(failed[0]
        .message
        .contains("secret \"lab05-cloudinit-1\" not found"));
    let started: Vec<&str> = find(&events, "VirtualMachineInstance", "Started")
        .into_iter()
        .map(|e| e.object.as_str())
        .collect();
    assert_eq!(started, ["lab05-webserver-0"], "VM 1 never starts");
    assert_during(rows, 4 * MIN, 15 * MIN, "vms_ready", |r| r.vms_ready, 1);
    assert_during(
        rows,
        4 * MIN,
        15 * MIN,
        "guests_running",
        |r| r.guests_running,
        1,
    );
    assert_during(rows, MIN, 15 * MIN, "vms_total", |r| r.vms_total, 2);
}

#[test]
fn a_partition_overshoots_under_vmirs_and_not_under_the_pool() {
    let pool = run("lab05-node-partition");
    let vmirs = run("lab05-node-partition-vmirs");
    assert_eq!(pool.summary.max_overshoot, 0);
    assert!(vmirs.summary.max_overshoot >= 1);

    // Upstream's pool: readiness lost for the whole partition, no replacement.
    assert_during(
        rows(&pool),
        12 * MIN,
        29 * MIN,
        "vms_ready",
        |r| r.vms_ready,
        2,
    );
    assert_eq!(names(&pool_created_vms(&event_log(&pool))).len(), 3);

    // The VMI replica set rule: once the taint manager has marked the pod for deletion
    // (300 s after NotReady), the VM is replaced while its guest still runs.
    let vmirs_events = event_log(&vmirs);
    let not_ready = find(&vmirs_events, "Node", "NodeNotReady")[0].time_s;
    let created = pool_created_vms(&vmirs_events);
    assert_eq!(created.len(), 4, "{created:?}");
    assert_eq!(created[3].1, "lab05-webserver-3");
    assert!(created[3].0 >= not_ready + 300.0, "{created:?}");
    let rows = rows(&vmirs);
    assert_during(
        rows,
        20 * MIN,
        29 * MIN,
        "guests_running",
        |r| r.guests_running,
        4,
    );
    assert_during(rows, 20 * MIN, 29 * MIN, "vms_ready", |r| r.vms_ready, 3);
    assert_during(rows, 20 * MIN, 29 * MIN, "overshoot", |r| r.overshoot, 1);
    // The partitioned guest stops only after the heal.
    assert_eq!(at(rows, 39 * MIN).guests_running, 3);
    assert_eq!(at(rows, 39 * MIN).overshoot, 0);
}
