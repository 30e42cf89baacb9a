//! The HorizontalPodAutoscaler's decision logic, as pure functions.
//!
//! [`sync`] is one pass of `reconcileAutoscaler` (kubernetes/kubernetes
//! `pkg/controller/podautoscaler/horizontal.go`): the caller passes the HPA, its last
//! status, the per-HPA [`HpaHistory`], the target's scale subresource and the pods its
//! selector picks (with their metrics-server samples), and gets back the new status,
//! the replica count to write (if any) and the events upstream would record. The
//! caller calls it every `HpaSettings::sync_period_ms` (15 s by default).
//!
//! Invariants: no clock, no I/O, no randomness, no hash maps; time is `now_ms`.
//! Only Resource metrics (cpu, memory) are modelled. The scale update always succeeds
//! (no `FailedRescale`), the scale is always found (no `FailedGetScale`), and the
//! HPAScaleToZero flow is not modelled (with resource metrics only it cannot scale
//! from zero anyway).

pub mod normalize;
pub mod replica_calculator;
pub mod spec;

pub use normalize::HpaHistory;
pub use replica_calculator::{
    CalcTiming, PodInput, PodMetric, PodPhase, PodReadyCondition, ResourceAmounts, Tolerances,
};
pub use spec::{
    AbsentBehaviorMode, ConditionStatus, ConditionType, HpaCondition, HpaSettings, HpaSpec,
    HpaStatus, MetricSpec, MetricStatus,
};

use replica_calculator::{
    get_raw_resource_replicas, get_resource_replicas, metric_samples_from_pods,
};

/// The target's scale subresource as the HPA reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleInput {
    /// `spec.replicas` of the scale subresource (the HPA's "current replicas").
    pub spec_replicas: i32,
    /// False when `status.selector` is empty (for a pool: `status.labelSelector`).
    pub selector_found: bool,
}

/// `EventTypeNormal` / `EventTypeWarning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HpaEventKind {
    Normal,
    Warning,
}

/// An event the controller records on the HPA object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HpaEvent {
    pub kind: HpaEventKind,
    pub reason: String,
    pub message: String,
}

/// The outcome of one sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HpaSyncResult {
    pub new_status: HpaStatus,
    /// The value to write to the target's `spec.replicas`, when it changes.
    pub rescale_to: Option<i32>,
    pub events: Vec<HpaEvent>,
}

/// `setConditionInList`: adds or updates the condition; the transition time moves
/// only when the status changes.
fn set_condition(
    status: &mut HpaStatus,
    condition_type: ConditionType,
    condition_status: ConditionStatus,
    reason: &str,
    message: String,
    now_ms: u64,
) {
    match status
        .conditions
        .iter_mut()
        .find(|condition| condition.condition_type == condition_type)
    {
        Some(existing) => {
            if existing.status != condition_status {
                existing.last_transition_ms = now_ms;
            }
            existing.status = condition_status;
            existing.reason = reason.to_string();
            existing.message = message;
        }
        None => status.conditions.push(HpaCondition {
            condition_type,
            status: condition_status,
            reason: reason.to_string(),
            message,
            last_transition_ms: now_ms,
        }),
    }
}

fn warning(reason: &str, message: String) -> HpaEvent {
    HpaEvent {
        kind: HpaEventKind::Warning,
        reason: reason.to_string(),
        message,
    }
}

/// `tolerancesForHpa`: the controller flag, overridden per direction by
/// `behavior.scale{Up,Down}.tolerance` when the HPAConfigurableTolerance gate is on.
pub fn tolerances_for_hpa(spec: &HpaSpec, settings: &HpaSettings) -> Tolerances {
    let mut tolerances = Tolerances::symmetric(settings.tolerance);
    if spec.behavior_specified && settings.configurable_tolerance_enabled {
        if let Some(tolerance) = spec.behavior.scale_down.tolerance {
            tolerances.scale_down = tolerance;
        }
        if let Some(tolerance) = spec.behavior.scale_up.tolerance {
            tolerances.scale_up = tolerance;
        }
    }
    tolerances
}

/// A failed metric: the `ScalingActive` condition it proposes and the error text.
struct MetricFailure {
    reason: &'static str,
    condition_message: String,
    error: String,
}

/// A computed metric: `computeReplicasForMetric`'s proposal.
struct MetricProposal {
    replicas: i32,
    metric_name: String,
    status: MetricStatus,
}

/// `computeReplicasForMetric` for a Resource metric
/// (`computeStatusForResourceMetric` → `computeStatusForResourceMetricGeneric`).
fn compute_replicas_for_metric(
    metric: &MetricSpec,
    current_replicas: i32,
    tolerances: &Tolerances,
    pods: &[PodInput],
    timing: &CalcTiming,
    events: &mut Vec<HpaEvent>,
) -> Result<MetricProposal, MetricFailure> {
    let MetricSpec::Resource { name, target } = *metric;
    let samples = metric_samples_from_pods(pods, name);
    let inner: Result<MetricProposal, String> = if let Some(target_milli) =
        target.average_value_milli
    {
        get_raw_resource_replicas(
            current_replicas,
            target_milli,
            name,
            tolerances,
            pods,
            &samples,
            timing,
        )
        .map(|calculation| MetricProposal {
            replicas: calculation.replicas,
            metric_name: format!("{name} resource"),
            status: MetricStatus {
                resource: name,
                average_utilization_pct: None,
                average_value_milli: calculation.raw_average_milli,
            },
        })
        .map_err(|error| format!("failed to get {name} usage: {error}"))
    } else if let Some(target_pct) = target.average_utilization_pct {
        get_resource_replicas(
            current_replicas,
            target_pct,
            name,
            tolerances,
            pods,
            &samples,
            timing,
        )
        .map(|calculation| MetricProposal {
            replicas: calculation.replicas,
            metric_name: format!("{name} resource utilization (percentage of request)"),
            status: MetricStatus {
                resource: name,
                average_utilization_pct: calculation.utilization_pct,
                average_value_milli: calculation.raw_average_milli,
            },
        })
        .map_err(|error| format!("failed to get {name} utilization: {error}"))
    } else {
        Err("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set".to_string())
    };
    inner.map_err(|error| {
        // getUnableComputeReplicaCountCondition records the event and proposes the condition.
        events.push(warning("FailedGetResourceMetric", error.clone()));
        MetricFailure {
            reason: "FailedGetResourceMetric",
            condition_message: format!("the HPA was unable to compute the replica count: {error}"),
            error: format!("failed to get {name} resource metric value: {error}"),
        }
    })
}

/// What `computeReplicasForMetrics` returns when it can propose a count.
struct MetricsProposal {
    replicas: i32,
    metric_name: String,
    statuses: Vec<MetricStatus>,
}

/// `computeReplicasForMetrics`: the maximum over all metrics. Fails (upstream: -1)
/// when the selector is missing, when every metric failed, or when some failed and the
/// rest would scale down.
fn compute_replicas_for_metrics(
    now_ms: u64,
    spec: &HpaSpec,
    status: &mut HpaStatus,
    scale: &ScaleInput,
    pods: &[PodInput],
    settings: &HpaSettings,
    events: &mut Vec<HpaEvent>,
) -> Result<MetricsProposal, (Vec<MetricStatus>, String)> {
    if !scale.selector_found {
        let message = "selector is required".to_string();
        events.push(warning("SelectorRequired", message.clone()));
        set_condition(
            status,
            ConditionType::ScalingActive,
            ConditionStatus::False,
            "InvalidSelector",
            "the HPA target's scale is missing a selector".to_string(),
            now_ms,
        );
        return Err((Vec::new(), message));
    }
    let tolerances = tolerances_for_hpa(spec, settings);
    let timing = CalcTiming {
        now_ms,
        cpu_initialization_period_ms: settings.cpu_initialization_period_ms,
        delay_of_initial_readiness_ms: settings.initial_readiness_delay_ms,
    };
    let mut replicas = 0;
    let mut metric_name = String::new();
    let mut statuses = Vec::new();
    let mut invalid_count = 0;
    let mut first_failure: Option<MetricFailure> = None;
    for metric in &spec.metrics {
        match compute_replicas_for_metric(
            metric,
            scale.spec_replicas,
            &tolerances,
            pods,
            &timing,
            events,
        ) {
            Ok(proposal) => {
                statuses.push(proposal.status);
                if replicas == 0 || proposal.replicas > replicas {
                    replicas = proposal.replicas;
                    metric_name = proposal.metric_name;
                }
            }
            Err(failure) => {
                invalid_count += 1;
                first_failure.get_or_insert(failure);
            }
        }
    }
    let metrics_count = spec.metrics.len();
    if invalid_count >= metrics_count || (invalid_count > 0 && replicas < scale.spec_replicas) {
        let error = match first_failure {
            Some(failure) => {
                set_condition(
                    status,
                    ConditionType::ScalingActive,
                    ConditionStatus::False,
                    failure.reason,
                    failure.condition_message,
                    now_ms,
                );
                format!(
                    "invalid metrics ({invalid_count} invalid out of {metrics_count}), first error is: {}",
                    failure.error
                )
            }
            // Only reachable with an empty metric list, which API defaulting prevents.
            None => "invalid metrics (0 invalid out of 0): no metrics to compute".to_string(),
        };
        return Err((statuses, error));
    }
    set_condition(
        status,
        ConditionType::ScalingActive,
        ConditionStatus::True,
        "ValidMetricFound",
        format!("the HPA was able to successfully calculate a replica count from {metric_name}"),
        now_ms,
    );
    Ok(MetricsProposal {
        replicas,
        metric_name,
        statuses,
    })
}

/// The metrics' proposal normalized (stabilization window, behavior policies, min and
/// max: `normalizeDesiredReplicas` or `normalizeDesiredReplicasWithBehaviors`, as
/// `reconcileAutoscaler` picks), and the AbleToScale and ScalingLimited conditions it
/// sets.
fn normalize_and_report(
    now_ms: u64,
    spec: &HpaSpec,
    new_status: &mut HpaStatus,
    history: &mut HpaHistory,
    settings: &HpaSettings,
    current_replicas: i32,
    desired_replicas: i32,
) -> i32 {
    let use_behavior = spec.behavior_specified
        || settings.absent_behavior_mode == AbsentBehaviorMode::DefaultPolicies;
    let outcome = if use_behavior {
        normalize::normalize_desired_replicas_with_behaviors(
            history,
            now_ms,
            &spec.behavior,
            settings.downscale_stabilization_window_ms,
            current_replicas,
            desired_replicas,
            spec.min_replicas,
            spec.max_replicas,
        )
    } else {
        normalize::normalize_desired_replicas(
            history,
            now_ms,
            settings.downscale_stabilization_window_ms,
            current_replicas,
            desired_replicas,
            spec.min_replicas,
            spec.max_replicas,
        )
    };
    set_condition(
        new_status,
        ConditionType::AbleToScale,
        ConditionStatus::True,
        outcome.able_to_scale_reason,
        outcome.able_to_scale_message.to_string(),
        now_ms,
    );
    set_condition(
        new_status,
        ConditionType::ScalingLimited,
        if outcome.scaling_limited {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        },
        outcome.scaling_limited_reason,
        outcome.scaling_limited_message.to_string(),
        now_ms,
    );
    outcome.desired_replicas
}

/// A rescale as `reconcileAutoscaler` records it: the AbleToScale condition, the scale
/// event the behavior's policies count (`storeScaleEvent`), the last scale time; and
/// the SuccessfulRescale event, returned.
fn record_rescale(
    now_ms: u64,
    spec: &HpaSpec,
    new_status: &mut HpaStatus,
    history: &mut HpaHistory,
    settings: &HpaSettings,
    (current_replicas, desired_replicas): (i32, i32),
    rescale_reason: &str,
) -> HpaEvent {
    set_condition(
        new_status,
        ConditionType::AbleToScale,
        ConditionStatus::True,
        "SucceededRescale",
        format!("the HPA controller was able to update the target scale to {desired_replicas}"),
        now_ms,
    );
    // Scale events are kept only for HPAs with a behavior (storeScaleEvent).
    let behavior_for_events = (spec.behavior_specified
        || settings.absent_behavior_mode == AbsentBehaviorMode::DefaultPolicies)
        .then_some(&spec.behavior);
    normalize::store_scale_event(
        behavior_for_events,
        history,
        current_replicas,
        desired_replicas,
        now_ms,
    );
    new_status.last_scale_time_ms = Some(now_ms);
    HpaEvent {
        kind: HpaEventKind::Normal,
        reason: "SuccessfulRescale".to_string(),
        message: format!("New size: {desired_replicas}; reason: {rescale_reason}"),
    }
}

/// The desired replicas the metrics propose (`reconcileAutoscaler` starts from 0 and
/// takes the largest proposal), and the reason a rescale to it gives.
fn proposed_rescale(proposed: i32, metric_name: String, current_replicas: i32) -> (i32, String) {
    let mut desired_replicas = 0;
    let mut rescale_metric = String::new();
    let mut rescale_reason = String::new();
    if proposed > desired_replicas {
        desired_replicas = proposed;
        rescale_metric = metric_name;
    }
    if desired_replicas > current_replicas {
        rescale_reason = format!("{rescale_metric} above target");
    }
    if desired_replicas < current_replicas {
        rescale_reason = "All metrics below target".to_string();
    }
    (desired_replicas, rescale_reason)
}

/// When no metric gives a replica count: `setCurrentReplicasAndMetricsInStatus`, the
/// desired replicas stay as they were and nothing is rescaled.
fn metrics_failed(
    mut new_status: HpaStatus,
    current_replicas: i32,
    statuses: Vec<MetricStatus>,
    events: Vec<HpaEvent>,
) -> HpaSyncResult {
    new_status.current_replicas = current_replicas;
    new_status.current_metrics = statuses;
    HpaSyncResult {
        new_status,
        rescale_to: None,
        events,
    }
}

/// A target scaled to zero by hand switches autoscaling off (ScalingActive False).
fn set_scaling_disabled(new_status: &mut HpaStatus, now_ms: u64) {
    set_condition(
        new_status,
        ConditionType::ScalingActive,
        ConditionStatus::False,
        "ScalingDisabled",
        "scaling is disabled since the replica count of the target is zero".to_string(),
        now_ms,
    );
}

/// One reconciliation of an HPA (`reconcileAutoscaler`).
pub fn sync(
    now_ms: u64,
    spec: &HpaSpec,
    status: &HpaStatus,
    history: &mut HpaHistory,
    scale: ScaleInput,
    pods: &[PodInput],
    settings: &HpaSettings,
) -> HpaSyncResult {
    let mut new_status = status.clone();
    let mut events = Vec::new();
    set_condition(
        &mut new_status,
        ConditionType::AbleToScale,
        ConditionStatus::True,
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale".to_string(),
        now_ms,
    );
    let current_replicas = scale.spec_replicas;
    normalize::record_initial_recommendation(history, current_replicas, now_ms);

    let min_replicas = spec.min_replicas;
    let mut desired_replicas;
    let mut rescale_reason = String::new();
    let mut rescale = true;
    let mut metric_statuses = Vec::new();

    if current_replicas == 0 {
        // A target scaled to zero by hand switches autoscaling off.
        desired_replicas = 0;
        rescale = false;
        set_scaling_disabled(&mut new_status, now_ms);
    } else if current_replicas > spec.max_replicas {
        rescale_reason = "Current number of replicas above Spec.MaxReplicas".to_string();
        desired_replicas = spec.max_replicas;
    } else if current_replicas < min_replicas {
        rescale_reason = "Current number of replicas below Spec.MinReplicas".to_string();
        desired_replicas = min_replicas;
    } else {
        match compute_replicas_for_metrics(
            now_ms,
            spec,
            &mut new_status,
            &scale,
            pods,
            settings,
            &mut events,
        ) {
            Err((statuses, error)) => {
                events.push(warning("FailedComputeMetricsReplicas", error));
                return metrics_failed(new_status, current_replicas, statuses, events);
            }
            Ok(proposal) => {
                metric_statuses = proposal.statuses;
                (desired_replicas, rescale_reason) =
                    proposed_rescale(proposal.replicas, proposal.metric_name, current_replicas);
                desired_replicas = normalize_and_report(
                    now_ms,
                    spec,
                    &mut new_status,
                    history,
                    settings,
                    current_replicas,
                    desired_replicas,
                );
                rescale = desired_replicas != current_replicas;
            }
        }
    }

    let mut rescale_to = None;
    if rescale {
        events.push(record_rescale(
            now_ms,
            spec,
            &mut new_status,
            history,
            settings,
            (current_replicas, desired_replicas),
            &rescale_reason,
        ));
        rescale_to = Some(desired_replicas);
    } else {
        desired_replicas = current_replicas;
    }

    // setStatus
    new_status.current_replicas = current_replicas;
    new_status.desired_replicas = desired_replicas;
    new_status.current_metrics = metric_statuses;
    HpaSyncResult {
        new_status,
        rescale_to,
        events,
    }
}
