//! Load and the metrics pipeline (the HPA controller is `controllers::hpa`).
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
//! - The HPA controller (`controllers::hpa`) reads the stored points on its own loop.

use crate::api::*;
use crate::cluster::informer::InformerId;
use crate::cluster::store::{ObjectSet, Table};
use crate::cluster::truth::{GroundTruth, Guest, GuestState};
use crate::cluster::world::{Timer, World};
use crate::engine::SimTime;
use crate::hpa::replica_calculator::{PodMetric, ResourceAmounts};

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
pub const IDLE_CORES: f64 = 0.02;

/// How the guest behind a launcher pod uses CPU, from which its counter's rate
/// follows at each scrape (the load, and so the share, changes every scrape; this
/// changes only when a pod, a Service, an endpoint or a guest does).
#[derive(Debug, Clone, Copy, PartialEq)]
enum GuestUsage {
    /// No guest runs behind the pod (none, or shutting down).
    Stopped,
    /// A guest booting: `cores` is the `guestBootCpu` share of its vCPUs, whether or
    /// not an endpoint fronts it (it serves nothing yet).
    Booting { cores: f64 },
    /// A running guest that no ready endpoint fronts: its idle baseline only.
    Idle,
    /// A running guest behind a ready endpoint: the baseline plus its share of the
    /// demand, up to its vCPUs.
    Endpoint { vcpus: u32 },
}

impl GuestUsage {
    /// The CPU the guest uses now, in cores, given the demand per endpoint.
    fn cores(self, share: f64) -> f64 {
        match self {
            GuestUsage::Stopped => 0.0,
            GuestUsage::Booting { cores } => cores,
            GuestUsage::Idle => IDLE_CORES,
            GuestUsage::Endpoint { vcpus } => (IDLE_CORES + share).min(f64::from(vcpus)),
        }
    }
}

/// One running launcher pod as the kubelet and metrics-server see it: its CPU
/// counter and the points metrics-server stored for it.
///
/// Kept in a `Vec` in the store's pod key order, so a scrape walks it beside the
/// store's pod table and the HPA walks it beside its informer's pod table: per pod a
/// key comparison with the neighbour, instead of several string-keyed map lookups,
/// inserts and cloned uids per pod every 15 s (the bulk of a long run's cost).
#[derive(Debug, Clone)]
struct PodCpu {
    /// The store key of the pod, for the side-by-side walks.
    key: ObjectKey,
    /// The pod's uid: a pod deleted and recreated under the same key is a new
    /// container with a new counter, as the uid-keyed storage upstream sees it.
    uid: String,
    /// `status.startTime`.
    start_time: Option<SimTime>,
    /// How its guest uses CPU, as of the last scrape that looked at every pod.
    usage: GuestUsage,
    /// The kubelet's counter; it runs whether or not the node answers scrapes.
    counter: CpuCounter,
    /// metrics-server's `podStorage` points; `None` when the pod was not in the last
    /// batch (its node did not answer), which forgets it as `podStorage.Store` does.
    stored: Option<StoredPoints>,
    /// Whether the pod's node answers scrapes, as of the last scrape that looked at
    /// every pod.
    answered: bool,
}

impl PodCpu {
    /// One scrape of this pod at `now`: the kubelet's counter runs up to now at its
    /// old rate and goes on at the guest's current one; if the node answered, the pod
    /// is in the batch and `podStorage.Store` keeps what it allows.
    fn scrape(&mut self, now: SimTime, share: f64, resolution_ms: u64) {
        let rate_cores = self.usage.cores(share);
        let counter = &mut self.counter;
        counter.cumulative += counter.rate_cores * now.since(counter.updated) as f64;
        counter.rate_cores = rate_cores;
        counter.updated = now;
        // `scraper.Scrape`: a node that does not answer adds none of its pods, and
        // the batch replaces the stored points, so the pod is forgotten.
        let started = self.start_time.unwrap_or(now);
        let point = (now, counter.cumulative);
        self.stored = self
            .answered
            .then(|| store_point(self.stored, started, point, resolution_ms));
    }
}

/// What a scrape's per-pod work depends on, besides the time and the demand: the
/// pods (their phase, node, owner and start in the store; their labels and readiness
/// in the kube-controller-manager's informer), the Services, the guests, and which
/// nodes answer. When none of it changed since the last scrape (most scrapes of a long
/// run: 98 % of the benchmark day's), the last scrape's pods and their [`GuestUsage`]
/// stand, and the scrape only advances the counters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ScrapeInputs {
    store_pods: u64,
    informer_pods: u64,
    informer_services: u64,
    guests: u64,
    truth_nodes: usize,
    silent_nodes: Vec<String>,
}

/// Which of a namespace's pods (in key order) a label selector selected, in the
/// kube-controller-manager informer as it stood at this tick's scrape.
#[derive(Debug)]
struct Selection {
    namespace: String,
    selector: LabelSelector,
    selected: Vec<bool>,
}

#[derive(Debug, Default)]
pub struct MetricsState {
    /// The Services' selections at the last scrape that looked at every pod, valid
    /// while the kube-controller-manager informer's pods stay as they were then
    /// (`inputs.informer_pods`). The HPA controller reuses one for a pool whose selector
    /// equals a Service's (the usual case: the Service fronts the pool) instead of
    /// matching every pod's labels again.
    selections: Vec<Selection>,
    /// Running launcher pods with their counters and stored points, in the store's
    /// pod key order.
    pods: Vec<PodCpu>,
    /// What `pods` and `endpoints` were derived from (`None` before the first scrape).
    inputs: Option<ScrapeInputs>,
    /// Ready endpoints over all Services at the last scrape: the divisor of the demand.
    endpoints: usize,
    /// Bumped whenever a scrape rebuilds `pods`, so what was derived from its layout
    /// (the HPA controller's selected pods) can tell it is stale.
    scrape_generation: u64,
    /// The metrics-server resolution.
    pub resolution_ms: u64,
    /// The `guestBootCpu` setting.
    boot_cpu_ratio: f64,
}

impl MetricsState {
    /// Which rebuild of the pod table the entries' indices refer to.
    pub(crate) fn scrape_generation(&self) -> u64 {
        self.scrape_generation
    }

    /// The selection of a Service with `selector` in `namespace` (one flag per pod of
    /// the namespace in key order), if the informer's pods are still at
    /// `informer_pods`, the version the selection was made against.
    pub(crate) fn service_selection(
        &self,
        namespace: &str,
        selector: &LabelSelector,
        informer_pods: u64,
    ) -> Option<&[bool]> {
        let made_at = self.inputs.as_ref()?.informer_pods;
        if made_at != informer_pods {
            return None;
        }
        self.selections
            .iter()
            .find(|s| s.namespace == namespace && s.selector == *selector)
            .map(|s| s.selected.as_slice())
    }

    /// The entry of the pod `key` with `uid` in the pod table; calls must come in
    /// increasing key order with the same `cursor`.
    pub(crate) fn entry_at(&self, cursor: &mut usize, key: &ObjectKey, uid: &str) -> Option<usize> {
        entry_at(&self.pods, cursor, key, uid)
    }

    /// The metric metrics-server serves now for the entry `index`, if it has one.
    pub(crate) fn pod_metric(&self, index: usize) -> Option<PodMetric> {
        self.pods.get(index)?.stored.as_ref().and_then(pod_metric)
    }
}

pub fn start(world: &mut World) {
    world.metrics.resolution_ms = world.settings.metrics_resolution_ms;
    world.metrics.boot_cpu_ratio = world.settings.guest_boot_cpu.max(0.0);
    let period = world.metrics.resolution_ms.max(1);
    world.schedule_timer_at(SimTime(period), Timer::Metrics);
}

pub fn tick(world: &mut World) {
    let now = world.now();
    let period = world.metrics.resolution_ms.max(1);
    world.schedule_timer(period, Timer::Metrics);
    if world.store.objects().hpas.is_empty() && world.load.is_empty() {
        return;
    }
    scrape(world, now);
}

/// The load split over ready endpoints, as a rate per guest.
struct Usage<'a> {
    /// Ready endpoint pods as (pod key, VMI uid of its controller), in key order
    /// (merged when several Services select pods).
    endpoints_by_key: Vec<(&'a ObjectKey, &'a str)>,
    /// Where the side-by-side walk over `endpoints_by_key` stands.
    cursor: usize,
    /// The endpoint VMI uids sorted, built only when a pod's own key does not show it
    /// is an endpoint (a running guest behind a pod that is not ready, say).
    sorted_uids: Option<Vec<&'a str>>,
    /// Ready endpoints (a pod selected by two Services counts twice, as it is two
    /// endpoints).
    endpoints: usize,
    /// The `guestBootCpu` setting: the share of its vCPUs a booting guest uses.
    boot_cpu_ratio: f64,
}

/// Demand per endpoint in cores.
fn share_of(demand: f64, endpoints: usize) -> f64 {
    if endpoints == 0 {
        0.0
    } else {
        demand / endpoints as f64
    }
}

impl<'a> Usage<'a> {
    /// Whether the VMI `vmi_uid`, whose launcher pod has store key `pod_key`, is behind
    /// a ready endpoint. Called with keys in increasing order; the answer is the same
    /// as a lookup in the set of endpoint VMI uids.
    fn is_endpoint(&mut self, pod_key: &ObjectKey, vmi_uid: &str) -> bool {
        let endpoints = &self.endpoints_by_key;
        // The usual case first: the next endpoint fronts this very VMI (one uid
        // comparison instead of key comparisons).
        if endpoints
            .get(self.cursor)
            .is_some_and(|(_, uid)| *uid == vmi_uid)
        {
            self.cursor += 1;
            return true;
        }
        while self.cursor < endpoints.len() && endpoints[self.cursor].0 < pod_key {
            self.cursor += 1;
        }
        // Usually the informer's pod under the same key is that endpoint.
        let same_key = endpoints[self.cursor..]
            .iter()
            .take_while(|(key, _)| *key == pod_key)
            .any(|(_, uid)| *uid == vmi_uid);
        if same_key {
            return true;
        }
        // Otherwise another pod may front the same VMI: ask the whole set.
        let sorted = self.sorted_uids.get_or_insert_with(|| {
            let mut uids: Vec<&str> = endpoints.iter().map(|(_, uid)| *uid).collect();
            uids.sort_unstable();
            uids.dedup();
            uids
        });
        sorted.binary_search(&vmi_uid).is_ok()
    }

    /// How the guest behind the pod `pod_key` uses CPU: a running guest idles at its
    /// baseline, and one behind a ready endpoint adds its share, up to its vCPUs.
    fn classify(&mut self, pod_key: &ObjectKey, guest: Option<&Guest>) -> GuestUsage {
        let Some(guest) = guest else {
            return GuestUsage::Stopped;
        };
        match guest.state {
            GuestState::Running => {}
            GuestState::Booting => {
                return GuestUsage::Booting {
                    cores: self.boot_cpu_ratio * f64::from(guest.vcpus),
                }
            }
            GuestState::ShuttingDown => return GuestUsage::Stopped,
        }
        if self.is_endpoint(pod_key, &guest.vmi_uid) {
            GuestUsage::Endpoint { vcpus: guest.vcpus }
        } else {
            GuestUsage::Idle
        }
    }
}

/// The ready endpoints the load is split over, and each Service's selection.
fn usage_cores<'a>(
    objects: &'a ObjectSet,
    selections: &mut Vec<Selection>,
    boot_cpu_ratio: f64,
) -> Usage<'a> {
    selections.clear();
    let mut endpoints_by_key = Vec::new();
    let mut endpoints = 0usize;
    let mut selecting_services = 0usize;
    for svc in objects.services.values() {
        if svc.selector.is_empty() {
            continue;
        }
        selecting_services += 1;
        let start = ObjectKey::new(&svc.meta.namespace, "");
        let in_namespace = objects
            .pods
            .range(start..)
            .take_while(|(key, _)| key.namespace == svc.meta.namespace);
        let mut selected = Vec::new();
        for (key, pod) in in_namespace {
            let matches = svc.selector.matches(&pod.meta.labels);
            selected.push(matches);
            if matches && pod.ready && !pod.meta.is_deleting() && pod.node_name.is_some() {
                endpoints += 1;
                if let Some(owner) = pod.meta.controller_ref() {
                    endpoints_by_key.push((key, owner.uid.as_str()));
                }
            }
        }
        selections.push(Selection {
            namespace: svc.meta.namespace.clone(),
            selector: svc.selector.clone(),
            selected,
        });
    }
    if selecting_services > 1 {
        // One Service's pods come in key order; several must be merged.
        endpoints_by_key.sort_by(|a, b| a.0.cmp(b.0));
    }
    Usage {
        endpoints_by_key,
        cursor: 0,
        sorted_uids: None,
        endpoints,
        boot_cpu_ratio,
    }
}

/// One metrics-server scrape: the kubelets advance their counters, the reporting
/// nodes answer, and `podStorage.Store` keeps what this batch and the last one allow.
///
/// When nothing a pod's usage depends on changed since the last scrape (see
/// [`ScrapeInputs`]), only the counters and points move. Otherwise the previous state
/// is walked beside the store's pod table (both in key order), so a pod's counter and
/// points are found without a lookup, and nothing is allocated for a pod that was
/// already running at the last scrape.
fn scrape(world: &mut World, now: SimTime) {
    let resolution_ms = world.metrics.resolution_ms;
    let demand = world.load.cores_at(now);
    let inputs = scrape_inputs(world);
    let metrics = &mut world.metrics;
    if metrics.inputs.as_ref() == Some(&inputs) {
        let share = share_of(demand, metrics.endpoints);
        for entry in &mut metrics.pods {
            entry.scrape(now, share, resolution_ms);
        }
        return;
    }
    let objects = &world.informers[InformerId::KubeControllerManager.index()].objects;
    let mut usage = usage_cores(objects, &mut metrics.selections, metrics.boot_cpu_ratio);
    let share = share_of(demand, usage.endpoints);
    let truth = &world.truth;
    let mut previous = std::mem::take(&mut metrics.pods).into_iter().peekable();
    let mut current = Vec::with_capacity(previous.len());
    for (key, pod, node, vmi_uid) in launcher_pods(&world.store.objects().pods) {
        let guest_usage = usage.classify(key, truth.guests().get(vmi_uid));
        // A uid names one object, so an entry with the pod's uid is the pod's (checked
        // first: one comparison where the key walk takes several).
        let same_pod = previous.next_if(|entry| entry.uid == pod.meta.uid);
        let found = same_pod.or_else(|| {
            while previous.next_if(|entry| entry.key < *key).is_some() {}
            previous.next_if(|entry| entry.key == *key)
        });
        let mut entry = match found {
            Some(entry) if entry.uid == pod.meta.uid => entry,
            // New, or a new pod under an old key: a fresh counter from its start.
            _ => PodCpu {
                key: key.clone(),
                uid: pod.meta.uid.clone(),
                start_time: pod.start_time,
                usage: guest_usage,
                counter: CpuCounter {
                    cumulative: 0.0,
                    rate_cores: guest_usage.cores(share),
                    updated: pod.start_time.unwrap_or(now).min(now),
                },
                stored: None,
                answered: false,
            },
        };
        entry.start_time = pod.start_time;
        entry.usage = guest_usage;
        entry.answered = node_answers(&world.truth, &inputs, node);
        entry.scrape(now, share, resolution_ms);
        current.push(entry);
    }
    metrics.pods = current;
    metrics.endpoints = usage.endpoints;
    metrics.scrape_generation += 1;
    metrics.inputs = Some(inputs);
}

/// The running pods with a node and a controller (the VMI whose guest they run), in
/// key order, with that node and the VMI's uid: the pods a scrape measures.
fn launcher_pods(pods: &Table<Pod>) -> impl Iterator<Item = (&ObjectKey, &Pod, &str, &str)> + '_ {
    pods.iter().filter_map(|(key, pod)| {
        if pod.phase != PodPhase::Running {
            return None;
        }
        let node = pod.node_name.as_deref()?;
        let owner = pod.meta.controller_ref()?;
        Some((key, &**pod, node, owner.uid.as_str()))
    })
}

/// For the invariant checker: when nothing a scrape's per-pod work depends on has
/// changed since the last scrape (so the next one will reuse it), what it keeps (each
/// pod's usage class and whether its node answers, and the number of endpoints) must
/// be what a pass over every pod gives now. A write that changed a pod, a Service or a
/// guest without moving a version would break this.
pub(crate) fn check_reused_scrape_state(world: &World) -> Result<(), String> {
    let metrics = &world.metrics;
    let inputs = scrape_inputs(world);
    if metrics.inputs.as_ref() != Some(&inputs) {
        return Ok(());
    }
    let objects = &world.informers[InformerId::KubeControllerManager.index()].objects;
    let mut selections = Vec::new();
    let mut usage = usage_cores(objects, &mut selections, metrics.boot_cpu_ratio);
    if usage.endpoints != metrics.endpoints {
        return Err(format!(
            "the metrics scrape keeps {} ready endpoints, the Services have {}",
            metrics.endpoints, usage.endpoints
        ));
    }
    let truth = &world.truth;
    let mut kept = metrics.pods.iter();
    for (key, pod, node, vmi_uid) in launcher_pods(&world.store.objects().pods) {
        let fresh = (
            usage.classify(key, truth.guests().get(vmi_uid)),
            node_answers(truth, &inputs, node),
        );
        match kept.next() {
            Some(entry) if entry.key == *key && entry.uid == pod.meta.uid => {
                if (entry.usage, entry.answered) != fresh {
                    return Err(format!(
                        "the metrics scrape keeps {:?} (answered {}) for pod {key}, a full pass gives {:?} (answered {})",
                        entry.usage, entry.answered, fresh.0, fresh.1
                    ));
                }
            }
            other => {
                return Err(format!(
                    "the metrics scrape keeps {:?} where the store has running pod {key}",
                    other.map(|entry| &entry.key)
                ))
            }
        }
    }
    match kept.next() {
        Some(entry) => Err(format!(
            "the metrics scrape keeps pod {} that is no longer running",
            entry.key
        )),
        None => Ok(()),
    }
}

/// Whether `node` answers this scrape: ground truth knows it (the kubelet runs there)
/// and it is not among the silent nodes.
fn node_answers(truth: &GroundTruth, inputs: &ScrapeInputs, node: &str) -> bool {
    truth.nodes.contains_key(node) && !inputs.silent_nodes.iter().any(|n| n == node)
}

/// What this scrape's per-pod work would be derived from (see [`ScrapeInputs`]).
fn scrape_inputs(world: &World) -> ScrapeInputs {
    let informer = &world.informers[InformerId::KubeControllerManager.index()];
    let truth = &world.truth;
    ScrapeInputs {
        store_pods: world.store.kind_versions().get(Kind::Pod),
        informer_pods: informer.kind_versions.get(Kind::Pod),
        informer_services: informer.kind_versions.get(Kind::Service),
        guests: truth.guests_version(),
        truth_nodes: truth.nodes.len(),
        // Nodes that do not answer (usually none).
        silent_nodes: truth
            .nodes
            .iter()
            .filter(|(_, node)| !node.reporting())
            .map(|(name, _)| name.clone())
            .collect(),
    }
}

/// `podStorage.Store` for one pod in the batch: its new stored points. It keeps a
/// previous point if it was in the last batch (`previous`, the same container), or
/// gets a synthetic one at its start with zero usage if its container started between
/// `freshContainerMinMetricsResolution` and one resolution before the point. A pod
/// missing from the batch is forgotten (the caller stores nothing for it).
fn store_point(
    previous: Option<StoredPoints>,
    started: SimTime,
    point: Point,
    resolution_ms: u64,
) -> StoredPoints {
    let age_ms = point.0.since(started);
    let prev = if (FRESH_CONTAINER_MIN_RESOLUTION_MS..resolution_ms).contains(&age_ms) {
        Some((started, 0.0))
    } else {
        previous
            .map(|points| points.last)
            .filter(|last| last.0 < point.0)
    };
    StoredPoints { last: point, prev }
}

/// The metric metrics-server serves for a pod (`podStorage.GetMetrics`): the rate
/// between its two stored points, if it has both.
fn pod_metric(stored: &StoredPoints) -> Option<PodMetric> {
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

/// The entry of the pod `key` with `uid` in `pods`, found by walking `pods` (in key
/// order) from `cursor`; calls must come in increasing key order.
fn entry_at(pods: &[PodCpu], cursor: &mut usize, key: &ObjectKey, uid: &str) -> Option<usize> {
    // A uid names one object: the usual case is the entry at the cursor.
    if pods.get(*cursor).is_some_and(|entry| entry.uid == uid) {
        *cursor += 1;
        return Some(*cursor - 1);
    }
    while *cursor < pods.len() && pods[*cursor].key < *key {
        *cursor += 1;
    }
    pods.get(*cursor)
        .is_some_and(|entry| entry.key == *key && entry.uid == uid)
        .then_some(*cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESOLUTION_MS: u64 = 15_000;

    /// One scrape of a pod that started at `started_ms`, seen at `at_ms` with
    /// `cumulative` core-milliseconds, after `previous` (the last batch's points).
    fn stored(
        previous: Option<StoredPoints>,
        started_ms: u64,
        at_ms: u64,
        cumulative: f64,
    ) -> StoredPoints {
        store_point(
            previous,
            SimTime(started_ms),
            (SimTime(at_ms), cumulative),
            RESOLUTION_MS,
        )
    }

    #[test]
    fn a_pod_needs_two_scrapes_and_is_forgotten_when_its_node_misses_one() {
        let first = stored(None, 0, 60_000, 100.0);
        assert_eq!(first.prev, None, "one point gives no rate");
        assert!(pod_metric(&first).is_none());
        let second = stored(Some(first), 0, 75_000, 400.0);
        assert_eq!(second.prev, Some((SimTime(60_000), 100.0)));
        let metric = pod_metric(&second).expect("two points give a rate");
        assert_eq!(metric.usage.cpu_milli, Some(20), "300 core-ms over 15 s");
        assert_eq!(metric.window_ms, 15_000);
        // The node does not answer: nothing is stored, so the next batch that has the
        // pod again starts from one point, with no rate until the scrape after.
        let back = stored(None, 0, 105_000, 900.0);
        assert_eq!(back.prev, None);
        assert!(pod_metric(&back).is_none());
    }

    #[test]
    fn a_container_started_ten_seconds_to_one_resolution_ago_gets_a_synthetic_start_point() {
        assert_eq!(
            stored(None, 48_000, 60_000, 240.0).prev,
            Some((SimTime(48_000), 0.0))
        );
        assert_eq!(stored(None, 55_000, 60_000, 100.0).prev, None, "too fresh");
        assert_eq!(stored(None, 40_000, 60_000, 400.0).prev, None, "older");
    }

    #[test]
    fn entries_are_found_by_walking_in_key_order_and_need_the_same_uid() {
        let entry = |name: &str, uid: &str, at_ms: u64| PodCpu {
            key: ObjectKey::new("ns", name),
            uid: uid.to_string(),
            start_time: Some(SimTime(0)),
            usage: GuestUsage::Idle,
            counter: CpuCounter {
                cumulative: 0.0,
                rate_cores: 0.0,
                updated: SimTime(0),
            },
            stored: Some(stored(None, 0, at_ms, 0.0)),
            answered: true,
        };
        let pods = vec![entry("a", "uid-1", 1), entry("c", "uid-3", 3)];
        let mut cursor = 0;
        let mut at = |name: &str, uid: &str| {
            entry_at(&pods, &mut cursor, &ObjectKey::new("ns", name), uid)
                .map(|index| pods[index].stored.expect("stored").last.0 .0)
        };
        assert_eq!(at("a", "uid-1"), Some(1));
        assert_eq!(at("b", "uid-2"), None, "no entry under that key");
        assert_eq!(at("c", "uid-9"), None, "a new pod under an old key");
        assert_eq!(at("c", "uid-3"), Some(3));
        assert_eq!(at("d", "uid-4"), None);
    }

    /// The lab's HPA scenario, run to its end with every invariant checked (the
    /// reused scrape state among them), then scraped once more.
    fn scraped_world() -> World {
        let mut world =
            crate::invariants::run_shipped_scenario("lab05-hpa-load-wave.yaml", "kubevirt-pool");
        let now = world.now();
        scrape(&mut world, now);
        world
    }

    #[test]
    fn a_scrape_with_nothing_changed_reuses_its_pods_and_a_full_pass_agrees() {
        let mut world = scraped_world();
        let generation = world.metrics.scrape_generation;
        let now = world.now();
        scrape(&mut world, now);
        assert_eq!(
            world.metrics.scrape_generation, generation,
            "nothing changed: the pod table is reused"
        );
        assert!(world
            .metrics
            .pods
            .iter()
            .any(|entry| matches!(entry.usage, GuestUsage::Endpoint { .. })));
        assert_eq!(check_reused_scrape_state(&world), Ok(()));
    }

    #[test]
    fn reused_scrape_state_that_a_full_pass_disagrees_with_is_caught() {
        let mut world = scraped_world();
        world.metrics.pods[0].usage = GuestUsage::Stopped;
        let broken = check_reused_scrape_state(&world).expect_err("caught");
        assert!(broken.contains("a full pass gives"), "{broken}");
        let mut world = scraped_world();
        world.metrics.endpoints += 1;
        assert!(check_reused_scrape_state(&world).is_err());
    }

    #[test]
    fn a_changed_guest_makes_the_next_scrape_look_at_every_pod() {
        let mut world = scraped_world();
        let generation = world.metrics.scrape_generation;
        let pod = &world.store.objects().pods[&world.metrics.pods[0].key];
        let vmi_uid = pod
            .meta
            .controller_ref()
            .expect("a launcher pod")
            .uid
            .clone();
        let guest = world
            .truth
            .guests_mut()
            .get_mut(&vmi_uid)
            .expect("its guest");
        guest.state = GuestState::ShuttingDown;
        let now = world.now();
        scrape(&mut world, now);
        assert_eq!(world.metrics.scrape_generation, generation + 1);
        assert_eq!(world.metrics.pods[0].usage, GuestUsage::Stopped);
        assert_eq!(check_reused_scrape_state(&world), Ok(()));
    }
}
