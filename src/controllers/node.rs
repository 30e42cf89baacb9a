//! Node failure handling across the control plane:
//! - the node lifecycle controller (`pkg/controller/nodelifecycle`, kubernetes): a node
//!   silent for longer than the grace period goes Ready=Unknown, gets the unreachable
//!   NoExecute taint, and its pods are marked not ready (`MarkPodsNotReady`);
//! - taint-based eviction (`pkg/controller/tainteviction`): pods are deleted when a
//!   NoExecute taint's toleration runs out;
//! - pod garbage collection (`pkg/controller/podgc`): force-deletes terminating pods on
//!   out-of-service nodes and pods whose node object is gone;
//! - KubeVirt's node controller (`pkg/virt-controller/watch/node/node.go`): after 5 min
//!   without a virt-handler heartbeat the node is marked unschedulable for VMs and
//!   VMIs whose launcher pod is no longer alive are failed.
//!
//! Heartbeats (node leases, virt-handler) are not written as objects: their times are
//! derived from ground truth on the upstream schedule, which gives the same detection
//! times with far fewer events.

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::world::{ControllerId, Timer, World};
use crate::controllers::{kubelet, launcher_pod};
use crate::engine::rng::uniform_ms;
use crate::engine::SimTime;
use std::collections::BTreeMap;

/// The label virt-handler sets and KubeVirt's node controller clears; launcher pods
/// select on it.
pub const SCHEDULABLE_LABEL: &str = "kubevirt.io/schedulable";

/// A node stops reporting (partition or power loss).
pub fn node_silenced(world: &mut World, node: &str) {
    let now = world.now();
    let (renew, grace, period) = (
        world.settings.node_lease_renew_ms,
        world.settings.node_monitor_grace_ms,
        world.settings.node_monitor_period_ms,
    );
    advance_handler_heartbeats(world, node, now);
    let Some(truth) = world.truth.nodes.get_mut(node) else {
        return;
    };
    truth.epoch += 1;
    truth.silent_since = Some(now);
    let epoch = truth.epoch;
    // The last lease renewal before the silence, on the node's 10 s grid.
    let phase = truth.lease_phase_ms;
    let last_renew = if now.0 < phase {
        0
    } else {
        phase + (now.0 - phase) / renew * renew
    };
    // The first monitor tick that sees `now - lastHeartbeat > grace`.
    let detect = SimTime(last_renew + grace + 1).next_tick(0, period);
    world.schedule_timer_at(
        detect,
        Timer::NodeMonitor {
            node: node.to_string(),
            epoch,
        },
    );
    let handler_last = world.truth.nodes[node].handler_last_heartbeat;
    let unresponsive_at = handler_last + world.settings.handler_unresponsive_ms + 1;
    let recheck = world.settings.handler_recheck_ms;
    world.schedule_timer_at(
        unresponsive_at.next_tick(0, recheck),
        Timer::HandlerRecheck {
            node: node.to_string(),
        },
    );
}

/// A node reports again after `delay_ms` (reboot time for a powered-off node, else the
/// next status update).
pub fn node_resumed(world: &mut World, node: &str, delay_ms: u64) {
    let renew = world.settings.node_lease_renew_ms;
    let Some(truth) = world.truth.nodes.get_mut(node) else {
        return;
    };
    truth.epoch += 1;
    let epoch = truth.epoch;
    let phase = truth.lease_phase_ms;
    let at = (world.queue.now() + delay_ms).next_tick(phase, renew);
    world.schedule_timer_at(
        at,
        Timer::NodeReturns {
            node: node.to_string(),
            epoch,
        },
    );
}

pub fn monitor_tick(world: &mut World, node: &str, epoch: u64) {
    let Some(truth) = world.truth.nodes.get(node) else {
        return;
    };
    if truth.epoch != epoch || truth.silent_since.is_none() {
        return;
    }
    let now = world.now();
    let key = ObjectKey::cluster(node);
    let changed = world
        .store
        .modify::<Node>(&key, |n| {
            if n.ready != ConditionStatus::Unknown {
                n.ready = ConditionStatus::Unknown;
                n.ready_transition = now;
            }
            if !n.taints.iter().any(|t| t.key == TAINT_UNREACHABLE) {
                n.taints.push(Taint {
                    key: TAINT_UNREACHABLE.into(),
                    value: String::new(),
                    effect: TaintEffect::NoExecute,
                    time_added: now,
                });
            }
        })
        .unwrap_or(false);
    if !changed {
        return;
    }
    world.record(
        "Node",
        node,
        "NodeNotReady",
        format!("Node {node} status is now: NodeNotReady"),
    );
    // `MarkPodsNotReady` (kubernetes `pkg/controller/util/node/controller_utils.go`).
    let pods: Vec<ObjectKey> = world
        .informer(InformerId::KubeControllerManager)
        .pods
        .values()
        .filter(|p| p.node_name.as_deref() == Some(node) && p.ready)
        .map(|p| p.meta.key())
        .collect();
    for pod in pods {
        let _ = world.store.modify::<Pod>(&pod, |p| {
            p.ready = false;
            p.ready_transition = now;
        });
    }
}

pub fn node_returns(world: &mut World, node: &str, epoch: u64) {
    let Some(truth) = world.truth.nodes.get_mut(node) else {
        return;
    };
    if truth.epoch != epoch || !truth.reporting() {
        return;
    }
    let now = world.queue.now();
    let restarted = std::mem::take(&mut truth.handler_restarted);
    truth.silent_since = None;
    resume_handler_heartbeats(world, node, epoch, restarted);
    let key = ObjectKey::cluster(node);
    let changed = world
        .store
        .modify::<Node>(&key, |n| {
            if n.ready != ConditionStatus::True {
                n.ready = ConditionStatus::True;
                n.ready_transition = now;
            }
            n.taints
                .retain(|t| t.key != TAINT_UNREACHABLE && t.key != TAINT_NOT_READY);
            if restarted {
                n.meta
                    .labels
                    .insert(SCHEDULABLE_LABEL.into(), "true".into());
            }
        })
        .unwrap_or(false);
    if changed {
        world.record(
            "Node",
            node,
            "NodeReady",
            format!("Node {node} status is now: NodeReady"),
        );
    }
    kubelet::resync_node(world, node);
}

// ------------------------------------------------------------------ taint eviction

/// When a pod is bound to a node that has NoExecute taints, arm its eviction.
pub fn on_pod_bound(world: &mut World, pod: &Pod) {
    if pod.meta.is_deleting() {
        return;
    }
    let Some(node) = pod.node_name.as_deref() else {
        return;
    };
    let Some(node) = world
        .informer(InformerId::KubeControllerManager)
        .nodes
        .get(&ObjectKey::cluster(node))
        .cloned()
    else {
        return;
    };
    arm_eviction(world, &node, pod);
}

pub fn on_node_event(world: &mut World, node: &Node, old: Option<&Object>) {
    let old_taints: Vec<&Taint> = match old {
        Some(Object::Node(old)) => old.taints.iter().collect(),
        _ => Vec::new(),
    };
    let added = node.taints.iter().any(|t| {
        t.effect == TaintEffect::NoExecute
            && !old_taints
                .iter()
                .any(|o| o.key == t.key && o.effect == t.effect)
    });
    if !added {
        return;
    }
    let pods: Vec<std::sync::Arc<Pod>> = world
        .informer(InformerId::KubeControllerManager)
        .pods
        .values()
        .filter(|p| {
            p.node_name.as_deref() == Some(node.meta.name.as_str()) && !p.meta.is_deleting()
        })
        .cloned()
        .collect();
    for pod in pods {
        arm_eviction(world, node, &pod);
    }
}

/// The time the taint manager evicts `pod` from `node`: the earliest expiry over the
/// node's NoExecute taints of the shortest matching toleration (untolerated: now).
fn eviction_time(node: &Node, pod: &Pod) -> Option<SimTime> {
    node.taints
        .iter()
        .filter(|t| t.effect == TaintEffect::NoExecute)
        .filter_map(|taint| {
            let matching: Vec<&Toleration> = pod
                .tolerations
                .iter()
                .filter(|tol| tol.tolerates(taint))
                .collect();
            if matching.is_empty() {
                return Some(taint.time_added);
            }
            if matching.iter().any(|tol| tol.toleration_seconds.is_none()) {
                return None;
            }
            let seconds = matching
                .iter()
                .filter_map(|tol| tol.toleration_seconds)
                .min()?;
            Some(taint.time_added + seconds * 1000)
        })
        .min()
}

fn arm_eviction(world: &mut World, node: &Node, pod: &Pod) {
    if let Some(at) = eviction_time(node, pod) {
        world.schedule_timer_at(
            at,
            Timer::TaintEviction {
                pod: pod.meta.key(),
                uid: pod.meta.uid.clone(),
            },
        );
    }
}

/// Deletes `pod` when its eviction time has come. Several watch events of one pod can
/// arm the same eviction; upstream keeps one timed worker per pod
/// (kubernetes `pkg/controller/tainteviction/timed_workers.go`, `AddWork` returns when
/// the pod already has one), so a pod is evicted, and the event recorded, once.
pub fn taint_eviction(world: &mut World, key: &ObjectKey, uid: &str) {
    if world.taint_evicted.contains(uid) {
        return;
    }
    let objects = world.informer(InformerId::KubeControllerManager);
    let Some(pod) = objects
        .pods
        .get(key)
        .filter(|p| p.meta.uid == uid && !p.meta.is_deleting())
        .cloned()
    else {
        return;
    };
    let Some(node) = pod
        .node_name
        .as_deref()
        .and_then(|n| objects.nodes.get(&ObjectKey::cluster(n)))
        .cloned()
    else {
        return;
    };
    let now = world.now();
    if eviction_time(&node, &pod).is_none_or(|at| at > now) {
        return;
    }
    if world.store.delete::<Pod>(key, None, now).is_ok() {
        world.taint_evicted.insert(uid.to_string());
        world.record(
            "Pod",
            &pod.meta.name,
            "TaintManagerEviction",
            format!("Marking for deletion Pod {key}"),
        );
    }
}

// ------------------------------------------------------------------ pod GC

pub fn pod_gc(world: &mut World) {
    let period = world.settings.pod_gc_period_ms;
    world.schedule_timer(period, Timer::PodGc);
    let now = world.now();
    let quarantine = world.settings.pod_gc_quarantine_ms;
    let informer = &world.informers[InformerId::KubeControllerManager.index()];
    let objects = &informer.objects;
    let mut force_delete = Vec::new();
    let mut orphans_seen = Vec::new();
    // Pod GC acts only on pods bound to a node that is gone, or terminating on a node
    // that is out of service and not ready. The informer counts pods per node name, so
    // whether either can apply is known from the nodes alone; usually neither does, and
    // the pass over every pod is skipped (it would find nothing and forget every
    // orphan it remembered, as done here). Both tables are in name order (nodes are
    // cluster-scoped: their keys differ by name only), so they are walked side by side.
    let mut node_names = objects
        .nodes
        .values()
        .map(|node| node.meta.name.as_str())
        .peekable();
    let orphans_possible = informer.pods_per_node.keys().any(|bound_to| {
        while node_names
            .next_if(|name| *name < bound_to.as_str())
            .is_some()
        {}
        node_names.peek() != Some(&bound_to.as_str())
    });
    let terminating_possible = objects.nodes.values().any(|node| {
        node.ready != ConditionStatus::True
            && node.taints.iter().any(|t| t.key == TAINT_OUT_OF_SERVICE)
    });
    if !orphans_possible && !terminating_possible {
        world.pod_gc_orphans.clear();
        return;
    }
    // Nodes by name, for the pass: a lookup per pod then neither allocates a key nor
    // compares namespaces.
    let nodes: BTreeMap<&str, &Node> = objects
        .nodes
        .values()
        .map(|node| (node.meta.name.as_str(), &**node))
        .collect();
    for pod in objects.pods.values() {
        let Some(node_name) = pod.node_name.as_deref() else {
            continue;
        };
        match nodes.get(node_name).copied() {
            None => {
                orphans_seen.push(pod.meta.uid.clone());
                let since = world
                    .pod_gc_orphans
                    .get(&pod.meta.uid)
                    .copied()
                    .unwrap_or(now);
                if now.since(since) >= quarantine {
                    force_delete.push((pod.clone(), "orphaned: its node is gone"));
                }
            }
            Some(node) => {
                // `gcTerminating`: terminating pods on a not-ready, out-of-service node.
                let out_of_service = node.taints.iter().any(|t| t.key == TAINT_OUT_OF_SERVICE);
                if out_of_service && node.ready != ConditionStatus::True && pod.meta.is_deleting() {
                    force_delete.push((pod.clone(), "terminating on an out-of-service node"));
                }
            }
        }
    }
    world
        .pod_gc_orphans
        .retain(|uid, _| orphans_seen.contains(uid));
    for uid in orphans_seen {
        world.pod_gc_orphans.entry(uid).or_insert(now);
    }
    for (pod, why) in force_delete {
        if world.store.remove_now::<Pod>(&pod.meta.key()).is_ok() {
            world.record(
                "Pod",
                &pod.meta.name,
                "PodGCForceDelete",
                format!("force-deleted pod {}: {why}", pod.meta.key()),
            );
            schedule_detach(world, &pod);
        }
    }
}

/// The attach-detach controller on a pod removed from an unreachable node: detach its
/// RWO claims at once if the node is out of service, else after the 6 min wait.
/// (kubernetes `pkg/controller/volume/attachdetach/reconciler/reconciler.go`,
/// `reconcile`: a volume still mounted by the node is detached only once
/// `maxWaitForUnmountDuration` has passed on an unhealthy node, or at once with the
/// out-of-service taint; `hasOutOfServiceTaint` is false for a Node object that is
/// gone, so a deleted node's volumes wait the 6 min too: the taint, not the deletion,
/// is the admin's statement that the node is down.)
pub fn schedule_detach(world: &mut World, pod: &Pod) {
    let Some(node) = pod.node_name.clone() else {
        return;
    };
    if world.truth.node_reporting(&node) {
        return;
    }
    let out_of_service = world
        .informer(InformerId::KubeControllerManager)
        .nodes
        .get(&ObjectKey::cluster(&node))
        .is_some_and(|n| n.taints.iter().any(|t| t.key == TAINT_OUT_OF_SERVICE));
    let delay = if out_of_service {
        0
    } else {
        world.settings.force_detach_ms
    };
    for claim in &pod.claim_refs {
        let claim = ObjectKey::new(&pod.meta.namespace, claim);
        world.schedule_timer(
            delay,
            Timer::ForceDetach {
                claim,
                node: node.clone(),
            },
        );
    }
}

// ------------------------------------------------------------------ KubeVirt node controller

/// Bring a node's virt-handler heartbeats up to `until` (or its silence).
pub fn advance_handler_heartbeats(world: &mut World, node: &str, until: SimTime) {
    let (low, high) = (
        world.settings.handler_heartbeat_min_ms,
        world.settings.handler_heartbeat_max_ms,
    );
    let Some(truth) = world.truth.nodes.get(node) else {
        return;
    };
    let limit = truth.silent_since.map_or(until, |s| s.min(until));
    let (mut last, mut next) = (truth.handler_last_heartbeat, truth.handler_next_heartbeat);
    if next > limit {
        return;
    }
    let mut rng = world.streams.stream(&format!("handler-heartbeat:{node}"));
    // Re-derive the jitter sequence deterministically from the heartbeat count.
    let mut skip = next.0 / low.max(1);
    while skip > 0 {
        uniform_ms(&mut rng, low, high);
        skip -= 1;
    }
    while next <= limit {
        last = next;
        next = next + uniform_ms(&mut rng, low, high);
    }
    let truth = world.truth.nodes.get_mut(node).expect("checked");
    truth.handler_last_heartbeat = last;
    truth.handler_next_heartbeat = next;
}

/// virt-handler's heartbeats once its node reports again
/// (`pkg/virt-handler/heartbeat/heartbeat.go`). After a power-off it starts afresh:
/// `heartBeat` runs `do` at once, which labels the node `kubevirt.io/schedulable=true`
/// (device plugins are taken as initialized, so the 10 s `waitForDevicePlugins` and
/// the first `do`'s possible "false" are not modelled), then ticks on a new jittered
/// schedule. Through a partition the process kept running: `wait.JitterUntil` kept
/// ticking, every patch failed, and the label (set "false" by KubeVirt's node
/// controller after 5 min) is written "true" again only by the first tick after the
/// heal, 0-132 s later, not at once.
fn resume_handler_heartbeats(world: &mut World, node: &str, epoch: u64, restarted: bool) {
    let now = world.now();
    if restarted {
        let (low, high) = (
            world.settings.handler_heartbeat_min_ms,
            world.settings.handler_heartbeat_max_ms,
        );
        let first_interval = uniform_ms(world.rng("handler-restart"), low, high);
        if let Some(truth) = world.truth.nodes.get_mut(node) {
            truth.handler_last_heartbeat = now;
            truth.handler_next_heartbeat = now + first_interval;
        }
        return;
    }
    let Some(last) = world
        .truth
        .nodes
        .get(node)
        .map(|t| t.handler_last_heartbeat)
    else {
        return;
    };
    // Walk the ticks of the silence (they failed: the API server kept `last`) up to
    // the first one at or after now.
    advance_handler_heartbeats(world, node, SimTime(now.0.saturating_sub(1)));
    let Some(truth) = world.truth.nodes.get_mut(node) else {
        return;
    };
    truth.handler_last_heartbeat = last;
    let next = truth.handler_next_heartbeat;
    world.schedule_timer_at(
        next,
        Timer::HandlerHeartbeat {
            node: node.to_string(),
            epoch,
        },
    );
}

/// The first heartbeat virt-handler gets through after a partition: the node is
/// labelled schedulable for VMs again (`heartbeat.go`, `do`).
pub fn handler_heartbeat(world: &mut World, node: &str, epoch: u64) {
    let Some(truth) = world.truth.nodes.get(node) else {
        return;
    };
    if truth.epoch != epoch || !truth.reporting() {
        return;
    }
    let now = world.now();
    advance_handler_heartbeats(world, node, now);
    let key = ObjectKey::cluster(node);
    let changed = world
        .store
        .modify::<Node>(&key, |n| {
            n.meta
                .labels
                .insert(SCHEDULABLE_LABEL.into(), "true".into());
        })
        .unwrap_or(false);
    if changed {
        world.record(
            "Node",
            node,
            "NodeSchedulable",
            "virt-handler heartbeat: node is schedulable for VMs again",
        );
    }
}

pub fn handler_recheck(world: &mut World, node: &str) {
    world.enqueue(ControllerId::KubevirtNode, ObjectKey::cluster(node));
}

pub fn handler_sync(world: &mut World, key: &ObjectKey) {
    let now = world.now();
    let node_name = key.name.clone();
    advance_handler_heartbeats(world, &node_name, now);
    let node = world
        .informer(InformerId::VirtController)
        .nodes
        .get(key)
        .cloned();
    let unresponsive = match (&node, world.truth.nodes.get(&node_name)) {
        (None, _) => true,
        // `isNodeUnresponsive`: the heartbeat is older than the timeout, silent or not
        // (a healed node stays unresponsive until its first heartbeat gets through).
        (Some(_), Some(truth)) => {
            now.since(truth.handler_last_heartbeat) > world.settings.handler_unresponsive_ms
        }
        (Some(_), None) => false,
    };
    if !unresponsive {
        return;
    }
    if let Some(node) = &node {
        if node.meta.labels.get(SCHEDULABLE_LABEL).map(String::as_str) != Some("false") {
            let _ = world.store.modify::<Node>(key, |n| {
                n.meta
                    .labels
                    .insert(SCHEDULABLE_LABEL.into(), "false".into());
            });
            world.record(
                "Node",
                &node_name,
                "NodeUnresponsive",
                "virt-handler is not responsive, marking node as unschedulable",
            );
        }
        let recheck = world.settings.handler_recheck_ms;
        world.enqueue_after(ControllerId::KubevirtNode, key.clone(), recheck);
    }
    // Fail VMIs whose launcher pod is no longer alive (`alivePodsOnNode`,
    // `filterStuckVirtualMachinesWithoutPods`).
    let objects = world.informer(InformerId::VirtController);
    let stuck: Vec<ObjectKey> = objects
        .vmis
        .values()
        .filter(|vmi| {
            vmi.status.node_name.as_deref() == Some(node_name.as_str())
                && !vmi.status.phase.is_final()
        })
        .filter(|vmi| launcher_pod(objects, vmi).is_none_or(|pod| pod.is_terminated()))
        .map(|vmi| vmi.meta.key())
        .collect();
    for vmi in stuck {
        let _ = world
            .store
            .modify::<VirtualMachineInstance>(&vmi, |v| v.status.phase = VmiPhase::Failed);
        world.record(
            "VirtualMachineInstance",
            &vmi.name,
            "NodeUnresponsive",
            format!("virt-handler on node {node_name} is not responsive, marking VMI as failed"),
        );
    }
}
