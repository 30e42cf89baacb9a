//! The event log of a run (`events.csv`, DESIGN.md §1.3). In memory it is the trace of
//! every event as it happened (`EventLog::rows`, one row each: what tests and plots
//! read); `events.csv` is [`EventLog::correlated`], the log as `kubectl get events`
//! would show it: each row has the Event's `type` (Normal/Warning), the involved
//! object's namespace, and a `count` of the identical events it stands for.
//!
//! Counting follows client-go's event recorder (`staging/src/k8s.io/client-go/tools/
//! record/events_cache.go`, `EventCorrelator.EventCorrelate`): its `eventLogger`
//! (`eventObserve`) keys each event on `getEventKey` (source, involved object with its
//! uid, type, reason, message); an event whose key it has seen patches that Event,
//! `count + 1`, `lastTimestamp` now, `firstTimestamp` kept. The logger's cache has no
//! time window of its own: the Event object's lifetime bounds it (kube-apiserver
//! `--event-ttl`, default 1h, renewed on every write, `pkg/registry/core/event/
//! strategy.go`), so a repeat more than [`EVENT_TTL_MS`] after the row's last update
//! starts a new row (upstream the patch fails NotFound and the recorder re-creates
//! the Event). A row keeps its first time (`time_s` is `firstTimestamp`, the FIRST
//! SEEN of `kubectl get events`).
//!
//! Not modelled, and why:
//! - The `EventAggregator`'s rewrite ("(combined from similar events): ...") once 10
//!   events that differ only in their message arrive within 600 s: past the tenth, which
//!   message it drops is `sets.String.PopAny`, a Go map's random order, so whether a
//!   later repeat is combined is not determined; and the combined row keeps only the
//!   last message, which would lose, for example, which VMs a pool created.
//! - The spam filter (`EventSourceObjectSpamFilter`: 25 events per source and object,
//!   then one per 5 minutes): it delays the count the API shows, not the occurrences
//!   counted here.
//! - The caches' LRU bound (4096 keys per recording process).
//!
//! `Scenario` rows are poolsim's own (the scenario's actions), not Kubernetes Events:
//! never collapsed (each action is a mark on the plots), type Normal, no namespace.

use crate::api::Kind;
use crate::cluster::store::{ApiObject, ObjectSet};
use crate::engine::SimTime;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// How long an Event lives after its last write: kube-apiserver's `--event-ttl` default
/// (`cmd/kube-apiserver/app/options/options.go`, `EventTTL: 1 * time.Hour`).
pub const EVENT_TTL_MS: u64 = 3_600_000;

/// The `kind` of the rows a scenario's own actions make.
pub const SCENARIO_KIND: &str = "Scenario";

/// KubeVirt's install namespace in its release manifests: where virt-controller's pods
/// and its leader-election Lease live.
const KUBEVIRT_NAMESPACE: &str = "kubevirt";

/// core/v1 `Event.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// One event as it happened (`count` 1), or a row of `events.csv` (an Event as
/// `kubectl get events` lists it).
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// `firstTimestamp`: when the first of the events this row counts happened.
    pub time: SimTime,
    pub kind: String,
    pub object: String,
    pub reason: String,
    pub message: String,
    pub event_type: EventType,
    /// The involved object's namespace; empty for cluster-scoped kinds (Node).
    pub namespace: String,
    /// How many identical events this row stands for (1 or more).
    pub count: u32,
    /// `lastTimestamp`: the latest of them.
    pub last_time: SimTime,
    /// The involved object's uid (empty once it is gone): part of the recorder's key.
    pub uid: String,
}

/// The object an event is about, as the recorder's key names it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InvolvedObject {
    pub namespace: String,
    /// Empty when the object is no longer in the API (its events still count together).
    pub uid: String,
}

#[derive(Debug, Default)]
pub struct EventLog {
    /// Every event in the order it happened, each with `count` 1.
    pub rows: Vec<EventRow>,
}

impl EventLog {
    /// Records an event now.
    pub fn push(
        &mut self,
        time: SimTime,
        kind: &str,
        object: &str,
        involved: &InvolvedObject,
        reason: &str,
        message: String,
    ) {
        self.rows.push(EventRow {
            time,
            kind: kind.into(),
            object: object.into(),
            reason: reason.into(),
            message,
            event_type: reason_type(kind, reason).0,
            namespace: involved.namespace.clone(),
            count: 1,
            last_time: time,
            uid: involved.uid.clone(),
        });
    }

    /// The log as `kubectl get events` shows it (the rows of `events.csv`): each event
    /// identical to an earlier one whose Event still lives counts on that row.
    pub fn correlated(&self) -> Vec<EventRow> {
        let mut rows: Vec<EventRow> = Vec::with_capacity(self.rows.len());
        // Rows that may still count a repeat, by the hash of their correlation key.
        let mut open: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for event in &self.rows {
            if event.kind == SCENARIO_KIND {
                rows.push(event.clone());
                continue;
            }
            let component = reason_type(&event.kind, &event.reason).1;
            let candidates = open.entry(correlation_hash(component, event)).or_default();
            // Rows whose Event has expired can never count again.
            candidates.retain(|&i| event.time.since(rows[i].last_time) <= EVENT_TTL_MS);
            let same = candidates.iter().copied().find(|&i| {
                let earlier = &rows[i];
                earlier.uid == event.uid
                    && earlier.kind == event.kind
                    && earlier.object == event.object
                    && earlier.namespace == event.namespace
                    && earlier.reason == event.reason
                    && earlier.message == event.message
            });
            match same {
                Some(i) => {
                    rows[i].count = rows[i].count.saturating_add(event.count);
                    rows[i].last_time = event.last_time;
                }
                None => {
                    candidates.push(rows.len());
                    rows.push(event.clone());
                }
            }
        }
        rows
    }
}

/// `getEventKey` without the parts every row here shares (source host, API version):
/// a deterministic hash (`DefaultHasher::new` has fixed keys), checked field by field.
fn correlation_hash(component: &str, row: &EventRow) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    (component, &row.kind, &row.namespace, &row.object, &row.uid).hash(&mut hasher);
    (row.event_type, &row.reason, &row.message).hash(&mut hasher);
    hasher.finish()
}

/// The namespace and uid of the object an event names, from the API store: the
/// scenario's namespace is tried first, then those of its pools and HPAs (where every
/// object poolsim makes lives). An object already gone keeps the scenario's namespace
/// and no uid. Cluster-scoped kinds and the scenario's own rows have no namespace.
pub fn involved_object(
    objects: &ObjectSet,
    default_namespace: &str,
    kind: &str,
    object: &str,
    reason: &str,
) -> InvolvedObject {
    if kind == SCENARIO_KIND {
        return InvolvedObject::default();
    }
    // virt-controller's own pods and Lease (`virt_controller.rs`) are KubeVirt's, not
    // the scenario's.
    if matches!(reason, "ControllerCrashed" | "LeaderElection") {
        return InvolvedObject {
            namespace: KUBEVIRT_NAMESPACE.into(),
            uid: String::new(),
        };
    }
    let Some(kind) = Kind::parse(kind) else {
        return InvolvedObject {
            namespace: default_namespace.into(),
            uid: String::new(),
        };
    };
    if !kind.is_namespaced() {
        let uid = uid_in(objects, kind, "", object).unwrap_or_default();
        return InvolvedObject {
            namespace: String::new(),
            uid,
        };
    }
    let mut namespaces = vec![default_namespace];
    namespaces.extend(objects.pools.keys().map(|key| key.namespace.as_str()));
    namespaces.extend(objects.hpas.keys().map(|key| key.namespace.as_str()));
    for namespace in namespaces {
        if let Some(uid) = uid_in(objects, kind, namespace, object) {
            return InvolvedObject {
                namespace: namespace.into(),
                uid,
            };
        }
    }
    InvolvedObject {
        namespace: default_namespace.into(),
        uid: String::new(),
    }
}

/// The uid of the object `namespace/name` of `kind`, if the store has it.
fn uid_in(objects: &ObjectSet, kind: Kind, namespace: &str, name: &str) -> Option<String> {
    fn uid<T: ApiObject>(objects: &ObjectSet, namespace: &str, name: &str) -> Option<String> {
        let key = crate::api::ObjectKey::new(namespace, name);
        objects.get::<T>(&key).map(|o| o.meta().uid.clone())
    }
    use crate::api::*;
    match kind {
        Kind::VirtualMachinePool => uid::<VirtualMachinePool>(objects, namespace, name),
        Kind::VirtualMachine => uid::<VirtualMachine>(objects, namespace, name),
        Kind::VirtualMachineInstance => uid::<VirtualMachineInstance>(objects, namespace, name),
        Kind::Pod => uid::<Pod>(objects, namespace, name),
        Kind::Node => uid::<Node>(objects, namespace, name),
        Kind::DataVolume => uid::<DataVolume>(objects, namespace, name),
        Kind::PersistentVolumeClaim => uid::<PersistentVolumeClaim>(objects, namespace, name),
        Kind::HorizontalPodAutoscaler => uid::<HorizontalPodAutoscaler>(objects, namespace, name),
        Kind::Service => uid::<Service>(objects, namespace, name),
        Kind::Secret => uid::<Secret>(objects, namespace, name),
        Kind::ConfigMap => uid::<ConfigMap>(objects, namespace, name),
        Kind::StorageClass => uid::<StorageClass>(objects, namespace, name),
        Kind::VolumeSnapshotClass => uid::<VolumeSnapshotClass>(objects, namespace, name),
    }
}

/// What the recorder call sites upstream emit for each reason poolsim records: the
/// Event type, the recording component (`Event.source.component`, part of the
/// recorder's key), and where the call is. Sorted by reason (then kind) for lookup.
/// `kind` is `*` where every kind with that reason has the same type.
pub const REASONS: &[(&str, &str, EventType, &str, &str)] = &[
    ("BackOff", "Pod", EventType::Normal, "kubelet", "kubernetes pkg/kubelet/images/image_manager.go, EnsureImageExists: logIt(EventTypeNormal, events.BackOffPullImage)"),
    ("CloneValidationFailed", "*", EventType::Warning, "cdi-controller", "containerized-data-importer pkg/controller/clone/planner.go, validateAdvancedClonePVC (a fallback is a Warning)"),
    ("CloneWithoutSource", "*", EventType::Warning, "cdi-controller", "containerized-data-importer pkg/controller/datavolume/pvc-clone-controller.go, CloneWithoutSource"),
    ("Completed", "*", EventType::Normal, "cdi-controller", "containerized-data-importer pkg/controller/datavolume/controller-base.go, updateDataVolumeStatusPhaseWithEvent (Succeeded)"),
    ("ContainersLost", "*", EventType::Warning, "poolsim", "poolsim's own: the kubelet finds a running pod's containers gone after a node reboot"),
    ("ControllerCrashed", "*", EventType::Warning, "poolsim", "poolsim's own: virt-controller's process panics (kubelet reports the restart)"),
    ("ErrIncompatiblePVC", "*", EventType::Warning, "cdi-controller", "containerized-data-importer pkg/controller/datavolume/pvc-clone-controller.go, validateCloneAndSourcePVC"),
    ("Failed", "Pod", EventType::Warning, "kubelet", "kubernetes pkg/kubelet/images/image_manager.go, EnsureImageExists: logIt(EventTypeWarning, events.FailedToPullImage)"),
    ("FailedAttachVolume", "*", EventType::Warning, "attachdetach-controller", "kubernetes pkg/volume/util/operationexecutor/operation_generator.go, GenerateAttachVolumeFunc"),
    ("FailedComputeMetricsReplicas", "*", EventType::Warning, "horizontal-pod-autoscaler", "kubernetes pkg/controller/podautoscaler/horizontal.go, reconcileAutoscaler"),
    ("FailedCreate", "*", EventType::Warning, "virtualmachinepool-controller", "kubevirt pkg/virt-controller/watch/pool/pool.go, scaleOut (FailedCreateVirtualMachineReason)"),
    ("FailedGetResourceMetric", "*", EventType::Warning, "horizontal-pod-autoscaler", "kubernetes pkg/controller/podautoscaler/horizontal.go, computeStatusForResourceMetric"),
    ("FailedMount", "*", EventType::Warning, "kubelet", "kubernetes pkg/kubelet/volumemanager/volume_manager.go, WaitForAttachAndMount"),
    ("FailedPodGoingDown", "*", EventType::Warning, "virtualmachine-controller", "kubevirt pkg/virt-controller/watch/vmi/lifecycle.go, a VMI's pod is terminating"),
    ("FailedPodGone", "*", EventType::Warning, "virtualmachine-controller", "kubevirt pkg/virt-controller/watch/vmi/lifecycle.go, the pod vanished under a live VMI"),
    ("FailedPvcNotFound", "*", EventType::Normal, "virtualmachine-controller", "kubevirt pkg/virt-controller/watch/vmi/vmi.go, areDataVolumesReady: Eventf(EventTypeNormal, FailedPvcNotFoundReason)"),
    ("FailedScheduling", "*", EventType::Warning, "default-scheduler", "kubernetes pkg/scheduler/schedule_one.go, handleSchedulingFailure"),
    ("FencedWhileRunning", "*", EventType::Warning, "poolsim", "poolsim's own: fenceNode on a node whose guests still run (FIDELITY §15)"),
    ("ForceDetach", "*", EventType::Warning, "attachdetach-controller", "kubernetes pkg/controller/volume/attachdetach/reconciler/reconciler.go, force detach after the out-of-service taint"),
    ("GuestRunningOnFencedNode", "*", EventType::Warning, "poolsim", "poolsim's own: a guest keeps running on a fenced node"),
    ("Killing", "*", EventType::Normal, "kubelet", "kubernetes pkg/kubelet/kuberuntime/kuberuntime_container.go, killContainer (events.KillingContainer)"),
    ("LeaderElection", "*", EventType::Normal, "virt-controller", "client-go tools/leaderelection/resourcelock, RecordEvent (EventTypeNormal)"),
    ("NodeNotReady", "*", EventType::Normal, "node-controller", "kubernetes pkg/controller/util/node/controller_utils.go, RecordNodeStatusChange (EventTypeNormal)"),
    ("NodeOfUnresolved", "*", EventType::Warning, "poolsim", "poolsim's own: a scenario event's nodeOf names a VM with no node"),
    ("NodeReady", "*", EventType::Normal, "node-controller", "kubernetes pkg/controller/util/node/controller_utils.go, RecordNodeStatusChange (EventTypeNormal)"),
    ("NodeSchedulable", "*", EventType::Normal, "kubelet", "kubernetes pkg/kubelet/nodestatus/setters.go, ReadyCondition recordEventFunc(EventTypeNormal, events.NodeSchedulable)"),
    ("NodeUnresponsive", "*", EventType::Normal, "virt-controller", "kubevirt pkg/virt-controller/watch/node/node.go, Recorder.Event(EventTypeNormal, NodeUnresponsiveReason)"),
    ("OrphanKilled", "*", EventType::Warning, "poolsim", "poolsim's own: virt-handler stops a domain whose VMI is gone"),
    ("PodGCForceDelete", "*", EventType::Normal, "pod-garbage-collector", "kubernetes pkg/controller/podgc/gc_controller.go, gcOrphaned"),
    ("Scheduled", "*", EventType::Normal, "default-scheduler", "kubernetes pkg/scheduler/schedule_one.go, finishBinding (EventTypeNormal)"),
    ("SelectorRequired", "*", EventType::Warning, "horizontal-pod-autoscaler", "kubernetes pkg/controller/podautoscaler/horizontal.go, computeReplicasForMetrics"),
    ("ShuttingDown", "*", EventType::Normal, "virt-handler", "kubevirt pkg/virt-handler/vm.go, processVmShutdown (EventTypeNormal)"),
    ("Started", "*", EventType::Normal, "virt-handler", "kubevirt pkg/virt-handler/vm.go, updateVMIStatus / kubelet events.StartedContainer (EventTypeNormal)"),
    ("Stopped", "*", EventType::Normal, "virt-handler", "kubevirt pkg/virt-handler/vm.go, the domain stopped (EventTypeNormal)"),
    ("SuccessfulCreate", "*", EventType::Normal, "virtualmachine-controller", "kubevirt pkg/virt-controller/watch/{pool/pool.go, vm/vm.go, vmi/vmi.go}, SuccessfulCreate*Reason (EventTypeNormal)"),
    ("SuccessfulDataVolumeCreate", "*", EventType::Normal, "virtualmachine-controller", "kubevirt pkg/virt-controller/watch/vm/vm.go, handleDataVolumes (EventTypeNormal)"),
    ("SuccessfulDelete", "*", EventType::Normal, "virtualmachine-controller", "kubevirt pkg/virt-controller/watch/{pool/pool.go, vm/vm.go, vmi/vmi.go}, SuccessfulDelete*Reason (EventTypeNormal)"),
    ("SuccessfulPaused", "*", EventType::Normal, "virtualmachinepool-controller", "kubevirt pkg/virt-controller/watch/pool/pool.go, SuccessfulPausedPoolReason"),
    ("SuccessfulRelease", "*", EventType::Normal, "virtualmachinepool-controller", "kubevirt pkg/controller/controller_ref_manager.go, releasing an orphaned VM"),
    ("SuccessfulRescale", "*", EventType::Normal, "horizontal-pod-autoscaler", "kubernetes pkg/controller/podautoscaler/horizontal.go, reconcileAutoscaler (EventTypeNormal)"),
    ("SuccessfulRestart", "*", EventType::Normal, "virtualmachinepool-controller", "kubevirt pkg/virt-controller/watch/pool/pool.go, proactive update restarts a VM"),
    ("SuccessfulResume", "*", EventType::Normal, "virtualmachinepool-controller", "kubevirt pkg/virt-controller/watch/pool/pool.go, SuccessfulResumePoolReason"),
    ("SuccessfulUpdate", "*", EventType::Normal, "virtualmachinepool-controller", "kubevirt pkg/virt-controller/watch/pool/pool.go, SuccessfulUpdateVirtualMachineReason"),
    ("TaintManagerEviction", "*", EventType::Normal, "taint-eviction-controller", "kubernetes pkg/controller/tainteviction/taint_eviction.go, addConditionAndDeletePod (EventTypeNormal)"),
    ("Unhealthy", "*", EventType::Warning, "kubelet", "kubernetes pkg/kubelet/prober/prober.go, probe (EventTypeWarning, events.ContainerUnhealthy)"),
];

/// The type and recording component of an event: from [`REASONS`]; a reason missing
/// there is Normal from an unnamed component (a test keeps every recorded reason listed).
pub fn reason_type(kind: &str, reason: &str) -> (EventType, &'static str) {
    reason_entry(kind, reason).map_or((EventType::Normal, ""), |(_, _, t, c, _)| (*t, c))
}

/// The [`REASONS`] entry of `reason` for `kind` (or for every kind).
#[allow(clippy::type_complexity)]
pub fn reason_entry(
    kind: &str,
    reason: &str,
) -> Option<&'static (
    &'static str,
    &'static str,
    EventType,
    &'static str,
    &'static str,
)> {
    let start = REASONS.partition_point(|entry| entry.0 < reason);
    REASONS[start..]
        .iter()
        .take_while(|entry| entry.0 == reason)
        .find(|entry| entry.1 == "*" || entry.1 == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn involved(namespace: &str, uid: &str) -> InvolvedObject {
        InvolvedObject {
            namespace: namespace.into(),
            uid: uid.into(),
        }
    }

    #[test]
    fn the_reason_table_is_sorted_for_lookup() {
        assert!(REASONS
            .windows(2)
            .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        assert_eq!(
            reason_type("Pod", "Failed").0,
            EventType::Warning,
            "ErrImagePull's event"
        );
        assert_eq!(reason_type("Node", "NodeNotReady").0, EventType::Normal);
        assert_eq!(
            reason_type("HorizontalPodAutoscaler", "FailedGetResourceMetric").0,
            EventType::Warning
        );
    }

    #[test]
    fn identical_events_count_on_the_first_row_until_the_event_expires() {
        let mut log = EventLog::default();
        let hpa = involved("lab", "uid-1");
        let push = |log: &mut EventLog, ms: u64, message: &str| {
            log.push(
                SimTime(ms),
                "HorizontalPodAutoscaler",
                "web",
                &hpa,
                "FailedGetResourceMetric",
                message.into(),
            )
        };
        push(&mut log, 0, "no metrics");
        push(&mut log, 15_000, "no metrics");
        push(&mut log, 30_000, "other message");
        push(&mut log, 45_000, "no metrics");
        assert_eq!(log.rows.len(), 4, "the trace keeps every event");
        let rows = log.correlated();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].count, rows[0].time), (3, SimTime(0)));
        assert_eq!(rows[0].last_time, SimTime(45_000));
        assert_eq!(rows[0].event_type, EventType::Warning);
        assert_eq!(rows[1].count, 1);
        // More than the TTL after the last update: a new Event.
        push(&mut log, 45_000 + EVENT_TTL_MS + 1, "no metrics");
        let rows = log.correlated();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].count, 1);
    }

    #[test]
    fn another_uid_or_a_scenario_action_is_never_counted_on_an_earlier_row() {
        let mut log = EventLog::default();
        for uid in ["uid-1", "uid-2"] {
            log.push(
                SimTime(0),
                "VirtualMachineInstance",
                "vm-0",
                &involved("lab", uid),
                "Started",
                "VirtualMachineInstance started.".into(),
            );
        }
        for _ in 0..2 {
            log.push(
                SimTime(0),
                SCENARIO_KIND,
                "node-1",
                &InvolvedObject::default(),
                "crashNode",
                "crash node-1".into(),
            );
        }
        let rows = log.correlated();
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().all(|row| row.count == 1));
    }
}
