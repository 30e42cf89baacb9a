//! Load, the metrics pipeline and the HPA controller loop.
//!
//! - Load: the scenario's demand (cores) goes to the pool's Service and is split evenly
//!   over its ready endpoints (kube-proxy iptables picks endpoints at random per
//!   connection: even in expectation). A guest uses at most its vCPUs, plus an idle
//!   baseline; guests that are not endpoints use only the baseline.
//! - Kubelet: cumulative CPU counters per launcher pod (cAdvisor `usageCoreNanoSeconds`).
//! - metrics-server (`pkg/scraper`, `pkg/storage`): scrapes every resolution (15 s in
//!   its shipped manifests), keeps the last two samples, and reports the rate between
//!   them; a pod without two samples has no metric. Pods on a node that is not
//!   reporting are not scraped, so their metrics go stale and vanish.
//! - The HPA controller (`pkg/controller/podautoscaler/horizontal.go`) syncs every
//!   15 s through the scale subresource of the pool and the pods its
//!   `status.labelSelector` matches; the decision is `crate::hpa::sync`.

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::store::ObjectSet;
use crate::cluster::truth::{Guest, GuestState};
use crate::cluster::world::{Timer, World};
use crate::engine::SimTime;
use crate::hpa::replica_calculator::{
    PodInput, PodMetric, PodPhase as HpaPodPhase, PodReadyCondition, ResourceAmounts,
};
use crate::hpa::{self, HpaHistory, HpaSettings, ScaleInput};
use std::collections::{BTreeMap, BTreeSet};

/// CPU a guest uses when idle, in cores (inferred: an idle Linux guest with qemu).
const IDLE_CORES: f64 = 0.02;

/// What the kubelet and metrics-server hold for one launcher pod.
#[derive(Debug, Default)]
struct PodCpu {
    /// Cumulative CPU in core-milliseconds (the kubelet's counter).
    cumulative: f64,
    /// The rate (cores) since the last scrape.
    rate: f64,
    /// metrics-server's last two samples: (time, cumulative).
    samples: [(SimTime, f64); 2],
    /// How many scrapes metrics-server took of this pod.
    scrapes: u32,
    /// The pod's uid: a pod recreated under the same name starts from zero.
    uid: String,
}

#[derive(Debug, Default)]
pub struct MetricsState {
    /// Per running launcher pod, by the pod's key. One map rather than one per
    /// quantity, in the store's key order: a scrape walks it beside the store's pods,
    /// so the 15 s tick is linear in pods (it was quadratic with a list of live uids).
    pods: BTreeMap<ObjectKey, PodCpu>,
    histories: BTreeMap<ObjectKey, HpaHistory>,
    pub hpa_settings: HpaSettings,
    /// The metrics-server resolution and the HPA sync period.
    pub resolution_ms: u64,
    pub hpa_sync_ms: u64,
}

pub fn start(world: &mut World) {
    world.metrics.resolution_ms = world.settings.metrics_resolution_ms;
    world.metrics.hpa_sync_ms = world.metrics.hpa_settings.sync_period_ms.max(1);
    let period = world.metrics.resolution_ms.max(1);
    world.schedule_timer_at(SimTime(period), Timer::Metrics);
}

/// The HPA's last observed CPU utilization, for the timeseries.
pub fn observed_utilization_pct(hpa: &HorizontalPodAutoscaler) -> Option<i64> {
    hpa.status
        .current_metrics
        .iter()
        .find_map(|m| m.average_utilization_pct)
        .map(i64::from)
}

pub fn tick(world: &mut World) {
    let now = world.now();
    let period = world.metrics.resolution_ms.max(1);
    world.schedule_timer(period, Timer::Metrics);
    if world.store.objects().hpas.is_empty() && world.load.is_empty() {
        return;
    }
    scrape(world, now);
    if now.0 % world.metrics.hpa_sync_ms < period {
        sync_autoscalers(world, now);
    }
}

/// The load split over ready endpoints, as a rate per guest.
struct Usage<'a> {
    /// VMI uids of the launcher pods that are ready endpoints of a Service.
    endpoint_vmis: BTreeSet<&'a str>,
    /// Demand per endpoint in cores (a pod selected by two Services counts twice in
    /// the division, as it is two endpoints).
    share: f64,
}

impl Usage<'_> {
    /// The CPU a guest uses now, in cores: a running guest idles at its baseline, and
    /// one behind a ready endpoint adds its share, up to its vCPUs.
    fn cores(&self, guest: Option<&Guest>) -> f64 {
        let Some(guest) = guest.filter(|g| g.state == GuestState::Running) else {
            return 0.0;
        };
        if self.endpoint_vmis.contains(guest.vmi_uid.as_str()) {
            (IDLE_CORES + self.share).min(f64::from(guest.vcpus))
        } else {
            IDLE_CORES
        }
    }
}

/// Usage per guest now, from the load split over ready endpoints.
fn usage_cores<'a>(objects: &'a ObjectSet, demand: f64) -> Usage<'a> {
    let mut endpoints = 0usize;
    let mut endpoint_vmis = BTreeSet::new();
    for svc in objects.services.values() {
        if svc.selector.is_empty() {
            continue;
        }
        for pod in objects.in_namespace::<Pod>(&svc.meta.namespace) {
            if svc.selector.matches(&pod.meta.labels)
                && pod.ready
                && !pod.meta.is_deleting()
                && pod.node_name.is_some()
            {
                endpoints += 1;
                if let Some(owner) = pod.meta.controller_ref() {
                    endpoint_vmis.insert(owner.uid.as_str());
                }
            }
        }
    }
    let share = if endpoints == 0 {
        0.0
    } else {
        demand / endpoints as f64
    };
    Usage {
        endpoint_vmis,
        share,
    }
}

fn scrape(world: &mut World, now: SimTime) {
    let period_ms = world.metrics.resolution_ms as f64;
    // Disjoint borrows of the world's fields: the scheduler's cache and the ground
    // truth are read while the metrics state is rebuilt.
    let objects = &world.informers[InformerId::KubeControllerManager.index()].objects;
    let usage = usage_cores(objects, world.load.cores_at(now));
    let truth = &world.truth;
    let store_pods = &world.store.objects().pods;
    // The state is keyed like the store's pod table, so the two are walked side by
    // side: each running pod finds its entry without a lookup, and entries of pods
    // that are gone (or replaced under the same name) fall away.
    let mut previous = std::mem::take(&mut world.metrics.pods)
        .into_iter()
        .peekable();
    let mut current: Vec<(ObjectKey, PodCpu)> = Vec::with_capacity(store_pods.len());
    for (key, pod) in store_pods {
        if pod.phase != PodPhase::Running {
            continue;
        }
        let (Some(node), Some(owner)) = (&pod.node_name, pod.meta.controller_ref()) else {
            continue;
        };
        let rate = usage.cores(truth.guests.get(&owner.uid));
        while previous.next_if(|(old_key, _)| old_key < key).is_some() {}
        let (key, mut entry) = match previous.next_if(|(old_key, _)| old_key == key) {
            Some((key, entry)) if entry.uid == pod.meta.uid => (key, entry),
            _ => (
                key.clone(),
                PodCpu {
                    uid: pod.meta.uid.clone(),
                    rate,
                    ..PodCpu::default()
                },
            ),
        };
        entry.cumulative += entry.rate * period_ms;
        entry.rate = rate;
        if truth.node_reporting(node) {
            entry.samples[0] = entry.samples[1];
            entry.samples[1] = (now, entry.cumulative);
            entry.scrapes += 1;
        }
        current.push((key, entry));
    }
    // Already in key order: the map is built from it without sorting work.
    world.metrics.pods = current.into_iter().collect();
}

/// The metric metrics-server serves for a pod: the rate between its last two samples,
/// if both exist and the newest is fresh.
fn pod_metric(
    metrics: &MetricsState,
    pod_key: &ObjectKey,
    pod_uid: &str,
    now: SimTime,
) -> Option<PodMetric> {
    let entry = metrics
        .pods
        .get(pod_key)
        .filter(|entry| entry.uid == pod_uid)?;
    if entry.scrapes < 2 {
        return None;
    }
    let [(t0, c0), (t1, c1)] = entry.samples;
    // metrics-server drops samples older than its resolution window plus slack.
    if now.since(t1) > 2 * metrics.resolution_ms || t1 <= t0 {
        return None;
    }
    let window_ms = t1.since(t0);
    let cores = (c1 - c0) / window_ms as f64;
    Some(PodMetric {
        usage: ResourceAmounts {
            cpu_milli: Some((cores * 1000.0).round() as i64),
            memory_milli: None,
        },
        timestamp_ms: t1.0,
        window_ms,
    })
}

fn sync_autoscalers(world: &mut World, now: SimTime) {
    let objects = world.informer(InformerId::KubeControllerManager);
    let hpas: Vec<HorizontalPodAutoscaler> = objects.hpas.values().cloned().collect();
    for hpa in hpas {
        let objects = world.informer(InformerId::KubeControllerManager);
        let target = ObjectKey::new(&hpa.meta.namespace, &hpa.spec.scale_target_ref.name);
        let Some(pool) = objects.pools.get(&target).cloned() else {
            continue;
        };
        let selector_found = !pool.status.label_selector.is_empty();
        // One pass over the namespace's pods, each with its metric.
        let namespace = hpa.meta.namespace.as_str();
        let pods: Vec<PodInput> = objects
            .pods
            .range(ObjectKey::new(namespace, "")..)
            .take_while(|(key, _)| key.namespace == namespace)
            .filter(|(_, p)| selector_found && pool.spec.selector.matches(&p.meta.labels))
            .map(|(key, p)| PodInput {
                name: p.meta.name.clone(),
                phase: match p.phase {
                    PodPhase::Pending => HpaPodPhase::Pending,
                    PodPhase::Running => HpaPodPhase::Running,
                    PodPhase::Succeeded => HpaPodPhase::Succeeded,
                    PodPhase::Failed => HpaPodPhase::Failed,
                },
                deleting: p.meta.is_deleting(),
                ready_condition: (p.phase != PodPhase::Pending).then_some(PodReadyCondition {
                    ready: p.ready,
                    last_transition_ms: p.ready_transition.0,
                }),
                start_time_ms: p.start_time.map(|t| t.0),
                requests: ResourceAmounts {
                    cpu_milli: Some(p.requests.cpu_milli),
                    memory_milli: Some(p.requests.memory_bytes * 1000),
                },
                metric: pod_metric(&world.metrics, key, &p.meta.uid, now),
            })
            .collect();
        let settings = world.metrics.hpa_settings.clone();
        let history = world.metrics.histories.entry(hpa.meta.key()).or_default();
        let scale = ScaleInput {
            spec_replicas: pool.spec.replicas,
            selector_found,
        };
        let result = hpa::sync(
            now.0,
            &hpa.spec,
            &hpa.status,
            history,
            scale,
            &pods,
            &settings,
        );
        for event in &result.events {
            world.record(
                "HorizontalPodAutoscaler",
                &hpa.meta.name,
                &event.reason,
                event.message.clone(),
            );
        }
        let _ = world
            .store
            .modify::<HorizontalPodAutoscaler>(&hpa.meta.key(), |h| {
                h.status = result.new_status.clone()
            });
        if let Some(replicas) = result.rescale_to {
            let _ = world.store.modify::<VirtualMachinePool>(&target, |p| {
                if p.spec.replicas != replicas {
                    p.spec.replicas = replicas;
                    p.meta.generation += 1;
                }
            });
        }
    }
}
