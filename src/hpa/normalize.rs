//! Normalization of the metric-desired replica count: stabilization, rate limits and
//! min/max clamps. Ports of kubernetes/kubernetes
//! `pkg/controller/podautoscaler/horizontal.go`: `stabilizeRecommendation`,
//! `normalizeDesiredReplicas`, `convertDesiredReplicasWithRules`,
//! `calculateScaleUpLimit` (legacy path, HPAs without `behavior`) and
//! `normalizeDesiredReplicasWithBehaviors`, `stabilizeRecommendationWithBehaviors`,
//! `convertDesiredReplicasWithBehaviorRate`, `calculateScaleUpLimitWithScalingRules`,
//! `calculateScaleDownLimitWithBehaviors`, `getReplicasChangePerPeriod`,
//! `storeScaleEvent`, `markScaleEventsOutdated` (behavior path).
//!
//! Upstream keeps the histories in controller maps keyed by HPA; here they live in an
//! [`HpaHistory`] the caller keeps per HPA between syncs.

use super::spec::{Behavior, ScalingPolicyType, ScalingRules, SelectPolicy};

/// `timestampedRecommendation`: an unstabilized recommendation and when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampedRecommendation {
    pub recommendation: i32,
    pub timestamp_ms: u64,
}

/// `timestampedScaleEvent`: a past rescale (absolute change) used by rate policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleEvent {
    pub replica_change: i32,
    pub timestamp_ms: u64,
    /// Older than the longest policy period: the slot may be reused.
    pub outdated: bool,
}

/// Per-HPA memory of the controller (`recommendations`, `scaleUpEvents`,
/// `scaleDownEvents`). Lost when kube-controller-manager restarts, as upstream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HpaHistory {
    pub recommendations: Vec<TimestampedRecommendation>,
    pub scale_up_events: Vec<ScaleEvent>,
    pub scale_down_events: Vec<ScaleEvent>,
}

/// The conditions a normalization decided: `AbleToScale` (always True here) and
/// `ScalingLimited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormalizationOutcome {
    pub desired_replicas: i32,
    pub able_to_scale_reason: &'static str,
    pub able_to_scale_message: &'static str,
    /// True when the clamp changed the stabilized recommendation.
    pub scaling_limited: bool,
    pub scaling_limited_reason: &'static str,
    pub scaling_limited_message: &'static str,
}

const READY_FOR_NEW_SCALE: (&str, &str) =
    ("ReadyForNewScale", "recommended size matches current size");
const SCALE_DOWN_STABILIZED: (&str, &str) = (
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent recommendation",
);
const SCALE_UP_STABILIZED: (&str, &str) = (
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
);
const DESIRED_WITHIN_RANGE: (&str, &str) = (
    "DesiredWithinRange",
    "the desired count is within the acceptable range",
);
const SCALE_UP_LIMIT: (&str, &str) = (
    "ScaleUpLimit",
    "the desired replica count is increasing faster than the maximum scale rate",
);
const TOO_MANY_REPLICAS: (&str, &str) = (
    "TooManyReplicas",
    "the desired replica count is more than the maximum replica count",
);
const SCALE_DOWN_LIMIT: (&str, &str) = (
    "ScaleDownLimit",
    "the desired replica count is decreasing faster than the maximum scale rate",
);
const TOO_FEW_REPLICAS: (&str, &str) = (
    "TooFewReplicas",
    "the desired replica count is less than the minimum replica count",
);

/// `now - window`, as a signed value so that early times do not underflow.
fn cutoff_ms(now_ms: u64, window_ms: u64) -> i128 {
    i128::from(now_ms) - i128::from(window_ms)
}

/// `recordInitialRecommendation`: the first sync seeds the history with the current
/// replica count, so a fresh controller does not scale down at once.
pub fn record_initial_recommendation(history: &mut HpaHistory, current_replicas: i32, now_ms: u64) {
    if history.recommendations.is_empty() {
        history.recommendations.push(TimestampedRecommendation {
            recommendation: current_replicas,
            timestamp_ms: now_ms,
        });
    }
}

/// `stabilizeRecommendation` (legacy path): records the new recommendation (reusing
/// the last slot older than the window) and returns the maximum over the window.
pub fn stabilize_recommendation(
    history: &mut HpaHistory,
    now_ms: u64,
    downscale_stabilization_window_ms: u64,
    prenormalized_desired_replicas: i32,
) -> i32 {
    let cutoff = cutoff_ms(now_ms, downscale_stabilization_window_ms);
    let mut max_recommendation = prenormalized_desired_replicas;
    let mut old_sample_index = None;
    for (index, record) in history.recommendations.iter().enumerate() {
        if i128::from(record.timestamp_ms) < cutoff {
            old_sample_index = Some(index);
        } else if record.recommendation > max_recommendation {
            max_recommendation = record.recommendation;
        }
    }
    let new_record = TimestampedRecommendation {
        recommendation: prenormalized_desired_replicas,
        timestamp_ms: now_ms,
    };
    match old_sample_index {
        Some(index) => history.recommendations[index] = new_record,
        None => history.recommendations.push(new_record),
    }
    max_recommendation
}

/// `calculateScaleUpLimit`: max(2 × current, 4), the legacy rate limit.
pub fn calculate_scale_up_limit(current_replicas: i32) -> i32 {
    (2.0 * f64::from(current_replicas)).max(4.0) as i32
}

/// `convertDesiredReplicasWithRules`: clamps to [min, min(max, scale-up limit)] and
/// names the limiting reason.
pub fn convert_desired_replicas_with_rules(
    current_replicas: i32,
    desired_replicas: i32,
    min_replicas: i32,
    max_replicas: i32,
) -> (i32, &'static str, &'static str) {
    let scale_up_limit = calculate_scale_up_limit(current_replicas);
    let (maximum_allowed, limiting) = if max_replicas > scale_up_limit {
        (scale_up_limit, SCALE_UP_LIMIT)
    } else {
        (max_replicas, TOO_MANY_REPLICAS)
    };
    if desired_replicas < min_replicas {
        return (min_replicas, TOO_FEW_REPLICAS.0, TOO_FEW_REPLICAS.1);
    }
    if desired_replicas > maximum_allowed {
        return (maximum_allowed, limiting.0, limiting.1);
    }
    (
        desired_replicas,
        DESIRED_WITHIN_RANGE.0,
        DESIRED_WITHIN_RANGE.1,
    )
}

/// `normalizeDesiredReplicas`: the legacy path for HPAs without `behavior`.
pub fn normalize_desired_replicas(
    history: &mut HpaHistory,
    now_ms: u64,
    downscale_stabilization_window_ms: u64,
    current_replicas: i32,
    prenormalized_desired_replicas: i32,
    min_replicas: i32,
    max_replicas: i32,
) -> NormalizationOutcome {
    let stabilized = stabilize_recommendation(
        history,
        now_ms,
        downscale_stabilization_window_ms,
        prenormalized_desired_replicas,
    );
    let able_to_scale = if stabilized != prenormalized_desired_replicas {
        SCALE_DOWN_STABILIZED
    } else {
        READY_FOR_NEW_SCALE
    };
    let (desired_replicas, reason, message) = convert_desired_replicas_with_rules(
        current_replicas,
        stabilized,
        min_replicas,
        max_replicas,
    );
    NormalizationOutcome {
        desired_replicas,
        able_to_scale_reason: able_to_scale.0,
        able_to_scale_message: able_to_scale.1,
        scaling_limited: desired_replicas != stabilized,
        scaling_limited_reason: reason,
        scaling_limited_message: message,
    }
}

/// `NormalizationArg`, with both stabilization windows resolved.
#[derive(Debug, Clone, Copy)]
pub struct NormalizationArg<'a> {
    pub scale_up_rules: &'a ScalingRules,
    pub scale_down_rules: &'a ScalingRules,
    pub scale_up_window_seconds: i32,
    pub scale_down_window_seconds: i32,
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub current_replicas: i32,
    pub desired_replicas: i32,
}

fn seconds_to_ms(seconds: i32) -> u64 {
    u64::try_from(seconds).unwrap_or(0) * 1000
}

/// `stabilizeRecommendationWithBehaviors`: the recommendation is kept between the
/// minimum over the scale-up window and the maximum over the scale-down window
/// (starting from the current count); the new unstabilized recommendation is recorded,
/// reusing the last slot older than both windows.
pub fn stabilize_recommendation_with_behaviors(
    history: &mut HpaHistory,
    now_ms: u64,
    args: &NormalizationArg,
) -> (i32, &'static str, &'static str) {
    let up_cutoff = cutoff_ms(now_ms, seconds_to_ms(args.scale_up_window_seconds));
    let down_cutoff = cutoff_ms(now_ms, seconds_to_ms(args.scale_down_window_seconds));
    let mut up_recommendation = args.desired_replicas;
    let mut down_recommendation = args.desired_replicas;
    let mut old_sample_index = None;
    for (index, record) in history.recommendations.iter().enumerate() {
        let timestamp = i128::from(record.timestamp_ms);
        if timestamp > up_cutoff {
            up_recommendation = up_recommendation.min(record.recommendation);
        }
        if timestamp > down_cutoff {
            down_recommendation = down_recommendation.max(record.recommendation);
        }
        if timestamp < up_cutoff && timestamp < down_cutoff {
            old_sample_index = Some(index);
        }
    }
    let recommendation = args
        .current_replicas
        .max(up_recommendation)
        .min(down_recommendation);
    let new_record = TimestampedRecommendation {
        recommendation: args.desired_replicas,
        timestamp_ms: now_ms,
    };
    match old_sample_index {
        Some(index) => history.recommendations[index] = new_record,
        None => history.recommendations.push(new_record),
    }
    let (reason, message) = if args.desired_replicas >= args.current_replicas {
        SCALE_UP_STABILIZED
    } else {
        SCALE_DOWN_STABILIZED
    };
    (recommendation, reason, message)
}

/// `getReplicasChangePerPeriod`: the replicas changed by events newer than the period.
pub fn get_replicas_change_per_period(
    period_seconds: i32,
    events: &[ScaleEvent],
    now_ms: u64,
) -> i32 {
    let cutoff = cutoff_ms(now_ms, seconds_to_ms(period_seconds));
    events
        .iter()
        .filter(|event| i128::from(event.timestamp_ms) > cutoff)
        .map(|event| event.replica_change)
        .sum()
}

fn period_start_replicas(
    current_replicas: i32,
    period_seconds: i32,
    scale_up_events: &[ScaleEvent],
    scale_down_events: &[ScaleEvent],
    now_ms: u64,
) -> i32 {
    current_replicas - get_replicas_change_per_period(period_seconds, scale_up_events, now_ms)
        + get_replicas_change_per_period(period_seconds, scale_down_events, now_ms)
}

/// `calculateScaleUpLimitWithScalingRules`: the highest count the policies allow,
/// each policy measured from the count at the start of its period.
pub fn calculate_scale_up_limit_with_scaling_rules(
    current_replicas: i32,
    scale_up_events: &[ScaleEvent],
    scale_down_events: &[ScaleEvent],
    rules: &ScalingRules,
    now_ms: u64,
) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current_replicas,
        // For scaling up, the smallest change is the minimum limit.
        SelectPolicy::Min => (i32::MAX, std::cmp::min),
        SelectPolicy::Max => (i32::MIN, std::cmp::max),
    };
    for policy in &rules.policies {
        let start = period_start_replicas(
            current_replicas,
            policy.period_seconds,
            scale_up_events,
            scale_down_events,
            now_ms,
        );
        let proposed = match policy.policy_type {
            ScalingPolicyType::Pods => start + policy.value,
            // Rounded up, or a small percentage of a small count would never add a pod.
            ScalingPolicyType::Percent => {
                (f64::from(start) * (1.0 + f64::from(policy.value) / 100.0)).ceil() as i32
            }
        };
        result = pick(result, proposed);
    }
    result
}

/// `calculateScaleDownLimitWithBehaviors`: the lowest count the policies allow.
pub fn calculate_scale_down_limit_with_behaviors(
    current_replicas: i32,
    scale_up_events: &[ScaleEvent],
    scale_down_events: &[ScaleEvent],
    rules: &ScalingRules,
    now_ms: u64,
) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current_replicas,
        // For scaling down, the smallest change is the maximum limit.
        SelectPolicy::Min => (i32::MIN, std::cmp::max),
        SelectPolicy::Max => (i32::MAX, std::cmp::min),
    };
    for policy in &rules.policies {
        let start = period_start_replicas(
            current_replicas,
            policy.period_seconds,
            scale_up_events,
            scale_down_events,
            now_ms,
        );
        let proposed = match policy.policy_type {
            ScalingPolicyType::Pods => start - policy.value,
            // Go's int32(float) conversion truncates toward zero; so does `as`.
            ScalingPolicyType::Percent => {
                (f64::from(start) * (1.0 - f64::from(policy.value) / 100.0)) as i32
            }
        };
        result = pick(result, proposed);
    }
    result
}

/// `convertDesiredReplicasWithBehaviorRate`: clamps to the rate limits and min/max.
pub fn convert_desired_replicas_with_behavior_rate(
    history: &HpaHistory,
    now_ms: u64,
    args: &NormalizationArg,
) -> (i32, &'static str, &'static str) {
    if args.desired_replicas > args.current_replicas {
        let scale_up_limit = calculate_scale_up_limit_with_scaling_rules(
            args.current_replicas,
            &history.scale_up_events,
            &history.scale_down_events,
            args.scale_up_rules,
            now_ms,
        )
        // Recent events may put the limit below the current count: hold, never shrink.
        .max(args.current_replicas);
        let (maximum_allowed, limiting) = if args.max_replicas > scale_up_limit {
            (scale_up_limit, SCALE_UP_LIMIT)
        } else {
            (args.max_replicas, TOO_MANY_REPLICAS)
        };
        if args.desired_replicas > maximum_allowed {
            return (maximum_allowed, limiting.0, limiting.1);
        }
    } else if args.desired_replicas < args.current_replicas {
        let scale_down_limit = calculate_scale_down_limit_with_behaviors(
            args.current_replicas,
            &history.scale_up_events,
            &history.scale_down_events,
            args.scale_down_rules,
            now_ms,
        )
        .min(args.current_replicas);
        let (minimum_allowed, limiting) = if args.min_replicas < scale_down_limit {
            (scale_down_limit, SCALE_DOWN_LIMIT)
        } else {
            (args.min_replicas, TOO_FEW_REPLICAS)
        };
        if args.desired_replicas < minimum_allowed {
            return (minimum_allowed, limiting.0, limiting.1);
        }
    }
    (
        args.desired_replicas,
        DESIRED_WITHIN_RANGE.0,
        DESIRED_WITHIN_RANGE.1,
    )
}

/// `normalizeDesiredReplicasWithBehaviors`: stabilization, then rate limits and
/// min/max. An unset scale-down window takes the controller's downscale
/// stabilization window (`maybeInitScaleDownStabilizationWindow`).
#[allow(clippy::too_many_arguments)]
pub fn normalize_desired_replicas_with_behaviors(
    history: &mut HpaHistory,
    now_ms: u64,
    behavior: &Behavior,
    downscale_stabilization_window_ms: u64,
    current_replicas: i32,
    prenormalized_desired_replicas: i32,
    min_replicas: i32,
    max_replicas: i32,
) -> NormalizationOutcome {
    let controller_window_seconds =
        i32::try_from(downscale_stabilization_window_ms / 1000).unwrap_or(i32::MAX);
    let mut args = NormalizationArg {
        scale_up_rules: &behavior.scale_up,
        scale_down_rules: &behavior.scale_down,
        scale_up_window_seconds: behavior.scale_up.stabilization_window_seconds.unwrap_or(0),
        scale_down_window_seconds: behavior
            .scale_down
            .stabilization_window_seconds
            .unwrap_or(controller_window_seconds),
        min_replicas,
        max_replicas,
        current_replicas,
        desired_replicas: prenormalized_desired_replicas,
    };
    let (stabilized, stabilized_reason, stabilized_message) =
        stabilize_recommendation_with_behaviors(history, now_ms, &args);
    let (able_to_scale_reason, able_to_scale_message) =
        if stabilized != prenormalized_desired_replicas {
            (stabilized_reason, stabilized_message)
        } else {
            READY_FOR_NEW_SCALE
        };
    args.desired_replicas = stabilized;
    let (desired_replicas, reason, message) =
        convert_desired_replicas_with_behavior_rate(history, now_ms, &args);
    NormalizationOutcome {
        desired_replicas,
        able_to_scale_reason,
        able_to_scale_message,
        scaling_limited: desired_replicas != stabilized,
        scaling_limited_reason: reason,
        scaling_limited_message: message,
    }
}

/// `getLongestPolicyPeriod`.
pub fn get_longest_policy_period(rules: &ScalingRules) -> i32 {
    rules
        .policies
        .iter()
        .map(|policy| policy.period_seconds)
        .fold(0, i32::max)
}

/// `markScaleEventsOutdated`: events older than the longest policy period may be reused.
pub fn mark_scale_events_outdated(
    events: &mut [ScaleEvent],
    longest_policy_period_seconds: i32,
    now_ms: u64,
) {
    let cutoff = cutoff_ms(now_ms, seconds_to_ms(longest_policy_period_seconds));
    for event in events.iter_mut() {
        if i128::from(event.timestamp_ms) < cutoff {
            event.outdated = true;
        }
    }
}

/// `storeScaleEvent`: records a rescale for the rate policies (only with a behavior),
/// reusing the last outdated slot.
pub fn store_scale_event(
    behavior: Option<&Behavior>,
    history: &mut HpaHistory,
    previous_replicas: i32,
    new_replicas: i32,
    now_ms: u64,
) {
    let Some(behavior) = behavior else {
        return;
    };
    let (events, rules, replica_change) = if new_replicas > previous_replicas {
        (
            &mut history.scale_up_events,
            &behavior.scale_up,
            new_replicas - previous_replicas,
        )
    } else {
        (
            &mut history.scale_down_events,
            &behavior.scale_down,
            previous_replicas - new_replicas,
        )
    };
    mark_scale_events_outdated(events, get_longest_policy_period(rules), now_ms);
    let new_event = ScaleEvent {
        replica_change,
        timestamp_ms: now_ms,
        outdated: false,
    };
    match events.iter().rposition(|event| event.outdated) {
        Some(index) => events[index] = new_event,
        None => events.push(new_event),
    }
}
