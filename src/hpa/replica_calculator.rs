//! Replica count from resource metrics: the equivalent of `GetResourceReplicas`,
//! `GetRawResourceReplicas` (via `calcPlainMetricReplicas`), `groupPods`,
//! `calculateRequests` and `removeMetricsForPods` in
//! kubernetes/kubernetes `pkg/controller/podautoscaler/replica_calculator.go`, with
//! `GetResourceUtilizationRatio` / `GetMetricUsageRatio` from
//! `pkg/controller/podautoscaler/metrics/utilization.go` and the metric listing of
//! `resourceMetricsClient.GetResourceMetric` (`metrics/client.go`).
//!
//! Pure functions: the current time is passed in, nothing is read from a clock.

use std::borrow::Cow;
use std::collections::BTreeMap;

use thiserror::Error;

use super::spec::ResourceName;

/// `PodPhase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// The pod's `Ready` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodReadyCondition {
    pub ready: bool,
    pub last_transition_ms: u64,
}

/// A value per resource, in milli-units. `None` means "not available": for requests,
/// some container of the pod has no request for that resource; for usage, the
/// metrics API reported no value for some container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResourceAmounts {
    pub cpu_milli: Option<i64>,
    pub memory_milli: Option<i64>,
}

impl ResourceAmounts {
    pub fn get(&self, resource: ResourceName) -> Option<i64> {
        match resource {
            ResourceName::Cpu => self.cpu_milli,
            ResourceName::Memory => self.memory_milli,
        }
    }
}

/// The pod's entry in the resource metrics API (`PodMetrics`, summed over containers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodMetric {
    pub usage: ResourceAmounts,
    /// End of the measurement window.
    pub timestamp_ms: u64,
    /// Length of the measurement window (metrics-server: the scrape interval).
    pub window_ms: u64,
}

/// A pod selected by the scale target's selector, as the HPA's pod lister sees it.
///
/// The name is borrowed from the caller's pod table where it can be: the HPA reads
/// every selected pod on every sync, and copying each name was a good part of a long
/// run's cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInput<'a> {
    pub name: Cow<'a, str>,
    pub phase: PodPhase,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// The `Ready` condition, `None` if the pod has none yet.
    pub ready_condition: Option<PodReadyCondition>,
    /// `status.startTime`.
    pub start_time_ms: Option<u64>,
    /// Requests summed over containers (and restartable init containers).
    pub requests: ResourceAmounts,
    /// The pod's metrics, if metrics-server has any for it.
    pub metric: Option<PodMetric>,
}

/// One entry of `PodMetricsInfo` for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSample<'a> {
    pub pod_name: Cow<'a, str>,
    pub value_milli: i64,
    pub timestamp_ms: u64,
    pub window_ms: u64,
}

/// What the resource metrics API returns for the selected pods, in pod order: pods
/// without a metric, or whose metric lacks `resource`, are absent (`getPodMetrics`).
pub fn metric_samples_from_pods<'a>(
    pods: &'a [PodInput<'_>],
    resource: ResourceName,
) -> Vec<MetricSample<'a>> {
    let mut samples = Vec::with_capacity(pods.len());
    samples.extend(pods.iter().filter_map(|pod| {
        let metric = pod.metric?;
        Some(MetricSample {
            pod_name: Cow::Borrowed(pod.name.as_ref()),
            value_milli: metric.usage.get(resource)?,
            timestamp_ms: metric.timestamp_ms,
            window_ms: metric.window_ms,
        })
    }));
    samples
}

/// Whether the pod is named `name`: at once when `name` is the pod's own name (the
/// samples the HPA gets borrow it), by comparing the text otherwise.
fn is_named(pod: &PodInput<'_>, name: &str) -> bool {
    let own = pod.name.as_ref();
    std::ptr::eq(own, name) || own == name
}

/// Errors of the replica calculation, worded as upstream's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalcError {
    /// `GetResourceMetric` got an empty list.
    #[error("unable to get metrics for resource {resource}: no metrics returned from resource metrics API")]
    NoMetricsReturned { resource: ResourceName },
    #[error("no pods returned by selector while calculating replica count")]
    NoPodsReturned,
    #[error("did not receive metrics for targeted pods (pods might be unready)")]
    NoMetricsForReadyPods,
    /// `calculatePodRequestsFromContainers`; poolsim does not track container names.
    #[error("missing request for {resource} in a container of Pod {pod_name}")]
    MissingRequest {
        resource: ResourceName,
        pod_name: String,
    },
    /// `GetResourceUtilizationRatio` when no metric matches a pod with a request.
    #[error("no metrics returned matched known pods")]
    NoMetricsMatchedPods,
}

/// Scale-up and scale-down tolerances (`Tolerances` in `replica_calculator.go`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    pub scale_down: f64,
    pub scale_up: f64,
}

impl Tolerances {
    pub fn symmetric(tolerance: f64) -> Self {
        Tolerances {
            scale_down: tolerance,
            scale_up: tolerance,
        }
    }

    /// `isWithin`: no change when `1 - down <= ratio <= 1 + up`.
    pub fn is_within(&self, usage_ratio: f64) -> bool {
        (1.0 - self.scale_down) <= usage_ratio && usage_ratio <= (1.0 + self.scale_up)
    }
}

/// Controller timing the calculation depends on, plus the current time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalcTiming {
    pub now_ms: u64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period`.
    pub cpu_initialization_period_ms: u64,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay`.
    pub delay_of_initial_readiness_ms: u64,
}

/// The outcome of `groupPods`: each group as positions in the calculation's pod list
/// (upstream's `sets.Set[string]` of pod names; pod names are unique in a namespace,
/// so a position names the same pod).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodGroups {
    pub ready_count: usize,
    /// Pending pods, and (cpu only) pods not yet trusted for their cpu sample.
    pub unready: Vec<usize>,
    /// Running pods without a metric.
    pub missing: Vec<usize>,
    /// Deleting, Failed or Succeeded pods.
    pub ignored: Vec<usize>,
}

/// The metric samples of one calculation: upstream's `PodMetricsInfo`, a map from pod
/// name to sample, kept by position in the calculation's pod list.
///
/// The calculation runs on every sync of every HPA and reads each pod's sample, and
/// its request, several times; finding them by position instead of hashing the name
/// each time was most of the calculation's cost. Pod names are unique (the pods are
/// one namespace's), so a position names one map entry. A sample whose name is not a
/// pod of the list (an extraneous metric) is kept apart: upstream keeps it in the map,
/// where it counts as a sample but has no request. A pod assumed to use some amount (a
/// missing or unready pod when rebalancing) gets a sample of its own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SamplesByPod<'a> {
    /// Per pod of the list, its sample.
    of_pod: Vec<Option<SampleValue>>,
    /// Samples naming no pod of the list, by name.
    others: BTreeMap<&'a str, SampleValue>,
}

impl<'a> SamplesByPod<'a> {
    /// The samples `(pod name, sample)` by the pods of `pods` they name; as in a map,
    /// a later sample for the same name replaces an earlier one.
    pub fn new(
        pods: &[PodInput<'_>],
        samples: impl IntoIterator<Item = (&'a str, SampleValue)>,
    ) -> Self {
        let mut by_pod = SamplesByPod {
            of_pod: vec![None; pods.len()],
            others: BTreeMap::new(),
        };
        // Samples usually come in pod order (the metrics API lists the selected pods
        // as the lister does, less those without a metric): the next few pods are
        // checked first, and a name index is built only when a sample is out of that
        // order.
        const LOOKAHEAD: usize = 16;
        let mut next = 0;
        let mut positions: Option<BTreeMap<&str, usize>> = None;
        for (name, sample) in samples {
            let ahead = pods.get(next..).unwrap_or_default();
            let position = if let Some(offset) = ahead
                .iter()
                .take(LOOKAHEAD)
                .position(|pod| is_named(pod, name))
            {
                Some(next + offset)
            } else {
                positions
                    .get_or_insert_with(|| {
                        let mut index = BTreeMap::new();
                        for (position, pod) in pods.iter().enumerate() {
                            index.entry(pod.name.as_ref()).or_insert(position);
                        }
                        index
                    })
                    .get(name)
                    .copied()
            };
            match position {
                Some(position) => {
                    by_pod.of_pod[position] = Some(sample);
                    next = position + 1;
                }
                None => drop(by_pod.others.insert(name, sample)),
            }
        }
        by_pod
    }

    /// The sample of the pod at `position`.
    pub fn get(&self, position: usize) -> Option<&SampleValue> {
        self.of_pod.get(position).and_then(Option::as_ref)
    }

    /// How many samples: the map's `len`.
    pub fn len(&self) -> usize {
        self.of_pod.iter().flatten().count() + self.others.len()
    }

    pub fn is_empty(&self) -> bool {
        self.others.is_empty() && self.of_pod.iter().all(Option::is_none)
    }

    /// Every sample, those of the listed pods first.
    pub fn values(&self) -> impl Iterator<Item = &SampleValue> {
        self.of_pod.iter().flatten().chain(self.others.values())
    }

    fn insert(&mut self, position: usize, sample: SampleValue) {
        self.of_pod[position] = Some(sample);
    }

    fn remove(&mut self, position: usize) {
        self.of_pod[position] = None;
    }
}

/// What the calculation reads of one metric sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleValue {
    pub value_milli: i64,
    pub timestamp_ms: u64,
    pub window_ms: u64,
}

/// `groupPods`: sorts pods into ready (counted), unready, missing and ignored.
///
/// For cpu, a pod is unready when it has no Ready condition or start time; within
/// the cpu initialization period after start, when it is not Ready or its sample's
/// window began before the last readiness transition; after that period, only when it
/// is not Ready and turned unready within `delay_of_initial_readiness` of its start
/// (it has never been ready).
pub fn group_pods(
    pods: &[PodInput<'_>],
    metrics: &SamplesByPod<'_>,
    resource: ResourceName,
    timing: &CalcTiming,
) -> PodGroups {
    let mut groups = PodGroups::default();
    for (position, pod) in pods.iter().enumerate() {
        match classify_pod(pod, metrics.get(position), resource, timing) {
            PodClass::Ignored => groups.ignored.push(position),
            PodClass::Unready => groups.unready.push(position),
            PodClass::Missing => groups.missing.push(position),
            PodClass::Ready => groups.ready_count += 1,
        }
    }
    groups
}

/// Which group of `groupPods` one pod falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PodClass {
    Ignored,
    Unready,
    Missing,
    Ready,
}

/// One pod's group, given its metric sample (see [`group_pods`]).
fn classify_pod(
    pod: &PodInput<'_>,
    metric: Option<&SampleValue>,
    resource: ResourceName,
    timing: &CalcTiming,
) -> PodClass {
    if pod.deleting || matches!(pod.phase, PodPhase::Failed | PodPhase::Succeeded) {
        return PodClass::Ignored;
    }
    if pod.phase == PodPhase::Pending {
        return PodClass::Unready;
    }
    let Some(metric) = metric else {
        return PodClass::Missing;
    };
    if resource == ResourceName::Cpu {
        let unready = match (pod.ready_condition, pod.start_time_ms) {
            (Some(condition), Some(start_ms)) => {
                let within_initialization =
                    start_ms + timing.cpu_initialization_period_ms > timing.now_ms;
                if within_initialization {
                    !condition.ready
                        || metric.timestamp_ms < condition.last_transition_ms + metric.window_ms
                } else {
                    !condition.ready
                        && start_ms + timing.delay_of_initial_readiness_ms
                            > condition.last_transition_ms
                }
            }
            _ => true,
        };
        if unready {
            return PodClass::Unready;
        }
    }
    PodClass::Ready
}

/// `calculateRequests` for pods without pod-level requests and no container filter:
/// each pod's request is the sum over its containers; a container without a request
/// fails the whole calculation. The requests are by position in `pods` (upstream: a
/// map by pod name).
pub fn calculate_pod_requests(
    pods: &[PodInput<'_>],
    resource: ResourceName,
) -> Result<Vec<i64>, CalcError> {
    pods.iter()
        .map(|pod| {
            pod.requests
                .get(resource)
                .ok_or_else(|| CalcError::MissingRequest {
                    resource,
                    pod_name: pod.name.to_string(),
                })
        })
        .collect()
}

/// `GetResourceUtilizationRatio`: utilization = Σusage·100 / Σrequests (integer
/// division) over metrics whose pod has a request; returns (ratio to target,
/// utilization %, average usage). Sums are exact (upstream switched to big integers
/// to avoid overflow), the percentage is clamped to the i32 range.
pub fn get_resource_utilization_ratio(
    metrics: &SamplesByPod<'_>,
    requests: &[i64],
    target_utilization_pct: i32,
) -> Result<(f64, i32, i64), CalcError> {
    let mut metrics_total: i128 = 0;
    let mut requests_total: i128 = 0;
    let mut entries: i128 = 0;
    // Only the listed pods have requests: metrics for other pods are extraneous and
    // skipped.
    for (sample, request) in metrics.of_pod.iter().zip(requests) {
        let Some(sample) = sample else {
            continue;
        };
        metrics_total += i128::from(sample.value_milli);
        requests_total += i128::from(*request);
        entries += 1;
    }
    utilization_ratio(
        metrics_total,
        requests_total,
        entries,
        target_utilization_pct,
    )
}

/// The arithmetic of `GetResourceUtilizationRatio` on its sums.
fn utilization_ratio(
    metrics_total: i128,
    requests_total: i128,
    entries: i128,
    target_utilization_pct: i32,
) -> Result<(f64, i32, i64), CalcError> {
    if requests_total == 0 {
        return Err(CalcError::NoMetricsMatchedPods);
    }
    let percentage = (metrics_total * 100 / requests_total)
        .clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32;
    let raw_average = (metrics_total / entries) as i64;
    Ok((
        f64::from(percentage) / f64::from(target_utilization_pct),
        percentage,
        raw_average,
    ))
}

/// `GetMetricUsageRatio`: average usage (integer division) over all samples, and its
/// ratio to the target.
pub fn get_metric_usage_ratio(metrics: &SamplesByPod<'_>, target_usage_milli: i64) -> (f64, i64) {
    let total: i128 = metrics
        .values()
        .map(|sample| i128::from(sample.value_milli))
        .sum();
    let average = (total / metrics.len() as i128) as i64;
    (average as f64 / target_usage_milli as f64, average)
}

/// The result of a replica calculation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaCalculation {
    pub replicas: i32,
    /// Utilization in percent of requests (Utilization targets only).
    pub utilization_pct: Option<i32>,
    /// Average usage per pod in milli-units.
    pub raw_average_milli: i64,
    /// Timestamp of the first sample the metrics API returned.
    pub timestamp_ms: u64,
}

fn index_samples<'a>(pods: &[PodInput<'_>], samples: &'a [MetricSample<'_>]) -> SamplesByPod<'a> {
    let values = samples.iter().map(|sample| {
        let value = SampleValue {
            value_milli: sample.value_milli,
            timestamp_ms: sample.timestamp_ms,
            window_ms: sample.window_ms,
        };
        (sample.pod_name.as_ref(), value)
    });
    SamplesByPod::new(pods, values)
}

fn remove_metrics_for_pods(metrics: &mut SamplesByPod<'_>, pods: &[usize]) {
    for &position in pods {
        metrics.remove(position);
    }
}

/// The sample a pod is assumed to have when the calculation rebalances.
fn placeholder_sample(value_milli: i64) -> SampleValue {
    SampleValue {
        value_milli,
        timestamp_ms: 0,
        window_ms: 0,
    }
}

/// Upstream converts `math.Ceil(x)` to int32; a float above the int32 range saturates
/// here instead of wrapping.
fn ceil_to_replicas(value: f64) -> i32 {
    value.ceil() as i32
}

/// Shared tail of both calculations: the rebalancing of missing and unready pods and
/// the direction-flip checks.
fn rebalanced_replicas(
    current_replicas: i32,
    usage_ratio: f64,
    new_usage_ratio: f64,
    metrics_len: usize,
    tolerances: &Tolerances,
) -> i32 {
    if tolerances.is_within(new_usage_ratio)
        || (usage_ratio < 1.0 && new_usage_ratio > 1.0)
        || (usage_ratio > 1.0 && new_usage_ratio < 1.0)
    {
        // Too small a change, or the assumptions flipped the scale direction.
        return current_replicas;
    }
    let new_replicas = ceil_to_replicas(new_usage_ratio * metrics_len as f64);
    if (new_usage_ratio < 1.0 && new_replicas > current_replicas)
        || (new_usage_ratio > 1.0 && new_replicas < current_replicas)
    {
        // Counting the assumed pods would move replicas against the ratio's direction.
        return current_replicas;
    }
    new_replicas
}

/// `GetResourceReplicas`: desired replicas for an average-utilization target.
///
/// `metrics` is what the resource metrics API returned for the selector (see
/// [`metric_samples_from_pods`]); it may name pods absent from `pods`.
pub fn get_resource_replicas(
    current_replicas: i32,
    target_utilization_pct: i32,
    resource: ResourceName,
    tolerances: &Tolerances,
    pods: &[PodInput<'_>],
    metrics: &[MetricSample<'_>],
    timing: &CalcTiming,
) -> Result<ReplicaCalculation, CalcError> {
    let Some(first_sample) = metrics.first() else {
        return Err(CalcError::NoMetricsReturned { resource });
    };
    let timestamp_ms = first_sample.timestamp_ms;
    if pods.is_empty() {
        return Err(CalcError::NoPodsReturned);
    }
    let mut samples = index_samples(pods, metrics);
    let groups = group_pods(pods, &samples, resource, timing);
    remove_metrics_for_pods(&mut samples, &groups.ignored);
    remove_metrics_for_pods(&mut samples, &groups.unready);
    if samples.is_empty() {
        return Err(CalcError::NoMetricsForReadyPods);
    }
    let requests = calculate_pod_requests(pods, resource)?;
    let (usage_ratio, utilization_pct, raw_average_milli) =
        get_resource_utilization_ratio(&samples, &requests, target_utilization_pct)?;
    let result = |replicas| ReplicaCalculation {
        replicas,
        utilization_pct: Some(utilization_pct),
        raw_average_milli,
        timestamp_ms,
    };

    let scale_up_with_unready = !groups.unready.is_empty() && usage_ratio > 1.0;
    if !scale_up_with_unready && groups.missing.is_empty() {
        if tolerances.is_within(usage_ratio) {
            return Ok(result(current_replicas));
        }
        return Ok(result(ceil_to_replicas(
            usage_ratio * groups.ready_count as f64,
        )));
    }

    if !groups.missing.is_empty() {
        if usage_ratio < 1.0 {
            // On a scale-down, a missing pod is assumed to use its whole request, or
            // the target when the target is above 100 %.
            let fallback_utilization_pct = i64::from(target_utilization_pct.max(100));
            for &position in &groups.missing {
                let request = requests[position];
                samples.insert(
                    position,
                    placeholder_sample(request * fallback_utilization_pct / 100),
                );
            }
        } else if usage_ratio > 1.0 {
            // On a scale-up, a missing pod is assumed to use nothing.
            for &position in &groups.missing {
                samples.insert(position, placeholder_sample(0));
            }
        }
    }
    if scale_up_with_unready {
        for &position in &groups.unready {
            samples.insert(position, placeholder_sample(0));
        }
    }

    let (new_usage_ratio, _, _) =
        get_resource_utilization_ratio(&samples, &requests, target_utilization_pct)?;
    Ok(result(rebalanced_replicas(
        current_replicas,
        usage_ratio,
        new_usage_ratio,
        samples.len(),
        tolerances,
    )))
}

/// `GetRawResourceReplicas` (through `calcPlainMetricReplicas`): desired replicas for
/// an average-value target; missing pods count as using exactly the target on a
/// scale-down and nothing on a scale-up.
pub fn get_raw_resource_replicas(
    current_replicas: i32,
    target_average_milli: i64,
    resource: ResourceName,
    tolerances: &Tolerances,
    pods: &[PodInput<'_>],
    metrics: &[MetricSample<'_>],
    timing: &CalcTiming,
) -> Result<ReplicaCalculation, CalcError> {
    let Some(first_sample) = metrics.first() else {
        return Err(CalcError::NoMetricsReturned { resource });
    };
    let timestamp_ms = first_sample.timestamp_ms;
    if pods.is_empty() {
        return Err(CalcError::NoPodsReturned);
    }
    let mut samples = index_samples(pods, metrics);
    let groups = group_pods(pods, &samples, resource, timing);
    remove_metrics_for_pods(&mut samples, &groups.ignored);
    remove_metrics_for_pods(&mut samples, &groups.unready);
    if samples.is_empty() {
        return Err(CalcError::NoMetricsForReadyPods);
    }
    let (usage_ratio, usage_milli) = get_metric_usage_ratio(&samples, target_average_milli);
    let result = |replicas| ReplicaCalculation {
        replicas,
        utilization_pct: None,
        raw_average_milli: usage_milli,
        timestamp_ms,
    };

    let scale_up_with_unready = !groups.unready.is_empty() && usage_ratio > 1.0;
    if !scale_up_with_unready && groups.missing.is_empty() {
        if tolerances.is_within(usage_ratio) {
            return Ok(result(current_replicas));
        }
        return Ok(result(ceil_to_replicas(
            usage_ratio * groups.ready_count as f64,
        )));
    }

    if !groups.missing.is_empty() {
        let assumed_milli = if usage_ratio < 1.0 {
            Some(target_average_milli)
        } else if usage_ratio > 1.0 {
            Some(0)
        } else {
            None
        };
        if let Some(assumed_milli) = assumed_milli {
            for &position in &groups.missing {
                samples.insert(position, placeholder_sample(assumed_milli));
            }
        }
    }
    if scale_up_with_unready {
        for &position in &groups.unready {
            samples.insert(position, placeholder_sample(0));
        }
    }

    let (new_usage_ratio, _) = get_metric_usage_ratio(&samples, target_average_milli);
    Ok(result(rebalanced_replicas(
        current_replicas,
        usage_ratio,
        new_usage_ratio,
        samples.len(),
        tolerances,
    )))
}
