//! The kube-scheduler, for virt-launcher pods: filter nodes (Ready, schedulable,
//! taints tolerated, node selector, requests fit allocatable, immediate claims bound),
//! score them (`NodeResourcesFit` LeastAllocated plus the default `PodTopologySpread`
//! by hostname over pods the same Services select), break ties at random, and bind.
//!
//! Like kube-scheduler, it counts the pods it has just bound before its informer shows
//! them bound ("assumed pods": kubernetes `pkg/scheduler/schedule_one.go`,
//! `schedulingCycle` → `assume` → `Cache.AssumePod`), so pods created together spread
//! over the nodes instead of all landing on the node that looked emptiest.
//!
//! Beyond 100 nodes a search stops at `numFeasibleNodesToFind` feasible nodes, starting
//! where the last one stopped (`percentageOfNodesToScore`, docs/FIDELITY.md §19). The
//! filter and score results are kept per node between placements
//! (`scheduler_index.rs`); `full_pass` is the walk of every node they must equal, run
//! when invariants are checked.

use super::scheduler_index::{num_feasible_nodes_to_find, Decision, ShapeKey};
use crate::api::*;
use crate::cluster::informer::{Informer, InformerId};
use crate::cluster::store::ObjectSet;
use crate::cluster::world::{ControllerId, World};
use crate::engine::SimTime;
use rand::Rng;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Most evaluations one run's scheduler may make when the `maxSchedulerEvaluations`
/// setting is 0 (the default). Not an upstream value. An evaluation is one node
/// filtered and scored for one kind of pod (`scheduler_index::ShapeKey`), plus one per
/// scheduling attempt: the scheduler's node index evaluates every node when a kind of
/// pod is first placed and after a node or Service change, and otherwise only the nodes
/// whose pods changed. Its work is therefore pods plus nodes times node changes, not
/// pods times nodes; the bound stops a run whose nodes change so often (or whose pods
/// are so varied) that the index is rebuilt without end. bench-scale (10,000 VMs on
/// 1,000 nodes for a day) makes about 30,000; see docs/LIMITS.md for the measurements.
pub const DEFAULT_MAX_SCHEDULER_EVALUATIONS: u64 = 50_000_000;

/// The scheduler's share of a run's runtime bound: evaluations counted, one per
/// scheduling attempt plus one per node the index filters and scores again for it.
/// Deterministic: it counts work, never wall-clock time.
#[derive(Debug, Default)]
pub struct WorkBudget {
    used: u64,
}

impl WorkBudget {
    /// The evaluations made so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Counts `evaluations` more against `max` (0: the default), or says why the run
    /// must stop.
    fn admit(&mut self, evaluations: u64, max: u64, at: SimTime) -> Result<(), String> {
        let max = if max == 0 {
            DEFAULT_MAX_SCHEDULER_EVALUATIONS
        } else {
            max
        };
        if self.used.saturating_add(evaluations) > max {
            return Err(format!(
                "the run stopped at {at} after {} scheduler evaluations (one node filtered and scored for one kind of pod, plus one per attempt), the limit {max} (setting maxSchedulerEvaluations, docs/LIMITS.md): the scheduler's work grows with pods, and with nodes times node or Service changes; use fewer replicas, nodes or node events, shorten the scenario, or raise spec.settings.maxSchedulerEvaluations",
                self.used
            ));
        }
        self.used += evaluations;
        Ok(())
    }
}

pub fn sync(world: &mut World, key: &ObjectKey) {
    if world.fatal.is_some() {
        return;
    }
    let informer = &world.informers[InformerId::KubeControllerManager.index()];
    let objects = &informer.objects;
    debug_assert!(
        informer
            .node_requests
            .iter()
            .map(|(node, used)| (node.as_str(), *used))
            .eq(node_usage(objects)),
        "the node requests index differs from a fresh sum"
    );
    let Some(pod) = objects.pods.get(key) else {
        return;
    };
    if pod.node_name.is_some()
        || pod.meta.is_deleting()
        || world.scheduler_assumed.pods.contains_key(key)
    {
        return;
    }
    let pod = pod.clone();
    let services = selecting_services(objects, &pod);
    let shape = ShapeKey::of(&pod, &services);
    let claim_failure = unbound_claim(objects, &pod);
    // One evaluation for the attempt, plus the nodes the index filters and scores
    // again for it (none when a claim holds the pod back).
    let evaluations = 1 + match claim_failure {
        Some(_) => 0,
        None => world.spread_cache.evaluations_needed(informer, &shape),
    };
    let max = world.settings.max_scheduler_evaluations;
    if let Err(message) = world
        .scheduler_work
        .admit(evaluations, max, world.queue.now())
    {
        world.fatal = Some(message);
        return;
    }
    if let Some(reason) = claim_failure {
        let total = objects.nodes.len();
        let message = format!("0/{total} nodes are available: {total} {reason}.");
        return unschedulable(world, key, &pod, message);
    }
    let selectors = services.iter().map(|s| s.selector.clone()).collect();
    let check = world.check_invariants.then(|| shape.clone());
    // The tie-break draws from the "scheduler" stream exactly as `World::rng` would;
    // the stream is reached through its field so that the index may keep borrowing
    // the informer.
    let (streams, rngs) = (world.streams, &mut world.rngs);
    let percentage = world.settings.percentage_of_nodes_to_score;
    let (decision, start) = world.spread_cache.place(
        informer,
        &world.scheduler_assumed,
        shape,
        selectors,
        percentage,
        |tied| {
            let rng = rngs
                .entry("scheduler")
                .or_insert_with(|| streams.stream("scheduler"));
            rng.random_range(0..tied)
        },
    );
    if let Some(shape) = check {
        check_against_full_pass(world, &pod, &shape, start);
    }
    match decision {
        Decision::Unschedulable(message) => unschedulable(world, key, &pod, message),
        Decision::Node(node) => bind(world, &pod, &node),
    }
}

/// The Services in the pod's namespace whose (non-empty) selector selects it: its
/// topology spread counts the pods they select.
fn selecting_services<'a>(objects: &'a ObjectSet, pod: &'a Pod) -> Vec<&'a Service> {
    objects
        .in_namespace::<Service>(&pod.meta.namespace)
        .filter(|s| !s.selector.is_empty() && s.selector.matches(&pod.meta.labels))
        .collect()
}

/// The `VolumeBinding` filter: a claim with Immediate binding must be bound before the
/// pod can be placed on any node. The reason every node fails, if one is not.
fn unbound_claim(objects: &ObjectSet, pod: &Pod) -> Option<String> {
    for claim in &pod.claim_refs {
        let claim_key = ObjectKey::new(&pod.meta.namespace, claim);
        let Some(pvc) = objects.pvcs.get(&claim_key) else {
            return Some(format!("persistentvolumeclaim \"{claim}\" not found"));
        };
        let wait_for_consumer = pvc
            .storage_class
            .as_ref()
            .and_then(|sc| objects.storage_classes.get(&ObjectKey::cluster(sc)))
            .is_some_and(|sc| sc.volume_binding_mode == VolumeBindingMode::WaitForFirstConsumer);
        if pvc.phase != PvcPhase::Bound && !wait_for_consumer {
            return Some("pod has unbound immediate PersistentVolumeClaims".into());
        }
    }
    None
}

/// No node fits: mark the pod `PodScheduled=False`, tell why once, retry later.
fn unschedulable(world: &mut World, key: &ObjectKey, pod: &Pod, message: String) {
    let was_unschedulable = pod.unschedulable;
    let _ = world
        .store
        .modify::<Pod>(key, |pod| pod.unschedulable = true);
    if !was_unschedulable {
        world.record("Pod", &pod.meta.name, "FailedScheduling", message);
    }
    let retry = world.settings.unschedulable_retry_ms;
    world.enqueue_after(ControllerId::Scheduler, key.clone(), retry);
}

/// For the invariant checker: what the index decided for `pod` (its best-scored nodes,
/// or why none fits) equals a fresh walk of every node, with usage and spread counts
/// summed afresh. A difference is a bug in the index: it panics.
fn check_against_full_pass(world: &mut World, pod: &Pod, shape: &ShapeKey, start: usize) {
    let informer = &world.informers[InformerId::KubeControllerManager.index()];
    let percentage = world.settings.percentage_of_nodes_to_score;
    let to_find = num_feasible_nodes_to_find(percentage, informer.objects.nodes.len());
    let expected = full_pass(informer, &world.scheduler_assumed, pod, start, to_find);
    let kept = world.spread_cache.outcome(shape, start, percentage);
    assert_eq!(
        kept,
        expected,
        "invariant broken at {}: the scheduler's node index decided otherwise than a walk of every node for {}",
        world.queue.now(),
        pod.meta.key()
    );
}

/// The pods this scheduler has bound that its informer does not show bound yet, its
/// "assumed pods" (kubernetes `pkg/scheduler/internal/cache/cache.go`: `AssumePod`
/// adds a pod to its node's `NodeInfo` at once, `AddPod` confirms it when the informer
/// shows it bound, `RemovePod` drops it), with their requests summed per node.
///
/// Kept one pod at a time, on binds and on the informer's pod events, as the cache
/// upstream is: a burst of N pods placed in one pass of the queue costs O(N), where
/// rescanning every assumed pod for every decision was O(N²).
#[derive(Debug, Default)]
pub struct AssumedPods {
    /// Pod key → the node it was bound to and what it counts there.
    pods: BTreeMap<ObjectKey, AssumedPod>,
    /// The requests of the assumed pods that count, summed per node.
    requests_by_node: BTreeMap<String, Resources>,
}

#[derive(Debug, Clone)]
struct AssumedPod {
    node: String,
    /// Its requests, while it counts on its node: while the informer shows it, not
    /// terminated.
    counted: Option<Resources>,
    /// Its labels, for topology spread.
    labels: BTreeMap<String, String>,
}

impl AssumedPods {
    /// Assume `pod` bound to `node`.
    fn assume(&mut self, pod: &Pod, node: &str) {
        self.forget(&pod.meta.key());
        let assumed = AssumedPod {
            node: node.to_string(),
            counted: None,
            labels: pod.meta.labels.clone(),
        };
        self.pods.insert(pod.meta.key(), assumed);
        self.recount(&pod.meta.key(), Some(pod));
    }

    /// The informer's pod `key` changed to `pod` (`None`: gone): a pod it shows bound,
    /// deleting or gone is confirmed (or dropped) and no longer assumed; otherwise what
    /// it counts follows the informer's copy.
    fn observe(&mut self, key: &ObjectKey, pod: Option<&Pod>) {
        if !self.pods.contains_key(key) {
            return;
        }
        match pod {
            Some(pod) if pod.node_name.is_none() && !pod.meta.is_deleting() => {
                self.recount(key, Some(pod))
            }
            _ => self.forget(key),
        }
    }

    fn forget(&mut self, key: &ObjectKey) {
        self.recount(key, None);
        self.pods.remove(key);
    }

    /// Sets what the assumed pod `key` counts on its node from the informer's `pod`.
    fn recount(&mut self, key: &ObjectKey, pod: Option<&Pod>) {
        let Some(assumed) = self.pods.get_mut(key) else {
            return;
        };
        let counted = pod.filter(|p| !p.is_terminated()).map(one_pod);
        if let Some(old) = assumed.counted.take() {
            let sum = self
                .requests_by_node
                .get_mut(&assumed.node)
                .expect("a counted pod is in its node's sum");
            add_requests(sum, &old, -1);
            if sum.pods == 0 {
                self.requests_by_node.remove(&assumed.node);
            }
        }
        if let Some(new) = counted {
            let sum = self
                .requests_by_node
                .entry(assumed.node.clone())
                .or_default();
            add_requests(sum, &new, 1);
        }
        assumed.counted = counted;
    }

    /// The node the pod `key` is assumed on, if it is.
    pub(super) fn node_of(&self, key: &ObjectKey) -> Option<&str> {
        self.pods.get(key).map(|assumed| assumed.node.as_str())
    }

    /// For the invariant checker: the pods still assumed are those the informer does
    /// not show bound, deleting or gone, each counting the informer's copy, and the
    /// sums per node are theirs.
    pub(crate) fn agrees_with(&self, objects: &ObjectSet) -> bool {
        let mut sums: BTreeMap<&str, Resources> = BTreeMap::new();
        for (key, assumed) in &self.pods {
            let Some(pod) = objects.pods.get(key) else {
                return false;
            };
            if pod.node_name.is_some() || pod.meta.is_deleting() {
                return false;
            }
            let counted = (!pod.is_terminated()).then(|| one_pod(pod));
            if counted != assumed.counted {
                return false;
            }
            if let Some(requests) = counted {
                add_requests(sums.entry(assumed.node.as_str()).or_default(), &requests, 1);
            }
        }
        sums.len() == self.requests_by_node.len()
            && sums
                .iter()
                .zip(&self.requests_by_node)
                .all(|((node, sum), (name, kept))| node == name && sum == kept)
    }
}

/// What one pod counts on its node: its requests, and one pod.
fn one_pod(pod: &Pod) -> Resources {
    Resources {
        pods: 1,
        ..pod.requests
    }
}

/// Adds (`sign` 1) or removes (-1) a pod's (or a sum's) requests to a node's sum.
fn add_requests(sum: &mut Resources, requests: &Resources, sign: i64) {
    sum.cpu_milli += sign * requests.cpu_milli;
    sum.memory_bytes += sign * requests.memory_bytes;
    sum.pods += sign * requests.pods;
}

/// The kube-controller-manager informer's pod `key` changed: the scheduler's cache
/// confirms or recounts an assumed pod.
pub fn on_pod_event(world: &mut World, key: &ObjectKey) {
    let informer = &world.informers[InformerId::KubeControllerManager.index()];
    world
        .scheduler_assumed
        .observe(key, informer.objects.get(key));
    world
        .spread_cache
        .pod_changed(informer, &world.scheduler_assumed, key);
}

/// What the scheduler counts on each node: the pods its informer shows bound (kept as
/// an index by the informer) plus the pods it has assumed.
struct NodeUsage<'a> {
    bound: &'a BTreeMap<String, Resources>,
    assumed: &'a BTreeMap<String, Resources>,
}

impl NodeUsage<'_> {
    fn on(&self, node: &str) -> Resources {
        let mut used = self.bound.get(node).copied().unwrap_or_default();
        if let Some(assumed) = self.assumed.get(node) {
            add_requests(&mut used, assumed, 1);
        }
        used
    }
}

fn bind(world: &mut World, pod: &Pod, node: &str) {
    let key = pod.meta.key();
    world.scheduler_assumed.assume(pod, node);
    let informer = &world.informers[InformerId::KubeControllerManager.index()];
    world
        .spread_cache
        .pod_changed(informer, &world.scheduler_assumed, &key);
    let _ = world.store.modify::<Pod>(&key, |pod| {
        pod.node_name = Some(node.to_string());
        pod.unschedulable = false;
    });
    // WaitForFirstConsumer claims learn their node from the scheduler
    // (`volume.kubernetes.io/selected-node`).
    for claim in &pod.claim_refs {
        let claim_key = ObjectKey::new(&pod.meta.namespace, claim);
        let _ = world
            .store
            .modify::<PersistentVolumeClaim>(&claim_key, |pvc| {
                if pvc.phase == PvcPhase::Pending && pvc.selected_node.is_none() {
                    pvc.selected_node = Some(node.to_string());
                }
            });
    }
    world.record(
        "Pod",
        &pod.meta.name,
        "Scheduled",
        format!("Successfully assigned {key} to {node}"),
    );
}

/// Requests of pods bound to each node and not terminated, summed afresh (the
/// informer keeps the same sums as `Informer::node_requests`).
pub fn node_usage(objects: &ObjectSet) -> BTreeMap<&str, Resources> {
    let mut usage: BTreeMap<&str, Resources> = BTreeMap::new();
    for pod in objects.pods.values() {
        if let (Some(node), false) = (pod.node_name.as_deref(), pod.is_terminated()) {
            let entry = usage.entry(node).or_default();
            entry.cpu_milli += pod.requests.cpu_milli;
            entry.memory_bytes += pod.requests.memory_bytes;
            entry.pods += 1;
        }
    }
    usage
}

/// The nodes that pass every filter, in name order, and how many fail each reason
/// (the claims are checked before, by `unbound_claim`).
fn feasible_nodes<'a>(
    objects: &'a ObjectSet,
    usage: &NodeUsage<'_>,
    pod: &Pod,
) -> (Vec<&'a Node>, BTreeMap<Cow<'static, str>, usize>) {
    // Reasons are mostly fixed texts, counted per node without copying them.
    let mut reasons: BTreeMap<Cow<'static, str>, usize> = BTreeMap::new();
    let mut feasible = Vec::new();
    for node in objects.nodes.values() {
        let node: &Node = node;
        let reason: Option<Cow<'static, str>> = if node.meta.is_deleting() {
            Some("node(s) were being deleted".into())
        } else if node.unschedulable {
            Some("node(s) were unschedulable".into())
        } else if let Some(taint) = untolerated_taint(node, &pod.tolerations) {
            Some(format!("node(s) had untolerated taint {{{taint}: }}").into())
        } else if !pod
            .node_selector
            .iter()
            .all(|(k, v)| node.meta.labels.get(k) == Some(v))
        {
            Some("node(s) didn't match Pod's node affinity/selector".into())
        } else {
            let used = usage.on(&node.meta.name);
            if used.cpu_milli + pod.requests.cpu_milli > node.allocatable.cpu_milli {
                Some("Insufficient cpu".into())
            } else if used.memory_bytes + pod.requests.memory_bytes > node.allocatable.memory_bytes
            {
                Some("Insufficient memory".into())
            } else if used.pods + 1 > node.allocatable.pods {
                Some("Too many pods".into())
            } else {
                None
            }
        };
        match reason {
            Some(reason) => *reasons.entry(reason).or_default() += 1,
            None => feasible.push(node),
        }
    }
    (feasible, reasons)
}

/// The key of a node taint the pod does not tolerate, for scheduling (NoSchedule and
/// NoExecute). A node that is not Ready also carries the `TaintNodesByCondition`
/// NoSchedule taint for its condition.
pub(super) fn untolerated_taint(node: &Node, tolerations: &[Toleration]) -> Option<String> {
    let mut taints: Vec<Taint> = node
        .taints
        .iter()
        .filter(|t| t.effect != TaintEffect::PreferNoSchedule)
        .cloned()
        .collect();
    if node.ready != ConditionStatus::True {
        let key = if node.ready == ConditionStatus::Unknown {
            TAINT_UNREACHABLE
        } else {
            TAINT_NOT_READY
        };
        taints.push(Taint {
            key: key.into(),
            value: String::new(),
            effect: TaintEffect::NoSchedule,
            time_added: node.ready_transition,
        });
    }
    taints
        .into_iter()
        .find(|taint| !tolerations.iter().any(|tol| tol.tolerates(taint)))
        .map(|taint| taint.key)
}

/// The decision as a walk of every node in name order makes it, with usage and
/// spread counts summed afresh: the best-scored of the first `to_find` feasible nodes
/// from node `start` on (wrapping), in that order, or the `FailedScheduling` message.
/// What the index must give.
fn full_pass(
    informer: &Informer,
    assumed: &AssumedPods,
    pod: &Pod,
    start: usize,
    to_find: usize,
) -> Result<Vec<String>, String> {
    let objects = &informer.objects;
    let usage = NodeUsage {
        bound: &informer.node_requests,
        assumed: &assumed.requests_by_node,
    };
    let (candidates, reasons) = feasible_nodes(objects, &usage, pod);
    if candidates.is_empty() {
        let mut summary: Vec<String> = reasons
            .iter()
            .map(|(reason, count)| format!("{count} {reason}"))
            .collect();
        summary.sort();
        let total = objects.nodes.len();
        return Err(format!(
            "0/{total} nodes are available: {}.",
            summary.join(", ")
        ));
    }
    let all = objects.nodes.len();
    let index: BTreeMap<&str, usize> = objects
        .nodes
        .values()
        .enumerate()
        .map(|(i, node)| (node.meta.name.as_str(), i))
        .collect();
    let mut candidates = candidates;
    candidates.sort_by_key(|node| (index[node.meta.name.as_str()] + all - start) % all);
    candidates.truncate(to_find);
    let counts = spread_counts(objects, assumed, pod);
    let scores = score(&counts, &usage, pod, &candidates);
    let best = scores.iter().map(|(_, s)| *s).max().unwrap_or(0);
    Ok(scores
        .into_iter()
        .filter(|(_, s)| *s == best)
        .map(|(node, _)| node.to_string())
        .collect())
}

/// Topology spread by hostname: per node, the pods the Services that select `pod`
/// select, bound in the informer or assumed, not terminated.
fn spread_counts<'a>(
    objects: &'a ObjectSet,
    assumed: &'a AssumedPods,
    pod: &'a Pod,
) -> BTreeMap<&'a str, i64> {
    let services = selecting_services(objects, pod);
    let selected = |labels: &Labels| services.iter().any(|s| s.selector.matches(labels));
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for other in objects.in_namespace::<Pod>(&pod.meta.namespace) {
        if let Some(node) = other.node_name.as_deref() {
            if !other.is_terminated() && selected(&other.meta.labels) {
                *counts.entry(node).or_default() += 1;
            }
        }
    }
    for (key, other) in &assumed.pods {
        if key.namespace == pod.meta.namespace && other.counted.is_some() && selected(&other.labels)
        {
            *counts.entry(other.node.as_str()).or_default() += 1;
        }
    }
    counts
}

/// LeastAllocated (cpu and memory weighted equally, 0-100) plus topology spread by
/// hostname (0-100, fewer pods of the same Services scores higher).
fn score<'a>(
    spread_counts: &BTreeMap<&str, i64>,
    usage: &NodeUsage<'_>,
    pod: &Pod,
    candidates: &[&'a Node],
) -> Vec<(&'a str, i64)> {
    let count_on = |name: &str| spread_counts.get(name).copied().unwrap_or(0);
    let max_count = candidates
        .iter()
        .map(|n| count_on(&n.meta.name))
        .max()
        .unwrap_or(0);
    candidates
        .iter()
        .map(|node| {
            let name = node.meta.name.as_str();
            let used = usage.on(name);
            let free = |used: i64, request: i64, capacity: i64| {
                if capacity <= 0 {
                    0
                } else {
                    ((capacity - used - request).max(0) * 100) / capacity
                }
            };
            let least_allocated = (free(
                used.cpu_milli,
                pod.requests.cpu_milli,
                node.allocatable.cpu_milli,
            ) + free(
                used.memory_bytes,
                pod.requests.memory_bytes,
                node.allocatable.memory_bytes,
            )) / 2;
            let spread = if max_count == 0 {
                100
            } else {
                (max_count - count_on(name)) * 100 / max_count
            };
            (name, least_allocated + spread)
        })
        .collect()
}

/// Node or claim changes can make unschedulable pods schedulable: retry them
/// (the scheduling queue's move-to-active on cluster events).
pub fn on_node_event(world: &mut World) {
    let pending: Vec<ObjectKey> = world
        .informer(InformerId::KubeControllerManager)
        .pods
        .values()
        .filter(|p| p.node_name.is_none() && p.unschedulable && !p.meta.is_deleting())
        .map(|p| p.meta.key())
        .collect();
    for key in pending {
        world.enqueue(ControllerId::Scheduler, key);
    }
}
