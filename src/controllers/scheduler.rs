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
use rand::Rng;
use std::borrow::Cow;
use std::collections::BTreeMap;

pub fn sync(world: &mut World, key: &ObjectKey) {
    forget_confirmed_assumptions(world);
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
        || world.scheduler_assumed.contains_key(key)
    {
        return;
    }
    let pod = pod.clone();
    let assumed = assumed_placements(objects, &world.scheduler_assumed);
    let usage = NodeUsage::new(usage, &assumed);
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

/// Drops assumed pods the informer now shows bound, deleted or gone: from then on the
/// informer's view counts them (`cache.go`, `AddPod` confirms an assumed pod).
fn forget_confirmed_assumptions(world: &mut World) {
    if world.scheduler_assumed.is_empty() {
        return;
    }
    let objects = world.informer(InformerId::KubeControllerManager);
    let confirmed: Vec<ObjectKey> = world
        .scheduler_assumed
        .keys()
        .filter(|key| {
            objects
                .pods
                .get(*key)
                .is_none_or(|p| p.node_name.is_some() || p.meta.is_deleting())
        })
        .cloned()
        .collect();
    for key in confirmed {
        world.scheduler_assumed.remove(&key);
    }
}

/// The pods this scheduler has bound that its informer still shows unbound, with the
/// node each went to (a handful at a time: the pods of one burst).
fn assumed_placements<'a>(
    objects: &'a ObjectSet,
    assumed: &'a BTreeMap<ObjectKey, String>,
) -> Vec<(&'a Pod, &'a str)> {
    assumed
        .iter()
        .filter_map(|(key, node)| Some((objects.pods.get(key)?, node.as_str())))
        .filter(|(pod, _)| !pod.is_terminated())
        .collect()
}

/// What the scheduler counts on each node: the pods its informer shows bound (kept as
/// an index by the informer) plus the pods it has assumed.
struct NodeUsage<'a> {
    bound: &'a BTreeMap<String, Resources>,
    assumed: &'a [(&'a Pod, &'a str)],
    /// The assumed pods' requests summed per node, once per decision (a burst can
    /// have hundreds of assumed pods, and every node is looked at twice).
    assumed_by_node: BTreeMap<&'a str, Resources>,
}

impl<'a> NodeUsage<'a> {
    fn new(bound: &'a BTreeMap<String, Resources>, assumed: &'a [(&'a Pod, &'a str)]) -> Self {
        let mut assumed_by_node: BTreeMap<&str, Resources> = BTreeMap::new();
        for (pod, node) in assumed {
            let used = assumed_by_node.entry(node).or_default();
            used.cpu_milli += pod.requests.cpu_milli;
            used.memory_bytes += pod.requests.memory_bytes;
            used.pods += 1;
        }
        NodeUsage {
            bound,
            assumed,
            assumed_by_node,
        }
    }

    fn on(&self, node: &str) -> Resources {
        let mut used = self.bound.get(node).copied().unwrap_or_default();
        if let Some(assumed) = self.assumed_by_node.get(node) {
            used.cpu_milli += assumed.cpu_milli;
            used.memory_bytes += assumed.memory_bytes;
            used.pods += assumed.pods;
        }
        used
    }
}

fn bind(world: &mut World, pod: &Pod, node: &str) {
    let key = pod.meta.key();
    world
        .scheduler_assumed
        .insert(key.clone(), node.to_string());
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
    usage: &NodeUsage<'_>,
    pod: &Pod,
    candidates: &[&'a Node],
) -> Vec<(&'a str, i64)> {
    let services: Vec<&Service> = objects
        .in_namespace::<Service>(&pod.meta.namespace)
        .filter(|s| !s.selector.is_empty() && s.selector.matches(&pod.meta.labels))
        .collect();
    let bound_counts =
        spread_cache.counts(resource_version, &pod.meta.namespace, &services, || {
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
        });
    // Assumed pods count where they were placed, on top of the informer's view.
    let mut spread_counts: BTreeMap<&str, i64> = bound_counts
        .iter()
        .map(|(node, count)| (node.as_str(), *count))
        .collect();
    for (other, node) in usage.assumed {
        if services
            .iter()
            .any(|s| s.selector.matches(&other.meta.labels))
        {
            *spread_counts.entry(node).or_default() += 1;
        }
    }
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
/// by the same Services, in the informer as of one resource version. Informer caches
/// change only when a watch event is delivered, so every pod the scheduler places in
/// one pass of its queue (a burst of new launcher pods) sees the same counts; they are
/// counted once per pass instead of once per pod (a scan of every pod in the
/// namespace: quadratic in a 10,000-pod burst).
#[derive(Debug, Default)]
pub struct SpreadCache {
    key: Option<(u64, String, Vec<ObjectKey>)>,
    counts: BTreeMap<String, i64>,
}

impl SpreadCache {
    fn counts(
        &mut self,
        resource_version: u64,
        namespace: &str,
        services: &[&Service],
        count: impl FnOnce() -> BTreeMap<String, i64>,
    ) -> &BTreeMap<String, i64> {
        let service_keys: Vec<ObjectKey> = services.iter().map(|s| s.meta.key()).collect();
        let fresh = self.key.as_ref().is_some_and(|(version, ns, keys)| {
            *version == resource_version && ns == namespace && *keys == service_keys
        });
        if !fresh {
            self.counts = if services.is_empty() {
                BTreeMap::new()
            } else {
                count()
            };
            self.key = Some((resource_version, namespace.to_string(), service_keys));
        }
        &self.counts
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
