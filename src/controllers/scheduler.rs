//! The kube-scheduler, for virt-launcher pods: filter nodes (Ready, schedulable,
//! taints tolerated, node selector, requests fit allocatable, immediate claims bound),
//! score them (`NodeResourcesFit` LeastAllocated plus the default `PodTopologySpread`
//! by hostname over pods the same Services select), break ties at random, and bind.
//!
//! Like kube-scheduler, it counts the pods it has just bound before its informer shows
//! them bound ("assumed pods": kubernetes `pkg/scheduler/schedule_one.go`,
//! `schedulingCycle` → `assume` → `Cache.AssumePod`), so pods created together spread
//! over the nodes instead of all landing on the node that looked emptiest.

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::store::ObjectSet;
use crate::cluster::world::{ControllerId, World};
use crate::engine::SimTime;
use rand::Rng;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Most (pod, node) evaluations one run's scheduler may make when the
/// `maxSchedulerEvaluations` setting is 0 (the default). Not an upstream value: the
/// scheduler filters every node for every scheduling attempt (as kube-scheduler does
/// with `percentageOfNodesToScore` at 100%), so its work is attempts times nodes, and
/// the event budget alone would let 100,000 pods on 10,000 nodes run for hours. The
/// largest benchmark (bench-scale: 10,000 VMs on 1,000 nodes for a day) makes about
/// 11 million, 10 million of them in its first hour; at about 0.5 µs each (measured
/// at 10,000 nodes) the default stopped 100,000 pods on 10,000 nodes after 29 s of
/// CPU. See docs/LIMITS.md for the measurements.
pub const DEFAULT_MAX_SCHEDULER_EVALUATIONS: u64 = 50_000_000;

/// The scheduler's share of a run's runtime bound: (pod, node) evaluations counted,
/// one per node filtered in each scheduling attempt. Deterministic: it counts work,
/// never wall-clock time.
#[derive(Debug, Default)]
pub struct WorkBudget {
    used: u64,
}

impl WorkBudget {
    /// The evaluations made so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Counts `nodes` more evaluations against `max` (0: the default), or says why
    /// the run must stop.
    fn admit(&mut self, nodes: u64, max: u64, at: SimTime) -> Result<(), String> {
        let max = if max == 0 {
            DEFAULT_MAX_SCHEDULER_EVALUATIONS
        } else {
            max
        };
        if self.used.saturating_add(nodes) > max {
            return Err(format!(
                "the run stopped at {at} after {} scheduler evaluations (one pod filtered against one node), the limit {max} (setting maxSchedulerEvaluations, docs/LIMITS.md): the scheduler's work grows with pods times nodes; use fewer replicas or nodes, shorten the scenario, or raise spec.settings.maxSchedulerEvaluations",
                self.used
            ));
        }
        self.used += nodes;
        Ok(())
    }
}

pub fn sync(world: &mut World, key: &ObjectKey) {
    if world.fatal.is_some() {
        return;
    }
    let informer = &world.informers[InformerId::KubeControllerManager.index()];
    let objects = &informer.objects;
    let usage = &informer.node_requests;
    debug_assert!(
        usage
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
    let nodes = objects.nodes.len() as u64;
    let max = world.settings.max_scheduler_evaluations;
    if let Err(message) = world.scheduler_work.admit(nodes, max, world.queue.now()) {
        world.fatal = Some(message);
        return;
    }
    let pod = pod.clone();
    let usage = NodeUsage {
        bound: usage,
        assumed: &world.scheduler_assumed.requests_by_node,
    };
    let (candidates, reasons) = feasible_nodes(objects, &usage, &pod);
    if candidates.is_empty() {
        let total = objects.nodes.len();
        let mut summary: Vec<String> = reasons
            .iter()
            .map(|(reason, count)| format!("{count} {reason}"))
            .collect();
        summary.sort();
        let message = format!("0/{total} nodes are available: {}.", summary.join(", "));
        let was_unschedulable = pod.unschedulable;
        let _ = world
            .store
            .modify::<Pod>(key, |pod| pod.unschedulable = true);
        if !was_unschedulable {
            world.record("Pod", &pod.meta.name, "FailedScheduling", message);
        }
        let retry = world.settings.unschedulable_retry_ms;
        world.enqueue_after(ControllerId::Scheduler, key.clone(), retry);
        return;
    }
    let resource_version = informer.last_resource_version;
    let scores = score(
        objects,
        resource_version,
        &mut world.spread_cache,
        &world.scheduler_assumed,
        &usage,
        &pod,
        &candidates,
    );
    let best = scores.iter().map(|(_, s)| *s).max().unwrap_or(0);
    let top: Vec<&str> = scores
        .iter()
        .filter(|(_, s)| *s == best)
        .map(|(n, _)| *n)
        .collect();
    // The tie-break draws from the "scheduler" stream exactly as `World::rng` would;
    // the stream is reached through its field so that `top` may keep borrowing the
    // informer's node names.
    let streams = world.streams;
    let rng = world
        .rngs
        .entry("scheduler")
        .or_insert_with(|| streams.stream("scheduler"));
    let node = top[rng.random_range(0..top.len())].to_string();
    bind(world, &pod, &node);
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
    let objects = &world.informers[InformerId::KubeControllerManager.index()].objects;
    world.scheduler_assumed.observe(key, objects.get(key));
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
    world.spread_cache.assumed(pod, node);
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

fn feasible_nodes<'a>(
    objects: &'a ObjectSet,
    usage: &NodeUsage<'_>,
    pod: &Pod,
) -> (Vec<&'a Node>, BTreeMap<Cow<'static, str>, usize>) {
    // Reasons are mostly fixed texts, counted per node without copying them.
    let mut reasons: BTreeMap<Cow<'static, str>, usize> = BTreeMap::new();
    let mut feasible = Vec::new();
    // A claim with Immediate binding must be bound before the pod can be placed
    // (`VolumeBinding` filter).
    for claim in &pod.claim_refs {
        let claim_key = ObjectKey::new(&pod.meta.namespace, claim);
        let Some(pvc) = objects.pvcs.get(&claim_key) else {
            *reasons
                .entry(format!("persistentvolumeclaim \"{claim}\" not found").into())
                .or_default() += objects.nodes.len();
            return (feasible, reasons);
        };
        let wait_for_consumer = pvc
            .storage_class
            .as_ref()
            .and_then(|sc| objects.storage_classes.get(&ObjectKey::cluster(sc)))
            .is_some_and(|sc| sc.volume_binding_mode == VolumeBindingMode::WaitForFirstConsumer);
        if pvc.phase != PvcPhase::Bound && !wait_for_consumer {
            *reasons
                .entry(Cow::Borrowed(
                    "pod has unbound immediate PersistentVolumeClaims",
                ))
                .or_default() += objects.nodes.len();
            return (feasible, reasons);
        }
    }
    for node in objects.nodes.values() {
        let reason: Option<Cow<'static, str>> = if node.meta.is_deleting() {
            Some("node(s) were being deleted".into())
        } else if node.unschedulable {
            Some("node(s) were unschedulable".into())
        } else if let Some(taint) = untolerated_taint(node, pod) {
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
fn untolerated_taint(node: &Node, pod: &Pod) -> Option<String> {
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
        .find(|taint| !pod.tolerations.iter().any(|tol| tol.tolerates(taint)))
        .map(|taint| taint.key)
}

/// LeastAllocated (cpu and memory weighted equally, 0-100) plus topology spread by
/// hostname (0-100, fewer pods of the same Services scores higher). Candidates are the
/// feasible nodes themselves, in name order, so scoring looks none up.
fn score<'a>(
    objects: &ObjectSet,
    resource_version: u64,
    spread_cache: &mut SpreadCache,
    assumed: &AssumedPods,
    usage: &NodeUsage<'_>,
    pod: &Pod,
    candidates: &[&'a Node],
) -> Vec<(&'a str, i64)> {
    let services: Vec<&Service> = objects
        .in_namespace::<Service>(&pod.meta.namespace)
        .filter(|s| !s.selector.is_empty() && s.selector.matches(&pod.meta.labels))
        .collect();
    let spread_counts = spread_cache.counts(
        resource_version,
        &pod.meta.namespace,
        &services,
        assumed,
        || {
            let mut counts: BTreeMap<String, i64> = BTreeMap::new();
            for other in objects.in_namespace::<Pod>(&pod.meta.namespace) {
                if let Some(node) = other.node_name.as_deref() {
                    if !other.is_terminated()
                        && services
                            .iter()
                            .any(|s| s.selector.matches(&other.meta.labels))
                    {
                        match counts.get_mut(node) {
                            Some(count) => *count += 1,
                            None => drop(counts.insert(node.to_string(), 1)),
                        }
                    }
                }
            }
            counts
        },
    );
    let max_count = candidates
        .iter()
        .map(|n| {
            spread_counts
                .get(n.meta.name.as_str())
                .copied()
                .unwrap_or(0)
        })
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
                let count = spread_counts.get(name).copied().unwrap_or(0);
                (max_count - count) * 100 / max_count
            };
            (name, least_allocated + spread)
        })
        .collect()
}

/// The topology spread counts of the last scheduling decision: pods per node selected
/// by the same Services, bound in the informer as of one resource version, plus the
/// assumed pods. Informer caches change only when a watch event is delivered, so every
/// pod the scheduler places in one pass of its queue (a burst of new launcher pods)
/// sees the same bound pods: they are counted once per pass instead of once per pod (a
/// scan of every pod in the namespace: quadratic in a 10,000-pod burst), and each pod
/// assumed during the pass is added as it is bound.
#[derive(Debug, Default)]
pub struct SpreadCache {
    key: Option<(u64, String, Vec<ObjectKey>)>,
    /// The key's Services' selectors, to tell whether a pod assumed later counts.
    selectors: Vec<LabelSelector>,
    counts: BTreeMap<String, i64>,
}

impl SpreadCache {
    fn counts(
        &mut self,
        resource_version: u64,
        namespace: &str,
        services: &[&Service],
        assumed: &AssumedPods,
        count_bound: impl FnOnce() -> BTreeMap<String, i64>,
    ) -> &BTreeMap<String, i64> {
        let service_keys: Vec<ObjectKey> = services.iter().map(|s| s.meta.key()).collect();
        let fresh = self.key.as_ref().is_some_and(|(version, ns, keys)| {
            *version == resource_version && ns == namespace && *keys == service_keys
        });
        if !fresh {
            self.selectors = services.iter().map(|s| s.selector.clone()).collect();
            self.counts = if services.is_empty() {
                BTreeMap::new()
            } else {
                count_bound()
            };
            // Assumed pods count where they were placed, on top of the informer's view.
            for (key, pod) in &assumed.pods {
                if key.namespace == namespace && pod.counted.is_some() && self.selects(&pod.labels)
                {
                    *self.counts.entry(pod.node.clone()).or_default() += 1;
                }
            }
            self.key = Some((resource_version, namespace.to_string(), service_keys));
        }
        &self.counts
    }

    fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.selectors.iter().any(|s| s.matches(labels))
    }

    /// `pod` was just assumed on `node`: it counts there from now on, if the counts
    /// are for Services that select it.
    fn assumed(&mut self, pod: &Pod, node: &str) {
        let counts_it = self
            .key
            .as_ref()
            .is_some_and(|(_, namespace, _)| *namespace == pod.meta.namespace)
            && !pod.is_terminated()
            && self.selects(&pod.meta.labels);
        if counts_it {
            *self.counts.entry(node.to_string()).or_default() += 1;
        }
    }
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
