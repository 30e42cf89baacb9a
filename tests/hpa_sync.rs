//! Ports of kubernetes/kubernetes `horizontal_test.go` controller tests through
//! `hpa::sync` (TestScaleUp, TestScaleDown, TestScaleUpRCImmediately,
//! TestScaleDownRCImmediately, TestZeroReplicas, TestStabilizeDownscale,
//! TestConditionInvalidSelectorMissing, TestConditionFailedGetMetrics), plus the spec
//! defaulting and validation of `pkg/apis/autoscaling`.

use poolsim::hpa::normalize::TimestampedRecommendation;
use poolsim::hpa::spec::{
    validate, BehaviorInput, MetricSpec, MetricTarget, ResourceName, ScaleTargetRef, ScalingPolicy,
    ScalingPolicyType, ScalingRulesInput, SelectPolicy,
};
use poolsim::hpa::{
    sync, ConditionStatus, ConditionType, HpaEventKind, HpaHistory, HpaSettings, HpaSpec,
    HpaStatus, PodInput, PodMetric, PodPhase, PodReadyCondition, ResourceAmounts, ScaleInput,
};

const NOW_MS: u64 = 1_000_000_000;
const MINUTE_MS: u64 = 60_000;

fn target() -> ScaleTargetRef {
    ScaleTargetRef {
        api_version: "pool.kubevirt.io/v1beta1".to_string(),
        kind: "VirtualMachinePool".to_string(),
        name: "my-pool".to_string(),
    }
}

/// Pods started 10 min ago, Ready since then, with a fresh cpu sample.
fn pods(requests_milli: &[i64], usage_milli: &[i64]) -> Vec<PodInput<'static>> {
    requests_milli
        .iter()
        .enumerate()
        .map(|(i, request)| PodInput {
            name: format!("test-pod-{i}").into(),
            phase: PodPhase::Running,
            deleting: false,
            ready_condition: Some(PodReadyCondition {
                ready: true,
                last_transition_ms: NOW_MS - 10 * MINUTE_MS,
            }),
            start_time_ms: Some(NOW_MS - 10 * MINUTE_MS),
            requests: ResourceAmounts {
                cpu_milli: Some(*request),
                memory_milli: None,
            },
            metric: usage_milli.get(i).map(|usage| PodMetric {
                usage: ResourceAmounts {
                    cpu_milli: Some(*usage),
                    memory_milli: None,
                },
                timestamp_ms: NOW_MS - 5_000,
                window_ms: 15_000,
            }),
        })
        .collect()
}

fn v1_spec(min: i32, max: i32, cpu_target: i32) -> HpaSpec {
    HpaSpec::from_v1(target(), Some(min), max, Some(cpu_target))
}

fn scale(replicas: i32) -> ScaleInput {
    ScaleInput {
        spec_replicas: replicas,
        selector_found: true,
    }
}

fn condition(status: &HpaStatus, condition_type: ConditionType) -> (ConditionStatus, String) {
    let found = status.condition(condition_type).expect("condition present");
    (found.status, found.reason.clone())
}

#[test]
fn scale_up() {
    let mut history = HpaHistory::default();
    let result = sync(
        NOW_MS,
        &v1_spec(2, 6, 30),
        &HpaStatus::default(),
        &mut history,
        scale(3),
        &pods(&[1000, 1000, 1000], &[300, 500, 700]),
        &HpaSettings::default(),
    );
    assert_eq!(result.rescale_to, Some(5));
    assert_eq!(result.new_status.desired_replicas, 5);
    assert_eq!(result.new_status.current_replicas, 3);
    assert_eq!(result.new_status.last_scale_time_ms, Some(NOW_MS));
    assert_eq!(
        result.new_status.current_metrics[0].average_utilization_pct,
        Some(50)
    );
    assert_eq!(result.events.len(), 1);
    assert_eq!(result.events[0].kind, HpaEventKind::Normal);
    assert_eq!(result.events[0].reason, "SuccessfulRescale");
    assert_eq!(
        result.events[0].message,
        "New size: 5; reason: cpu resource utilization (percentage of request) above target"
    );
    assert_eq!(
        condition(&result.new_status, ConditionType::AbleToScale),
        (ConditionStatus::True, "SucceededRescale".to_string())
    );
    assert_eq!(
        condition(&result.new_status, ConditionType::ScalingActive),
        (ConditionStatus::True, "ValidMetricFound".to_string())
    );
    assert_eq!(
        condition(&result.new_status, ConditionType::ScalingLimited),
        (ConditionStatus::False, "DesiredWithinRange".to_string())
    );
    // No behavior: no scale events are kept (storeScaleEvent).
    assert!(history.scale_up_events.is_empty());
}

#[test]
fn scale_down_without_recent_recommendations() {
    let mut history = HpaHistory::default();
    // The initial recommendation (5) is older than the 5 min window once time passes.
    let settings = HpaSettings::default();
    let first = sync(
        NOW_MS,
        &v1_spec(2, 6, 50),
        &HpaStatus::default(),
        &mut history,
        scale(5),
        &pods(&[1000; 5], &[100, 300, 500, 250, 250]),
        &settings,
    );
    assert_eq!(
        first.rescale_to, None,
        "the seeded recommendation of 5 holds the count"
    );
    assert_eq!(
        condition(&first.new_status, ConditionType::AbleToScale).1,
        "ScaleDownStabilized"
    );
    let later = NOW_MS + 6 * MINUTE_MS;
    history.recommendations = vec![TimestampedRecommendation {
        recommendation: 5,
        timestamp_ms: NOW_MS - MINUTE_MS,
    }];
    let second = sync(
        later,
        &v1_spec(2, 6, 50),
        &first.new_status,
        &mut history,
        scale(5),
        &pods(&[1000; 5], &[100, 300, 500, 250, 250]),
        &settings,
    );
    assert_eq!(second.rescale_to, Some(3));
    assert_eq!(
        second.events[0].message,
        "New size: 3; reason: All metrics below target"
    );
}

#[test]
fn scale_up_rc_immediately_below_min() {
    let result = sync(
        NOW_MS,
        &v1_spec(2, 6, 80),
        &HpaStatus::default(),
        &mut HpaHistory::default(),
        scale(1),
        &[],
        &HpaSettings::default(),
    );
    assert_eq!(result.rescale_to, Some(2));
    assert_eq!(
        result.events[0].message,
        "New size: 2; reason: Current number of replicas below Spec.MinReplicas"
    );
    assert_eq!(
        condition(&result.new_status, ConditionType::AbleToScale).1,
        "SucceededRescale"
    );
    assert!(result
        .new_status
        .condition(ConditionType::ScalingActive)
        .is_none());
}

#[test]
fn scale_down_rc_immediately_above_max() {
    let result = sync(
        NOW_MS,
        &v1_spec(2, 5, 50),
        &HpaStatus::default(),
        &mut HpaHistory::default(),
        scale(6),
        &[],
        &HpaSettings::default(),
    );
    assert_eq!(result.rescale_to, Some(5));
    assert_eq!(
        result.events[0].message,
        "New size: 5; reason: Current number of replicas above Spec.MaxReplicas"
    );
}

#[test]
fn zero_replicas_disable_scaling() {
    let result = sync(
        NOW_MS,
        &v1_spec(3, 5, 90),
        &HpaStatus::default(),
        &mut HpaHistory::default(),
        scale(0),
        &[],
        &HpaSettings::default(),
    );
    assert_eq!(result.rescale_to, None);
    assert_eq!(result.new_status.desired_replicas, 0);
    assert_eq!(
        condition(&result.new_status, ConditionType::ScalingActive),
        (ConditionStatus::False, "ScalingDisabled".to_string())
    );
    assert_eq!(
        condition(&result.new_status, ConditionType::AbleToScale).1,
        "SucceededGetScale"
    );
}

#[test]
fn stabilize_downscale() {
    let mut history = HpaHistory {
        recommendations: vec![
            TimestampedRecommendation {
                recommendation: 10,
                timestamp_ms: NOW_MS - 10 * MINUTE_MS,
            },
            TimestampedRecommendation {
                recommendation: 4,
                timestamp_ms: NOW_MS - MINUTE_MS,
            },
        ],
        ..HpaHistory::default()
    };
    let result = sync(
        NOW_MS,
        &v1_spec(1, 5, 100),
        &HpaStatus::default(),
        &mut history,
        scale(4),
        &pods(&[100, 100, 100], &[50, 50, 50]),
        &HpaSettings::default(),
    );
    assert_eq!(result.rescale_to, None);
    assert_eq!(result.new_status.desired_replicas, 4);
    assert_eq!(
        condition(&result.new_status, ConditionType::AbleToScale),
        (ConditionStatus::True, "ScaleDownStabilized".to_string())
    );
    assert_eq!(
        condition(&result.new_status, ConditionType::ScalingLimited),
        (ConditionStatus::False, "DesiredWithinRange".to_string())
    );
    assert!(result.events.is_empty());
}

#[test]
fn condition_invalid_selector_missing() {
    let result = sync(
        NOW_MS,
        &v1_spec(1, 5, 10),
        &HpaStatus::default(),
        &mut HpaHistory::default(),
        ScaleInput {
            spec_replicas: 3,
            selector_found: false,
        },
        &pods(&[100; 3], &[100, 200, 300]),
        &HpaSettings::default(),
    );
    assert_eq!(result.rescale_to, None);
    assert_eq!(
        condition(&result.new_status, ConditionType::ScalingActive),
        (ConditionStatus::False, "InvalidSelector".to_string())
    );
    let reasons: Vec<&str> = result
        .events
        .iter()
        .map(|event| event.reason.as_str())
        .collect();
    assert_eq!(
        reasons,
        ["SelectorRequired", "FailedComputeMetricsReplicas"]
    );
}

#[test]
fn condition_failed_get_resource_metric() {
    let result = sync(
        NOW_MS,
        &v1_spec(1, 100, 10),
        &HpaStatus {
            desired_replicas: 3,
            ..HpaStatus::default()
        },
        &mut HpaHistory::default(),
        scale(3),
        &pods(&[100; 3], &[]),
        &HpaSettings::default(),
    );
    assert_eq!(result.rescale_to, None);
    assert_eq!(
        result.new_status.desired_replicas, 3,
        "desired replicas are kept"
    );
    let active = result
        .new_status
        .condition(ConditionType::ScalingActive)
        .unwrap();
    assert_eq!(
        (active.status, active.reason.as_str()),
        (ConditionStatus::False, "FailedGetResourceMetric")
    );
    assert_eq!(
        active.message,
        "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"
    );
    assert_eq!(result.events[1].reason, "FailedComputeMetricsReplicas");
    assert_eq!(
        result.events[1].message,
        "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"
    );
}

#[test]
fn behavior_path_limits_scale_up_and_records_events() {
    let spec = HpaSpec::from_v2(
        target(),
        Some(1),
        1000,
        vec![],
        Some(BehaviorInput::default()),
    );
    let mut history = HpaHistory::default();
    let result = sync(
        NOW_MS,
        &spec,
        &HpaStatus::default(),
        &mut history,
        scale(10),
        &pods(&[100; 10], &[1000; 10]),
        &HpaSettings::default(),
    );
    // 1250 % of requests against 80 % wants 125; default policies allow max(10+4, 200 %) = 20.
    assert_eq!(result.rescale_to, Some(20));
    assert_eq!(
        condition(&result.new_status, ConditionType::ScalingLimited),
        (ConditionStatus::True, "ScaleUpLimit".to_string())
    );
    assert_eq!(history.scale_up_events.len(), 1);
    assert_eq!(history.scale_up_events[0].replica_change, 10);
    // Legacy path for the same HPA without behavior: limit max(2 × 10, 4) = 20 as well,
    // but nothing is recorded.
    let legacy = HpaSpec::from_v2(target(), Some(1), 1000, vec![], None);
    let mut legacy_history = HpaHistory::default();
    let legacy_result = sync(
        NOW_MS,
        &legacy,
        &HpaStatus::default(),
        &mut legacy_history,
        scale(10),
        &pods(&[100; 10], &[1000; 10]),
        &HpaSettings::default(),
    );
    assert_eq!(legacy_result.rescale_to, Some(20));
    assert!(legacy_history.scale_up_events.is_empty());
}

#[test]
fn spec_defaulting() {
    let v1 = HpaSpec::from_v1(target(), None, 5, None);
    assert_eq!(v1.min_replicas, 1);
    assert_eq!(
        v1.metrics,
        vec![MetricSpec::Resource {
            name: ResourceName::Cpu,
            target: MetricTarget::utilization(80)
        }]
    );
    assert!(!v1.behavior_specified);

    let partial = BehaviorInput {
        scale_up: None,
        scale_down: Some(ScalingRulesInput {
            stabilization_window_seconds: Some(60),
            ..ScalingRulesInput::default()
        }),
    };
    let v2 = HpaSpec::from_v2(target(), None, 5, vec![], Some(partial));
    assert!(v2.behavior_specified);
    assert_eq!(
        v2.behavior.scale_down.stabilization_window_seconds,
        Some(60)
    );
    assert_eq!(v2.behavior.scale_down.select_policy, SelectPolicy::Max);
    assert_eq!(
        v2.behavior.scale_down.policies,
        vec![ScalingPolicy {
            policy_type: ScalingPolicyType::Percent,
            value: 100,
            period_seconds: 15
        }]
    );
    assert_eq!(v2.behavior.scale_up.stabilization_window_seconds, Some(0));
    assert_eq!(v2.behavior.scale_up.policies.len(), 2);
    let without = HpaSpec::from_v2(target(), None, 5, vec![], None);
    assert_eq!(
        without.behavior.scale_down.stabilization_window_seconds, None,
        "window comes from the controller flag"
    );
}

#[test]
fn spec_validation() {
    assert!(validate(&v1_spec(1, 5, 80)).is_empty());
    let mut bad = v1_spec(0, 0, 0);
    bad.scale_target_ref.name = String::new();
    let errors = validate(&bad);
    for expected in [
        "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
        "spec.maxReplicas: Invalid value: 0: must be greater than 0",
        "spec.scaleTargetRef.name: Required value",
        "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0",
    ] {
        assert!(errors.iter().any(|error| error == expected), "missing {expected:?} in {errors:?}");
    }
    let inverted = v1_spec(5, 3, 80);
    assert_eq!(
        validate(&inverted),
        ["spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`"]
    );
    let behavior = BehaviorInput {
        scale_up: Some(ScalingRulesInput {
            stabilization_window_seconds: Some(4000),
            policies: Some(vec![ScalingPolicy {
                policy_type: ScalingPolicyType::Pods,
                value: 0,
                period_seconds: 1801,
            }]),
            ..ScalingRulesInput::default()
        }),
        scale_down: Some(ScalingRulesInput {
            policies: Some(vec![]),
            ..ScalingRulesInput::default()
        }),
    };
    let errors = validate(&HpaSpec::from_v2(target(), None, 5, vec![], Some(behavior)));
    assert_eq!(
        errors,
        [
            "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: 4000: must be less than or equal to 3600",
            "spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero",
            "spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 1801: must be less than or equal to 1800",
            "spec.behavior.scaleDown.policies: Required value: must specify at least one Policy",
        ]
    );
}
