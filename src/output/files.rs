//! The files a run writes (DESIGN.md §1.3), each written whole or not at all: the run
//! directory is built beside its final place and renamed over it (see
//! `output::ownership`, which also decides which folders poolsim may write into).

use crate::cluster::world::{ClusterAction, NodeTarget, World};
use crate::engine::SimTime;
pub use crate::output::error::WriteError;
pub use crate::output::ownership::{Destination, RUN_FILES};
use crate::output::plot::{self, EventMarker, Interval, PlotAnnotations, PlotInput, Series};
use crate::output::record::Sample;
use crate::output::report;
use crate::timeseries::Format;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

pub use crate::timeseries::csv as timeseries_csv;
use crate::timeseries::format_time_s;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExpectationResult {
    pub description: String,
    pub passed: bool,
    /// A count column observes a count: written `2`, not `2.0` (issue 15, item 6).
    #[serde(serialize_with = "serialize_optional_number")]
    pub observed: Option<f64>,
}

/// A number as JSON: an integral value within ±2^53 (every count poolsim keeps) as an
/// integer, so `--json` and the JSON files print counts as `3`, never `3.0`; anything
/// else, including NaN and infinities (`null`), as `serde_json` writes an `f64`.
pub fn json_number(value: f64) -> serde_json::Value {
    const EXACT_LIMIT: f64 = 9_007_199_254_740_992.0;
    if value.fract() == 0.0 && value.abs() <= EXACT_LIMIT {
        serde_json::Value::from(value as i64)
    } else {
        serde_json::Value::from(value)
    }
}

/// `serialize_with` for an optional number: [`json_number`], absent as `null`.
pub fn serialize_optional_number<S: serde::Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(number) => serde::Serialize::serialize(&json_number(*number), serializer),
        None => serializer.serialize_none(),
    }
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub scenario: String,
    pub algorithm: String,
    pub seed: u64,
    pub duration_s: f64,
    pub events_processed: u64,
    pub max_overshoot: i64,
    pub max_guests_running: i64,
    pub final_desired_replicas: i64,
    pub final_vms_ready: i64,
    /// VM-minutes of overshoot: the integral of `overshoot` over time.
    pub overshoot_vm_minutes: f64,
    /// Minutes with fewer ready VMs than desired.
    pub minutes_under_ready: f64,
    pub vms_created: u64,
    /// Seconds from the first failure event of the run (`partitionNode`, `crashNode`,
    /// `killGuest`, `hangGuest`, `fenceNode`, `detachVm`) until readiness is back: the first sample
    /// with `vms_ready >= desired_replicas` after readiness fell below desired at or
    /// after the failure; 0 when it never fell. Absent when the run has no failure
    /// event, or readiness is not back by the end of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_s: Option<f64>,
    /// How many times the virt-controller process crashed: upstream's pool controller
    /// panics on an out-of-range scale-in slice (`kubevirt-pool` only; see
    /// `controllers::virt_controller`).
    pub controller_crashes: u64,
    /// The most `uncontrolled_overshoot` of any sample: guests beyond desired that no
    /// one is stopping (the "no maximum" of the KubeVirt pool docs), where
    /// `max_overshoot` also counts a scale-in's graceful shutdowns.
    pub max_uncontrolled_overshoot: i64,
    /// VM-minutes of uncontrolled overshoot: the integral of `uncontrolled_overshoot`.
    pub uncontrolled_overshoot_vm_minutes: f64,
    pub warnings: Vec<String>,
    pub expectations: Vec<ExpectationResult>,
}

impl Summary {
    /// Every numeric metric, in the fixed column order of `sweep.csv` and `compare.csv`.
    pub const NUMERIC_METRICS: &'static [&'static str] = crate::scenario::SUMMARY_METRICS;

    /// A numeric summary metric by name, for `expect` blocks and comparisons.
    pub fn metric(&self, name: &str) -> Option<f64> {
        Some(match name {
            "duration_s" => self.duration_s,
            "events_processed" => self.events_processed as f64,
            "max_overshoot" => self.max_overshoot as f64,
            "max_guests_running" => self.max_guests_running as f64,
            "final_desired_replicas" => self.final_desired_replicas as f64,
            "final_vms_ready" => self.final_vms_ready as f64,
            "overshoot_vm_minutes" => self.overshoot_vm_minutes,
            "minutes_under_ready" => self.minutes_under_ready,
            "vms_created" => self.vms_created as f64,
            "recovery_s" => self.recovery_s?,
            "controller_crashes" => self.controller_crashes as f64,
            "max_uncontrolled_overshoot" => self.max_uncontrolled_overshoot as f64,
            "uncontrolled_overshoot_vm_minutes" => self.uncontrolled_overshoot_vm_minutes,
            _ => return None,
        })
    }
}

pub fn summarize(world: &World, algorithm: &str, seed: u64) -> Summary {
    let rows = &world.samples.rows;
    let last = rows.last();
    let mut overshoot_ms = 0.0;
    let mut uncontrolled_ms = 0.0;
    let mut under_ready_ms = 0.0;
    for pair in rows.windows(2) {
        let dt = pair[1].time.since(pair[0].time) as f64;
        overshoot_ms += pair[0].overshoot as f64 * dt;
        uncontrolled_ms += pair[0].uncontrolled_overshoot as f64 * dt;
        if pair[0].vms_ready < pair[0].desired_replicas {
            under_ready_ms += dt;
        }
    }
    Summary {
        scenario: world.scenario_name.clone(),
        algorithm: algorithm.to_string(),
        seed,
        duration_s: world.duration.as_secs_f64(),
        events_processed: world.events_processed(),
        max_overshoot: rows.iter().map(|r| r.overshoot).max().unwrap_or(0),
        max_guests_running: rows.iter().map(|r| r.guests_running).max().unwrap_or(0),
        final_desired_replicas: last.map_or(0, |r| r.desired_replicas),
        final_vms_ready: last.map_or(0, |r| r.vms_ready),
        overshoot_vm_minutes: round3(overshoot_ms / 60_000.0),
        minutes_under_ready: round3(under_ready_ms / 60_000.0),
        vms_created: world.pool_state.created_total,
        recovery_s: first_failure_s(world).and_then(|failure_s| recovery_s(rows, failure_s)),
        controller_crashes: world.controller_crashes(),
        max_uncontrolled_overshoot: rows
            .iter()
            .map(|r| r.uncontrolled_overshoot)
            .max()
            .unwrap_or(0),
        uncontrolled_overshoot_vm_minutes: round3(uncontrolled_ms / 60_000.0),
        warnings: world.warnings().to_vec(),
        expectations: Vec::new(),
    }
}

/// The time of the first failure event the run reaches, in seconds.
fn first_failure_s(world: &World) -> Option<f64> {
    use crate::cluster::world::ClusterAction as A;
    world
        .actions
        .iter()
        .filter(|(at, _)| *at <= world.duration)
        .find(|(_, action)| {
            matches!(
                action,
                A::PartitionNode(_)
                    | A::CrashNode(_)
                    | A::FenceNode(_)
                    | A::KillGuest { .. }
                    | A::HangGuest { .. }
                    | A::DetachVm { .. }
                    | A::FailDataVolume { .. }
                    | A::FailImagePull { .. }
            )
        })
        .map(|(at, _)| at.as_secs_f64())
}

/// See [`Summary::recovery_s`]. Readiness lags a failure (the node controller's grace
/// period, a guest's restart), so the clock stops only once readiness has fallen and
/// come back, not at the first sample after the failure.
fn recovery_s(rows: &[Sample], failure_s: f64) -> Option<f64> {
    let after: Vec<&Sample> = rows
        .iter()
        .filter(|r| r.time.as_secs_f64() >= failure_s)
        .collect();
    let Some(dip) = after.iter().position(|r| r.vms_ready < r.desired_replicas) else {
        return Some(0.0);
    };
    after[dip..]
        .iter()
        .find(|r| r.vms_ready >= r.desired_replicas)
        .map(|r| round3(r.time.as_secs_f64() - failure_s))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `events.csv`'s columns: DESIGN.md §1.3's five, then (issue 15) the Event's `type`,
/// the involved object's `namespace` and the `count` of identical events the row
/// stands for (`output::event_log`); `time_s` is the first of them.
pub const EVENTS_HEADER: [&str; 8] = [
    "time_s",
    "kind",
    "object",
    "reason",
    "message",
    "type",
    "namespace",
    "count",
];

pub fn events_csv(world: &World) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(EVENTS_HEADER)?;
    for row in &world.events.correlated() {
        writer.write_record([
            format_time_s(row.time.0).as_str(),
            &row.kind,
            &row.object,
            &row.reason,
            &row.message,
            row.event_type.as_str(),
            &row.namespace,
            &row.count.to_string(),
        ])?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// What the plot shows besides the columns: scenario events and failure intervals,
/// with `nodeOf: VM` resolved to the node each event really reached (the simulator
/// records it when the event happens, see `controllers::scenario`).
pub fn plot_annotations(world: &World, hpa_target_pct: Option<f64>) -> PlotAnnotations {
    let mut annotations =
        scenario_annotations(&world.actions, world.duration, &world.action_nodes, true);
    annotations.title = Some(world.scenario_name.clone());
    annotations.hpa_target_pct = hpa_target_pct;
    annotations
}

/// The scenario's events as time-axis markers, without intervals: for the plots of
/// several runs (sweep bands, comparison overlays), where `nodeOf: VM` may resolve to a
/// different node in every run, so the events are labelled in the scenario's own words.
pub fn scenario_event_markers(
    actions: &[(SimTime, ClusterAction)],
    duration: SimTime,
) -> Vec<EventMarker> {
    scenario_annotations(actions, duration, &BTreeMap::new(), false).events
}

/// Which failure an interval shows, and the event that ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disruption {
    /// `partitionNode` until `healNode`.
    Partition,
    /// `crashNode` until `recoverNode`; a `fenceNode` in between is an event, not an end.
    Crash,
}

impl Disruption {
    fn describe(self, node: &str, ended: bool) -> String {
        match (self, ended) {
            (Disruption::Partition, true) => format!("{node} partitioned"),
            (Disruption::Partition, false) => format!("{node} partitioned, not healed"),
            (Disruption::Crash, true) => format!("{node} crashed"),
            (Disruption::Crash, false) => format!("{node} crashed, not recovered"),
        }
    }
}

/// Markers for every action up to `duration`, and (with `with_intervals`) one interval
/// per node failure: a partition ends at the `healNode`, a crash at the `recoverNode`
/// of the same node; one still open at the end runs to the end and says so. Nodes are
/// compared after resolving `nodeOf: VM` through `resolved` (VM → node), so
/// `crashNode: {nodeOf: vm-0}` is ended by `recoverNode: {node: node-2}` when vm-0 was
/// on node-2.
fn scenario_annotations(
    actions: &[(SimTime, ClusterAction)],
    duration: SimTime,
    resolved: &BTreeMap<usize, String>,
    with_intervals: bool,
) -> PlotAnnotations {
    use ClusterAction as A;
    // `resolved`: the node each event with `nodeOf: VM` reached, by event index.
    let node_name = |index: usize, target: &NodeTarget| match target {
        NodeTarget::Node(node) => node.clone(),
        NodeTarget::NodeOf(vm) => resolved
            .get(&index)
            .cloned()
            .unwrap_or_else(|| format!("node of {vm}")),
    };
    let end_s = duration.as_secs_f64();
    let mut events = Vec::new();
    let mut intervals = Vec::new();
    // Open failures: (node, what, start), in the order they began.
    let mut open: Vec<(String, Disruption, f64)> = Vec::new();
    for (index, (at, action)) in actions.iter().enumerate() {
        let t = at.as_secs_f64();
        if t > end_s {
            continue;
        }
        events.push(EventMarker {
            time_s: t,
            label: action.label(),
        });
        let (node, disruption, begins) = match action {
            A::PartitionNode(target) => (node_name(index, target), Disruption::Partition, true),
            A::HealNode(target) => (node_name(index, target), Disruption::Partition, false),
            A::CrashNode(target) => (node_name(index, target), Disruption::Crash, true),
            A::RecoverNode(target) => (node_name(index, target), Disruption::Crash, false),
            _ => continue,
        };
        let already_open = open
            .iter()
            .position(|(n, d, _)| *n == node && *d == disruption);
        match (begins, already_open) {
            // A second partition of a partitioned node changes nothing: keep the first start.
            (true, Some(_)) => {}
            (true, None) => open.push((node, disruption, t)),
            (false, Some(index)) => {
                let (node, disruption, start_s) = open.remove(index);
                intervals.push(Interval {
                    start_s,
                    end_s: t,
                    label: disruption.describe(&node, true),
                });
            }
            // Healing a node that was never partitioned draws nothing but its marker.
            (false, None) => {}
        }
    }
    for (node, disruption, start_s) in open {
        intervals.push(Interval {
            start_s,
            end_s,
            label: disruption.describe(&node, false),
        });
    }
    intervals.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    PlotAnnotations {
        title: None,
        hpa_target_pct: None,
        intervals: if with_intervals {
            intervals
        } else {
            Vec::new()
        },
        events,
    }
}

pub fn plot_input(rows: &[Sample], annotations: &PlotAnnotations) -> PlotInput {
    // Every column but the time axis: the offered load too, on the CPU panel's
    // secondary axis (`plot::hpa`).
    let series = crate::timeseries::COLUMNS
        .iter()
        .filter(|column| column.format != Format::Seconds)
        .map(|column| Series {
            name: column.name.into(),
            values: rows.iter().map(column.value).collect(),
        })
        .collect();
    PlotInput {
        title: annotations.title.clone().unwrap_or_default(),
        time_s: rows.iter().map(|r| r.time.as_secs_f64()).collect(),
        series,
        events: annotations.events.clone(),
        intervals: annotations.intervals.clone(),
        hpa_target_pct: annotations.hpa_target_pct,
        rescales: Vec::new(),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub fn write_file(dir: &Path, name: &str, contents: &[u8]) -> Result<(), WriteError> {
    let path = dir.join(name);
    std::fs::write(&path, contents).map_err(io(&path))
}

/// Write every output of a finished run into its folder (`destination`).
pub fn write_run(
    destination: &Destination,
    world: &World,
    summary: &Summary,
    hpa_target_pct: Option<f64>,
) -> Result<(), WriteError> {
    let annotations = plot_annotations(world, hpa_target_pct);
    let timeseries = timeseries_csv(&world.samples.rows);
    let events = events_csv(world).map_err(|e| WriteError::Encode(e.to_string()))?;
    let summary_json = serde_json::to_string_pretty(summary)
        .map_err(|e| WriteError::Encode(e.to_string()))?
        + "\n";
    let annotations_json = serde_json::to_string_pretty(&annotations)
        .map_err(|e| WriteError::Encode(e.to_string()))?
        + "\n";
    let mut input = plot_input(&world.samples.rows, &annotations);
    input.rescales = plot::run_rescales(&world.events.rows, &input);
    let report = report::run_report(summary, &timeseries, &events, &annotations)?;
    destination.write(|staging| {
        write_file(staging, "timeseries.csv", timeseries.as_bytes())?;
        write_file(staging, "events.csv", events.as_bytes())?;
        write_file(staging, "summary.json", summary_json.as_bytes())?;
        write_file(
            staging,
            plot::PLOT_ANNOTATIONS_FILE_NAME,
            annotations_json.as_bytes(),
        )?;
        plot::render_replicas(
            &input,
            &staging.join("replicas.svg"),
            &staging.join("replicas.png"),
        )?;
        write_file(staging, report::REPORT_FILE_NAME, report.as_bytes())?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SimTime {
        SimTime::from_secs(seconds)
    }

    /// lab05-node-crash: the crash names a VM, the fence and recovery name its node.
    fn crash_actions() -> Vec<(SimTime, ClusterAction)> {
        vec![
            (
                at(480),
                ClusterAction::CrashNode(NodeTarget::NodeOf("vm-0".into())),
            ),
            (
                at(600),
                ClusterAction::PartitionNode(NodeTarget::Node("node-1".into())),
            ),
            (
                at(1200),
                ClusterAction::FenceNode(NodeTarget::Node("node-2".into())),
            ),
            (
                at(1800),
                ClusterAction::RecoverNode(NodeTarget::Node("node-2".into())),
            ),
            (
                at(4000),
                ClusterAction::HealNode(NodeTarget::Node("node-1".into())),
            ),
        ]
    }

    #[test]
    fn a_crash_ends_at_the_recovery_of_the_node_it_hit_and_a_fence_is_only_an_event() {
        // The crash (event 0) hit node-2.
        let resolved = BTreeMap::from([(0, "node-2".to_string())]);
        let annotations = scenario_annotations(&crash_actions(), at(3000), &resolved, true);
        assert_eq!(
            annotations.intervals,
            vec![
                Interval {
                    start_s: 480.0,
                    end_s: 1800.0,
                    label: "node-2 crashed".into()
                },
                // The heal comes after the end of the run: open to the end, and said so.
                Interval {
                    start_s: 600.0,
                    end_s: 3000.0,
                    label: "node-1 partitioned, not healed".into()
                },
            ]
        );
        let labels: Vec<&str> = annotations
            .events
            .iter()
            .map(|event| event.label.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "crash node of vm-0",
                "partition node-1",
                "fence node-2",
                "recover node-2"
            ]
        );
    }

    #[test]
    fn each_failure_of_the_same_vm_is_labelled_with_the_node_it_hit() {
        let crash_of_vm = || ClusterAction::CrashNode(NodeTarget::NodeOf("vm-0".into()));
        let recovery_of_vm = || ClusterAction::RecoverNode(NodeTarget::NodeOf("vm-0".into()));
        let actions = vec![
            (at(60), crash_of_vm()),
            (at(300), recovery_of_vm()),
            (at(900), crash_of_vm()),
            (at(1200), recovery_of_vm()),
        ];
        // The VM was restarted on node-3 between its first and second node failure.
        let resolved = BTreeMap::from([
            (0, "node-1".to_string()),
            (1, "node-1".to_string()),
            (2, "node-3".to_string()),
            (3, "node-3".to_string()),
        ]);
        let annotations = scenario_annotations(&actions, at(1800), &resolved, true);
        let labels: Vec<(f64, f64, &str)> = annotations
            .intervals
            .iter()
            .map(|i| (i.start_s, i.end_s, i.label.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                (60.0, 300.0, "node-1 crashed"),
                (900.0, 1200.0, "node-3 crashed")
            ]
        );
    }

    /// lab05-node-crash with a second crash of the same VM's node after the VM was
    /// restarted elsewhere: each interval names the node its own crash hit.
    #[test]
    fn a_run_labels_two_crashes_of_one_vms_node_with_the_two_nodes() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/lab05-node-crash.yaml");
        let text = std::fs::read_to_string(&path).expect("shipped");
        // Everything from `events:` on (the events, then the `expect:` block that
        // checks the shipped events) is replaced.
        let events_at = text.find("  events:").expect("events");
        let events = "  events:
    - {at: 8m, crashNode: {nodeOf: lab05-webserver-0}}
    - {at: 20m, fenceNode: {nodeOf: lab05-webserver-0}}
    - {at: 30m, recoverNode: {nodeOf: lab05-webserver-0}}
    - {at: 35m, crashNode: {nodeOf: lab05-webserver-0}}
    - {at: 45m, recoverNode: {nodeOf: lab05-webserver-0}}
";
        let text = format!("{}{events}", &text[..events_at]);
        let prepared = crate::sim::prepare_bytes(text.as_bytes(), &path).expect("valid");
        let result = crate::run::run_prepared(&prepared, &Default::default()).expect("runs");
        let intervals = plot_annotations(&result.world, None).intervals;
        assert_eq!(intervals.len(), 2, "{intervals:?}");
        assert_eq!((intervals[0].start_s, intervals[0].end_s), (480.0, 1800.0));
        assert_eq!(intervals[0].label, "node-2 crashed");
        assert_eq!((intervals[1].start_s, intervals[1].end_s), (2100.0, 2700.0));
        assert!(
            intervals[1].label.ends_with(" crashed") && intervals[1].label != "node-2 crashed",
            "the VM ran elsewhere by its second crash: {}",
            intervals[1].label
        );
    }

    #[test]
    fn a_heal_does_not_end_a_crash() {
        let actions = vec![
            (
                at(60),
                ClusterAction::CrashNode(NodeTarget::Node("node-0".into())),
            ),
            (
                at(120),
                ClusterAction::HealNode(NodeTarget::Node("node-0".into())),
            ),
        ];
        let annotations = scenario_annotations(&actions, at(600), &BTreeMap::new(), true);
        assert_eq!(annotations.intervals.len(), 1);
        assert_eq!(annotations.intervals[0].end_s, 600.0);
        assert_eq!(
            annotations.intervals[0].label,
            "node-0 crashed, not recovered"
        );
    }

    #[test]
    fn markers_for_many_runs_have_no_intervals() {
        let markers = scenario_event_markers(&crash_actions(), at(3000));
        assert_eq!(markers.len(), 4);
        assert_eq!(markers[0].label, "crash node of vm-0");
    }
}
