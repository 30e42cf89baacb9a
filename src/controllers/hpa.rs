//! The HPA controller (kube-controller-manager, `pkg/controller/podautoscaler/horizontal.go`),
//! apart from metrics-server (`controllers::metrics`): it runs its own work queue and
//! reads metrics-server's stored points as they stand at its own sync time, so a metric
//! can be up to one metrics resolution old, as upstream.
//!
//! Upstream's loop: the queue's rate limiter is `NewDefaultHPARateLimiter(resyncPeriod)`
//! (`rate_limiters.go`: a fixed per-item interval of the sync period), so every
//! `AddRateLimited` is an `AddAfter(key, syncPeriod)`. `enqueueHPA` (the informer's add
//! and update handler, also called on each informer resync) and `processNextWorkItem`
//! (after every `reconcileKey` of an HPA that still exists) both add that way, and the
//! delaying queue keeps the earlier time of a key added twice. So an HPA first syncs one
//! period after its informer sees it, then once per period after each sync: its own
//! phase, independent of metrics-server's scrapes. The decision of one sync is
//! `crate::hpa::sync`.

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::store::{ObjectSet, WatchEvent};
use crate::cluster::world::{ControllerId, World};
use crate::controllers::metrics::MetricsState;
use crate::engine::SimTime;
use crate::hpa::replica_calculator::{
    PodInput, PodPhase as HpaPodPhase, PodReadyCondition, ResourceAmounts,
};
use crate::hpa::{self, HpaHistory, HpaSettings, ScaleInput};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// What the HPA controller keeps between syncs: upstream's controller maps
/// (`recommendations`, `scaleUpEvents`, `scaleDownEvents`, in [`HpaHistory`]) and, as a
/// cache, each HPA's selected pods.
#[derive(Debug, Default)]
pub struct HpaControllerState {
    /// Each HPA's selected pods, by HPA key.
    selected_pods: BTreeMap<ObjectKey, SelectedPods>,
    histories: BTreeMap<ObjectKey, HpaHistory>,
    pub settings: HpaSettings,
}

pub fn start(world: &mut World) {
    world.hpa.settings = hpa_settings(&world.settings);
}

/// The HPA controller's flags, from the scenario's settings.
fn hpa_settings(settings: &crate::cluster::Settings) -> HpaSettings {
    HpaSettings {
        sync_period_ms: settings.hpa_sync_period_ms.max(1),
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

/// The informer's handlers (`addHPA`, `updateHPA`, `deleteHPA`): an added or updated
/// HPA is `AddRateLimited`, i.e. due one sync period later unless it is due sooner; a
/// deleted one is dropped (its queued key then finds nothing and is not requeued).
pub fn on_hpa_event(world: &mut World, event: &WatchEvent) {
    if event.object.is_some() {
        let period = world.hpa.settings.sync_period_ms;
        world.enqueue_after(ControllerId::Hpa, event.key.clone(), period);
    } else {
        world.forget(ControllerId::Hpa, &event.key);
    }
}

/// `processNextWorkItem`: `reconcileKey`, then `AddRateLimited` unless the HPA is gone.
pub fn sync(world: &mut World, key: &ObjectKey) {
    let informer = world.informer(InformerId::KubeControllerManager);
    let Some(hpa) = informer.hpas.get(key).cloned() else {
        // `reconcileKey` of a deleted HPA drops its recommendations and scale events.
        world.hpa.histories.remove(key);
        world.hpa.selected_pods.remove(key);
        return;
    };
    let now = world.now();
    reconcile(world, &hpa, now);
    let period = world.hpa.settings.sync_period_ms;
    world.enqueue_after(ControllerId::Hpa, key.clone(), period);
}

/// The pods one HPA's target selects, as its pod lister sees them, without their
/// metrics; and where each one's metrics are in metrics-server's store. Rebuilt only
/// when metrics-server rebuilt its pod table, the informer's pods changed, or the
/// target's selector changed: between those, only the metrics move.
#[derive(Debug)]
struct SelectedPods {
    scrape_generation: u64,
    informer_pods: u64,
    selector: LabelSelector,
    selector_found: bool,
    pods: Vec<PodInput<'static>>,
    /// Per pod, its entry in metrics-server's pod table, if it has one.
    entries: Vec<Option<usize>>,
}

/// The pods the pool's selector selects in the kube-controller-manager's informer, in
/// key order, each as the HPA's pod lister sees it (without its metric).
fn select_pods(
    objects: &ObjectSet,
    informer_pods: u64,
    metrics: &MetricsState,
    namespace: &str,
    pool: &VirtualMachinePool,
) -> SelectedPods {
    let selector_found = !pool.status.label_selector.is_empty();
    let mut selected = SelectedPods {
        scrape_generation: metrics.scrape_generation(),
        informer_pods,
        selector: pool.spec.selector.clone(),
        selector_found,
        pods: Vec::new(),
        entries: Vec::new(),
    };
    if !selector_found {
        return selected;
    }
    // A Service with the pool's selector may already have matched every pod of this
    // informer state at the last scrape.
    let known = metrics.service_selection(namespace, &pool.spec.selector, informer_pods);
    let in_namespace = objects
        .pods
        .range(ObjectKey::new(namespace, "")..)
        .take_while(|(key, _)| key.namespace == namespace)
        .enumerate()
        .filter(|(index, (_, p))| match known {
            Some(selected) => selected[*index],
            None => pool.spec.selector.matches(&p.meta.labels),
        });
    // Each pod's metrics entry, found by walking the metrics table beside the pod
    // table: both are in key order.
    let mut cursor = 0;
    for (_, (key, p)) in in_namespace {
        selected.pods.push(pod_input(p));
        selected
            .entries
            .push(metrics.entry_at(&mut cursor, key, &p.meta.uid));
    }
    selected
}

/// A pod as the HPA's replica calculator sees it, without its metric.
fn pod_input(p: &Pod) -> PodInput<'static> {
    PodInput {
        name: Cow::Owned(p.meta.name.clone()),
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
        metric: None,
    }
}

/// One `reconcileAutoscaler`: the target's scale and pods from the informer, each pod's
/// metric from metrics-server's store as it stands now, the decision, and the writes.
fn reconcile(world: &mut World, hpa: &HorizontalPodAutoscaler, now: SimTime) {
    let informer = &world.informers[InformerId::KubeControllerManager.index()];
    let objects = &informer.objects;
    let informer_pods = informer.kind_versions.get(Kind::Pod);
    let target = ObjectKey::new(&hpa.meta.namespace, &hpa.spec.scale_target_ref.name);
    let Some(pool) = objects.pools.get(&target).cloned() else {
        return;
    };
    let selector_found = !pool.status.label_selector.is_empty();
    let metrics = &world.metrics;
    let state = &mut world.hpa;
    let reusable = state
        .selected_pods
        .get(&hpa.meta.key())
        .is_some_and(|last| {
            last.scrape_generation == metrics.scrape_generation()
                && last.informer_pods == informer_pods
                && last.selector_found == selector_found
                && last.selector == pool.spec.selector
        });
    if !reusable {
        let selected = select_pods(objects, informer_pods, metrics, &hpa.meta.namespace, &pool);
        state.selected_pods.insert(hpa.meta.key(), selected);
    }
    let selected = state
        .selected_pods
        .get_mut(&hpa.meta.key())
        .expect("selected just above");
    for (pod, entry) in selected.pods.iter_mut().zip(&selected.entries) {
        pod.metric = entry.and_then(|index| metrics.pod_metric(index));
    }
    let history = state.histories.entry(hpa.meta.key()).or_default();
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
        &selected.pods,
        &state.settings,
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
