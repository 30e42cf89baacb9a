//! Issue 15, item 6: `events.csv` gains `type`, `namespace` and `count` after DESIGN.md
//! §1.3's five columns, and identical events collapse into one row with a count, the
//! way client-go's event recorder patches an Event (`output::event_log`).

use poolsim::check::run_prepared;
use poolsim::output::event_log::reason_entry;
use poolsim::output::files::events_csv;
use poolsim::sim::{prepare, RunOptions};
use std::path::Path;

/// One row of events.csv, read back as a user would (by column name).
#[derive(Debug)]
struct Row {
    time_s: f64,
    kind: String,
    object: String,
    reason: String,
    event_type: String,
    namespace: String,
    count: u32,
}

fn read_events(text: &str) -> (Vec<String>, Vec<Row>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let index = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (time, kind, object, reason) = (
        index("time_s"),
        index("kind"),
        index("object"),
        index("reason"),
    );
    let (event_type, namespace, count) = (index("type"), index("namespace"), index("count"));
    let rows = reader
        .records()
        .map(|record| {
            let record = record.expect("a record");
            Row {
                time_s: record[time].parse().expect("time_s"),
                kind: record[kind].to_string(),
                object: record[object].to_string(),
                reason: record[reason].to_string(),
                event_type: record[event_type].to_string(),
                namespace: record[namespace].to_string(),
                count: record[count].parse().expect("count"),
            }
        })
        .collect();
    (header, rows)
}

fn run_events(scenario: &str) -> (Vec<String>, Vec<Row>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(scenario);
    let prepared = prepare(&path).unwrap_or_else(|d| panic!("{d:?}"));
    let result = run_prepared(&prepared, &RunOptions::default()).expect("runs");
    read_events(&events_csv(&result.world).expect("events.csv"))
}

#[test]
fn the_new_columns_follow_the_design_ones_in_order() {
    let (header, _) = run_events("scenarios/lab05-webserver.yaml");
    assert_eq!(
        header,
        [
            "time_s",
            "kind",
            "object",
            "reason",
            "message",
            "type",
            "namespace",
            "count"
        ]
    );
}

/// The lab's HPA scenario: before metrics-server has a first scrape, the HPA fails
/// every 15 s with the same message. That used to be 22 near-identical lines in the
/// first 3 minutes; now each reason is one Warning row whose count says how often.
#[test]
fn the_hpa_metric_failures_of_the_first_minutes_become_counts() {
    let (_, rows) = run_events("scenarios/lab05-hpa-load-wave.yaml");
    let early: Vec<&Row> = rows
        .iter()
        .filter(|r| r.kind == "HorizontalPodAutoscaler" && r.time_s <= 180.0)
        .filter(|r| r.reason.starts_with("Failed"))
        .collect();
    for reason in ["FailedGetResourceMetric", "FailedComputeMetricsReplicas"] {
        let of_reason: Vec<&&Row> = early.iter().filter(|r| r.reason == reason).collect();
        assert_eq!(of_reason.len(), 1, "{reason}: {of_reason:?}");
        let row = of_reason[0];
        assert!(row.count >= 10, "{row:?}");
        assert_eq!(row.event_type, "Warning", "{row:?}");
        assert_eq!(row.namespace, "lab-user", "{row:?}");
    }
    let occurrences: u32 = early.iter().map(|r| r.count).sum();
    assert!(occurrences >= 22, "{early:?}");
    // A rescale is Normal (`horizontal.go`, reconcileAutoscaler).
    let rescale = rows
        .iter()
        .find(|r| r.reason == "SuccessfulRescale")
        .expect("the load wave rescales");
    assert_eq!(rescale.event_type, "Normal");
}

/// Nodes are cluster-scoped: no namespace. The node controller's NodeNotReady is a
/// Normal event (`RecordNodeStatusChange`); pods and VMs are in the scenario's
/// namespace; each scenario action is its own row.
#[test]
fn namespaces_and_types_follow_the_involved_object() {
    let (_, rows) = run_events("scenarios/lab05-node-partition.yaml");
    let not_ready = rows
        .iter()
        .find(|r| r.kind == "Node" && r.reason == "NodeNotReady")
        .expect("the partition makes a node NotReady");
    assert_eq!(
        (not_ready.namespace.as_str(), not_ready.event_type.as_str()),
        ("", "Normal")
    );
    for row in rows
        .iter()
        .filter(|r| matches!(r.kind.as_str(), "Pod" | "VirtualMachine"))
    {
        assert_eq!(row.namespace, "lab-user", "{row:?}");
    }
    for row in rows.iter().filter(|r| r.kind == "Scenario") {
        assert_eq!((row.count, row.namespace.as_str()), (1, ""), "{row:?}");
    }
    assert!(rows.iter().all(|r| r.count >= 1));
}

/// Every reason the shipped scenarios record has its type and upstream source in the
/// table (an unlisted one would silently be Normal).
#[test]
fn every_recorded_reason_has_an_upstream_type() {
    let mut unknown = Vec::new();
    for scenario in [
        "scenarios/lab05-node-crash.yaml",
        "scenarios/lab05-hpa-partition.yaml",
        "scenarios/lab05-per-index-secrets-missing.yaml",
        "scenarios/lab05-detached-vm.yaml",
        "scenarios/lab05-paused-pool.yaml",
    ] {
        let (_, rows) = run_events(scenario);
        for row in rows.iter().filter(|r| r.kind != "Scenario") {
            if reason_entry(&row.kind, &row.reason).is_none() {
                unknown.push(format!(
                    "{scenario}: {} {} ({})",
                    row.kind, row.reason, row.object
                ));
            }
        }
    }
    assert!(unknown.is_empty(), "{unknown:#?}");
}
