//! Load, the metrics pipeline and the HPA controller loop.
//!
//! - Load: the scenario's demand (cores) goes to the pool's Service and is split evenly
//!   over its ready endpoints (kube-proxy iptables picks endpoints at random per
//!   connection: even in expectation). A guest uses at most its vCPUs, plus an idle
//!   baseline; guests that are not endpoints use only the baseline.
//! - Kubelet: cumulative CPU counters per launcher pod (cAdvisor `usageCoreNanoSeconds`),
//!   counting from the container's start.
//! - metrics-server (`kubernetes-sigs/metrics-server`): every resolution (15 s in its
//!   shipped manifests) `scraper.Scrape` asks every node's kubelet; a node that does
//!   not answer contributes nothing to the batch. `podStorage.Store` (`pkg/storage/pod.go`)
//!   then *replaces* its stored points with the batch: a pod keeps its previous point
//!   only if it was in the last batch too, so a pod on a node that stops answering loses
//!   its metric at the first scrape that misses it (there is no TTL), and after the node
//!   answers again it needs two scrapes before it has a metric. `podStorage.GetMetrics`
//!   serves the rate between the two points; a pod without both has no metric. A
//!   container that started between 10 s (`freshContainerMinMetricsResolution`) and one
//!   resolution before its first scrape gets a synthetic previous point at its start
//!   time with zero usage, so it has a metric after one scrape.
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

/// cAdvisor's cumulative CPU counter of one launcher pod.
#[derive(Debug, Clone, Copy)]
struct CpuCounter {
    /// Core-milliseconds used since the container started, up to `updated`.
    cumulative: f64,
    /// The usage rate in cores from `updated` on.
    rate_cores: f64,
    updated: SimTime,
}

/// One `MetricsPoint`: when, and the cumulative CPU then (core-milliseconds).
type Point = (SimTime, f64);

/// What `podStorage` holds for one pod: the point of the last scrape and, when it
/// can compute a rate, the one before.
#[derive(Debug, Clone, Copy)]
struct StoredPoints {
    last: Point,
    prev: Option<Point>,
}

/// `freshContainerMinMetricsResolution` (`pkg/storage/pod.go`): a container younger
/// than this at its first scrape gets no synthetic previous point.
const FRESH_CONTAINER_MIN_RESOLUTION_MS: u64 = 10_000;

/// CPU a guest uses when idle, in cores (inferred: an idle Linux guest with qemu).
const IDLE_CORES: f64 = 0.02;

#[derive(Debug, Default)]
pub struct MetricsState {
    /// The kubelet's CPU counter per launcher pod uid.
    counters: BTreeMap<String, CpuCounter>,
    /// metrics-server's stored points per pod uid (`podStorage.last` / `prev`).
    samples: BTreeMap<String, StoredPoints>,
    histories: BTreeMap<ObjectKey, HpaHistory>,
    pub hpa_settings: HpaSettings,
    /// The metrics-server resolution and the HPA sync period.
    pub resolution_ms: u64,
    pub hpa_sync_ms: u64,
}

pub fn start(world: &mut World) {
    world.metrics.resolution_ms = world.settings.metrics_resolution_ms;
    world.metrics.hpa_settings = hpa_settings(&world.settings);
    world.metrics.hpa_sync_ms = world.metrics.hpa_settings.sync_period_ms.max(1);
    let period = world.metrics.resolution_ms.max(1);
    world.schedule_timer_at(SimTime(period), Timer::Metrics);
}

/// The HPA controller's flags, from the scenario's settings.
fn hpa_settings(settings: &crate::cluster::Settings) -> HpaSettings {
    HpaSettings {
        sync_period_ms: settings.hpa_sync_period_ms,
        tolerance: settings.hpa_tolerance,
        cpu_initialization_period_ms: settings.hpa_cpu_initialization_period_ms,
        initial_readiness_delay_ms: settings.hpa_initial_readiness_delay_ms,
        downscale_stabilization_window_ms: settings.hpa_downscale_stabilization_ms,
        configurable_tolerance_enabled: settings.hpa_configurable_tolerance,
        absent_behavior_mode: if settings.hpa_absent_behavior_uses_default_policies {
            hpa::AbsentBehaviorMode::DefaultPolicies
        } else {
            hpa::AbsentBehaviorMode::Legacy
        },
    }
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

/// One metrics-server scrape: the kubelets advance their counters, the reporting
/// nodes answer, and `podStorage.Store` keeps what this batch and the last one allow.
fn scrape(world: &mut World, now: SimTime) {
    let resolution_ms = world.metrics.resolution_ms;
    let objects = &world.informers[InformerId::KubeControllerManager.index()].objects;
    let usage = usage_cores(objects, world.load.cores_at(now));
    let pods: Vec<(String, String, String, SimTime)> = world
        .store
        .objects()
        .pods
        .values()
        .filter(|p| p.phase == PodPhase::Running)
        .filter_map(|p| {
            let node = p.node_name.clone()?;
            let vmi_uid = p.meta.controller_ref()?.uid.clone();
            let started = p.start_time.unwrap_or(now);
            Some((p.meta.uid.clone(), vmi_uid, node, started))
        })
        .collect();
    let mut running = BTreeSet::new();
    let mut answered = Vec::new();
    for (pod_uid, vmi_uid, node, started) in pods {
        running.insert(pod_uid.clone());
        let rate_cores = usage.cores(world.truth.guests.get(&vmi_uid));
        // The counter runs on the node whether or not anyone can read it.
        let counter = world
            .metrics
            .counters
            .entry(pod_uid.clone())
            .or_insert(CpuCounter {
                cumulative: 0.0,
                rate_cores,
                updated: started.min(now),
            });
        counter.cumulative += counter.rate_cores * now.since(counter.updated) as f64;
        counter.rate_cores = rate_cores;
        counter.updated = now;
        // `scraper.Scrape`: a node that does not answer adds none of its pods.
        if world.truth.node_reporting(&node) {
            answered.push(ScrapedPoint {
                pod_uid,
                started,
                point: (now, counter.cumulative),
            });
        }
    }
    world
        .metrics
        .counters
        .retain(|uid, _| running.contains(uid));
    world.metrics.samples = store_batch(&world.metrics.samples, answered, resolution_ms);
}

/// One pod's point in a scrape batch.
#[derive(Debug, Clone)]
struct ScrapedPoint {
    pod_uid: String,
    started: SimTime,
    point: Point,
}

/// `podStorage.Store`: the new stored points are built from this batch alone. A pod
/// keeps a previous point if it was in the last batch (the same container), or gets a
/// synthetic one at its start with zero usage if its container started between
/// `freshContainerMinMetricsResolution` and one resolution before the point. A pod
/// missing from the batch is forgotten.
fn store_batch(
    stored: &BTreeMap<String, StoredPoints>,
    batch: Vec<ScrapedPoint>,
    resolution_ms: u64,
) -> BTreeMap<String, StoredPoints> {
    batch
        .into_iter()
        .map(|scraped| {
            let age_ms = scraped.point.0.since(scraped.started);
            let prev = if (FRESH_CONTAINER_MIN_RESOLUTION_MS..resolution_ms).contains(&age_ms) {
                Some((scraped.started, 0.0))
            } else {
                stored
                    .get(&scraped.pod_uid)
                    .map(|points| points.last)
                    .filter(|last| last.0 < scraped.point.0)
            };
            let points = StoredPoints {
                last: scraped.point,
                prev,
            };
            (scraped.pod_uid, points)
        })
        .collect()
}

/// The metric metrics-server serves for a pod (`podStorage.GetMetrics`): the rate
/// between its two stored points, if it has both.
fn pod_metric(world: &World, pod_uid: &str) -> Option<PodMetric> {
    let stored = world.metrics.samples.get(pod_uid)?;
    let (t0, c0) = stored.prev?;
    let (t1, c1) = stored.last;
    if t1 <= t0 {
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
            .map(|(_, p)| PodInput {
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
                metric: pod_metric(world, &p.meta.uid),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scraped(pod_uid: &str, started_ms: u64, at_ms: u64, cumulative: f64) -> ScrapedPoint {
        ScrapedPoint {
            pod_uid: pod_uid.to_string(),
            started: SimTime(started_ms),
            point: (SimTime(at_ms), cumulative),
        }
    }

    const RESOLUTION_MS: u64 = 15_000;

    #[test]
    fn a_pod_needs_two_scrapes_and_is_forgotten_when_its_node_misses_one() {
        let first = store_batch(
            &BTreeMap::new(),
            vec![scraped("a", 0, 60_000, 100.0)],
            RESOLUTION_MS,
        );
        assert_eq!(first["a"].prev, None, "one point gives no rate");
        let second = store_batch(&first, vec![scraped("a", 0, 75_000, 400.0)], RESOLUTION_MS);
        assert_eq!(second["a"].prev, Some((SimTime(60_000), 100.0)));
        // The node does not answer: the batch lacks the pod, and so does the storage.
        let missed = store_batch(&second, Vec::new(), RESOLUTION_MS);
        assert!(missed.is_empty());
        // It answers again: one point only, no rate until the next scrape.
        let back = store_batch(
            &missed,
            vec![scraped("a", 0, 105_000, 900.0)],
            RESOLUTION_MS,
        );
        assert_eq!(back["a"].prev, None);
    }

    #[test]
    fn a_container_started_ten_seconds_to_one_resolution_ago_gets_a_synthetic_start_point() {
        let batch = vec![
            scraped("fresh", 48_000, 60_000, 240.0),
            scraped("too-fresh", 55_000, 60_000, 100.0),
            scraped("older", 40_000, 60_000, 400.0),
        ];
        let stored = store_batch(&BTreeMap::new(), batch, RESOLUTION_MS);
        assert_eq!(stored["fresh"].prev, Some((SimTime(48_000), 0.0)));
        assert_eq!(stored["too-fresh"].prev, None);
        assert_eq!(stored["older"].prev, None);
    }
}
