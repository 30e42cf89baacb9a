//! Ports of kubernetes/kubernetes `pkg/controller/podautoscaler/horizontal_test.go`
//! normalization tests: TestConvertDesiredReplicasWithRules, TestNormalizeDesiredReplicas,
//! TestCalculateScaleUpLimitWithScalingRules, TestCalculateScaleDownLimitWithBehaviors,
//! TestScalingWithRules, TestStoreScaleEvents, TestNormalizeDesiredReplicasWithBehavior.

// Case tables are tuples, mirroring upstream's anonymous test structs row for row.
#![allow(clippy::type_complexity)]

use poolsim::hpa::normalize::{
    calculate_scale_down_limit_with_behaviors, calculate_scale_up_limit,
    calculate_scale_up_limit_with_scaling_rules, convert_desired_replicas_with_behavior_rate,
    convert_desired_replicas_with_rules, get_replicas_change_per_period,
    normalize_desired_replicas, stabilize_recommendation, stabilize_recommendation_with_behaviors,
    store_scale_event, HpaHistory, NormalizationArg, ScaleEvent, TimestampedRecommendation,
};
use poolsim::hpa::spec::{
    default_behavior, Behavior, BehaviorInput, ScalingPolicy, ScalingPolicyType, ScalingRulesInput,
    SelectPolicy,
};

const NOW_MS: u64 = 1_000_000_000;
const MINUTE_MS: u64 = 60_000;

fn recommendation(value: i32, age_ms: u64) -> TimestampedRecommendation {
    TimestampedRecommendation {
        recommendation: value,
        timestamp_ms: NOW_MS - age_ms,
    }
}

/// `generateScalingRules`: select Max, a Pods and/or a Percent policy.
fn scaling_rules(
    pods: i32,
    pods_period: i32,
    percent: i32,
    percent_period: i32,
    window: i32,
) -> ScalingRulesInput {
    let mut policies = Vec::new();
    if pods != 0 {
        policies.push(ScalingPolicy {
            policy_type: ScalingPolicyType::Pods,
            value: pods,
            period_seconds: pods_period,
        });
    }
    if percent != 0 {
        policies.push(ScalingPolicy {
            policy_type: ScalingPolicyType::Percent,
            value: percent,
            period_seconds: percent_period,
        });
    }
    ScalingRulesInput {
        stabilization_window_seconds: Some(window),
        select_policy: Some(SelectPolicy::Max),
        policies: Some(policies),
        tolerance: None,
    }
}

/// `generateEventsUniformDistribution`: events centred in equal segments of the last
/// `period_seconds`; the offset is truncated to whole seconds as upstream's
/// `time.Duration(float)` conversion does.
fn uniform_events(changes: &[i32], period_seconds: u64) -> Vec<ScaleEvent> {
    let segment = period_seconds as f64 / changes.len() as f64;
    changes
        .iter()
        .enumerate()
        .map(|(index, change)| {
            let boundary_seconds =
                (period_seconds as f64 - segment * (index + 1) as f64 + segment / 2.0) as u64;
            ScaleEvent {
                replica_change: *change,
                timestamp_ms: NOW_MS - boundary_seconds * 1000,
                outdated: false,
            }
        })
        .collect()
}

fn behavior(up: Option<ScalingRulesInput>, down: Option<ScalingRulesInput>) -> Behavior {
    default_behavior(&BehaviorInput {
        scale_up: up,
        scale_down: down,
    })
}

#[test]
fn convert_desired_replicas_with_rules_cases() {
    let cases = [
        (
            5,
            7,
            3,
            8,
            7,
            "DesiredWithinRange",
            "prenormalized desired replicas within range",
        ),
        (
            3,
            1,
            2,
            8,
            2,
            "TooFewReplicas",
            "prenormalized desired replicas < minReplicas",
        ),
        (
            1,
            0,
            0,
            10,
            0,
            "DesiredWithinRange",
            "prenormalized desired zeroed replicas within range",
        ),
        (
            20,
            1000,
            1,
            10,
            10,
            "TooManyReplicas",
            "maxReplicas is the limit because maxReplicas < scaleUpLimit",
        ),
        (
            3,
            1000,
            1,
            2000,
            calculate_scale_up_limit(3),
            "ScaleUpLimit",
            "scaleUpLimit is the limit because scaleUpLimit < maxReplicas",
        ),
    ];
    for (current, desired, min, max, expected, reason, name) in cases {
        let (replicas, actual_reason, _) =
            convert_desired_replicas_with_rules(current, desired, min, max);
        assert_eq!((replicas, actual_reason), (expected, reason), "{name}");
    }
    assert_eq!(calculate_scale_up_limit(3), 6);
    assert_eq!(calculate_scale_up_limit(1), 4);
}

/// TestNormalizeDesiredReplicas (stabilizeRecommendation with a 5 min window).
#[test]
fn normalize_desired_replicas_stabilization() {
    let cases = [
        ("empty log", vec![], 5, 5, 1),
        (
            "stabilize",
            vec![
                recommendation(4, 2 * MINUTE_MS),
                recommendation(5, MINUTE_MS),
            ],
            3,
            5,
            3,
        ),
        (
            "no stabilize",
            vec![
                recommendation(1, 2 * MINUTE_MS),
                recommendation(2, MINUTE_MS),
            ],
            3,
            3,
            3,
        ),
        (
            "no stabilize - old recommendations",
            vec![
                recommendation(10, 10 * MINUTE_MS),
                recommendation(9, 9 * MINUTE_MS),
            ],
            3,
            3,
            2,
        ),
        (
            "stabilize - old recommendations",
            vec![
                recommendation(10, 10 * MINUTE_MS),
                recommendation(4, MINUTE_MS),
                recommendation(5, 2 * MINUTE_MS),
                recommendation(9, 9 * MINUTE_MS),
            ],
            3,
            5,
            4,
        ),
    ];
    for (name, recommendations, prenormalized, expected, expected_log_length) in cases {
        let mut history = HpaHistory {
            recommendations,
            ..HpaHistory::default()
        };
        let stabilized =
            stabilize_recommendation(&mut history, NOW_MS, 5 * MINUTE_MS, prenormalized);
        assert_eq!(stabilized, expected, "{name}");
        assert_eq!(
            history.recommendations.len(),
            expected_log_length,
            "{name}: log length"
        );
    }
}

/// TestStabilizeDownscale's normalization: recommendations 10 (10 min ago) and 4
/// (1 min ago), metrics ask for 2 of 4 → held at 4, AbleToScale ScaleDownStabilized.
#[test]
fn legacy_normalization_reports_scale_down_stabilized() {
    let mut history = HpaHistory {
        recommendations: vec![
            recommendation(10, 10 * MINUTE_MS),
            recommendation(4, MINUTE_MS),
        ],
        ..HpaHistory::default()
    };
    let outcome = normalize_desired_replicas(&mut history, NOW_MS, 5 * MINUTE_MS, 4, 2, 1, 5);
    assert_eq!(outcome.desired_replicas, 4);
    assert_eq!(outcome.able_to_scale_reason, "ScaleDownStabilized");
    assert!(!outcome.scaling_limited);
    assert_eq!(outcome.scaling_limited_reason, "DesiredWithinRange");
}

#[test]
fn calculate_scale_limits_with_min_select_policy() {
    let rules = behavior(
        Some(ScalingRulesInput {
            stabilization_window_seconds: Some(300),
            select_policy: Some(SelectPolicy::Min),
            policies: Some(vec![
                ScalingPolicy {
                    policy_type: ScalingPolicyType::Pods,
                    value: 2,
                    period_seconds: 60,
                },
                ScalingPolicy {
                    policy_type: ScalingPolicyType::Percent,
                    value: 50,
                    period_seconds: 60,
                },
            ]),
            tolerance: None,
        }),
        None,
    )
    .scale_up;
    // TestCalculateScaleUpLimitWithScalingRules
    assert_eq!(
        calculate_scale_up_limit_with_scaling_rules(1, &[], &[], &rules, NOW_MS),
        2
    );
    // TestCalculateScaleDownLimitWithBehaviors
    assert_eq!(
        calculate_scale_down_limit_with_behaviors(5, &[], &[], &rules, NOW_MS),
        3
    );
    let disabled = poolsim::hpa::spec::ScalingRules {
        select_policy: SelectPolicy::Disabled,
        ..rules
    };
    assert_eq!(
        calculate_scale_up_limit_with_scaling_rules(7, &[], &[], &disabled, NOW_MS),
        7
    );
}

/// TestScalingWithRules (convertDesiredReplicasWithBehaviorRate).
#[test]
fn scaling_with_rules() {
    struct Case {
        name: &'static str,
        up_events: Vec<ScaleEvent>,
        down_events: Vec<ScaleEvent>,
        min: i32,
        max: i32,
        up: Option<ScalingRulesInput>,
        down: Option<ScalingRulesInput>,
        current: i32,
        desired: i32,
        expected: i32,
        reason: &'static str,
    }
    let case = |name, min, max, current, desired, expected, reason| Case {
        name,
        up_events: vec![],
        down_events: vec![],
        min,
        max,
        up: None,
        down: None,
        current,
        desired,
        expected,
        reason,
    };
    let e = uniform_events;
    let r = scaling_rules;
    let cases = vec![
        case("prenormalized desired replicas within range", 3, 8, 5, 7, 7, "DesiredWithinRange"),
        case("prenormalized desired replicas < minReplicas", 2, 8, 3, 1, 2, "TooFewReplicas"),
        case("prenormalized desired replicas within range when minReplicas is 0", 0, 10, 1, 0, 0, "DesiredWithinRange"),
        case("maxReplicas is the limit because maxReplicas < scaleUpLimit", 1, 10, 20, 1000, 10, "TooManyReplicas"),
        case("desired replica count is more than the maximum replica count", 100, 150, 100, 1000, 150, "TooManyReplicas"),
        Case { up: Some(r(0, 0, 1, 60, 0)), ..case("scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies", 1, 2000, 3, 1000, 4, "ScaleUpLimit") },
        case("scaleUp with default behavior", 1, 1000, 10, 50, 20, "ScaleUpLimit"),
        Case { up: Some(r(100, 60, 100, 60, 0)), ..case("scaleUp with pods policy larger than percent policy", 1, 1000, 10, 500, 110, "ScaleUpLimit") },
        Case { up: Some(r(2, 60, 100, 60, 0)), ..case("scaleUp with percent policy larger than pods policy", 1, 1000, 10, 500, 20, "ScaleUpLimit") },
        Case { up: Some(r(100, 60, 0, 0, 0)), ..case("scaleUp with spec MaxReplicas limitation with large pod policy", 1, 1000, 10, 50, 50, "DesiredWithinRange") },
        Case { up: Some(r(30, 60, 0, 0, 0)), ..case("scaleUp with pod policy limitation", 1, 1000, 10, 50, 40, "ScaleUpLimit") },
        Case { up: Some(r(0, 0, 200, 60, 0)), ..case("scaleUp with percent policy limitation", 1, 1000, 10, 50, 30, "ScaleUpLimit") },
        Case { down: Some(r(20, 60, 1, 60, 300)), ..case("scaleDown with percent policy larger than pod policy", 1, 1000, 100, 2, 80, "ScaleDownLimit") },
        Case { down: Some(r(2, 60, 1, 60, 300)), ..case("scaleDown with pod policy larger than percent policy", 1, 1000, 100, 2, 98, "ScaleDownLimit") },
        Case { down: Some(r(100, 60, 0, 0, 300)), ..case("scaleDown with spec MinReplicas limitation with large pod policy", 1, 1000, 10, 0, 1, "TooFewReplicas") },
        Case { down: Some(r(0, 0, 100, 60, 300)), ..case("scaleDown with spec MinReplicas limitation with large percent policy", 5, 1000, 10, 2, 5, "TooFewReplicas") },
        Case { down: Some(r(5, 60, 0, 0, 300)), ..case("scaleDown with pod policy limitation", 1, 1000, 10, 2, 5, "ScaleDownLimit") },
        Case { down: Some(r(0, 0, 50, 60, 300)), ..case("scaleDown with percent policy limitation", 1, 1000, 10, 5, 5, "DesiredWithinRange") },
        Case { up_events: e(&[1, 5, 9], 120), up: Some(r(300, 60, 0, 0, 0)), ..case("scaleUp with spec MaxReplicas limitation with large pod policy and events", 1, 200, 100, 500, 200, "TooManyReplicas") },
        Case { up_events: e(&[1, 5, 9], 120), up: Some(r(0, 0, 10000, 60, 0)), ..case("scaleUp with spec MaxReplicas limitation with large percent policy and events", 1, 200, 100, 500, 200, "TooManyReplicas") },
        Case { up_events: e(&[1, 5, 9], 120), up: Some(r(5, 120, 0, 0, 0)), ..case("scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events", 1, 1000, 100, 500, 100, "ScaleUpLimit") },
        Case { up_events: e(&[1, 5, 9], 120), up: Some(r(150, 120, 0, 0, 0)), ..case("scaleUp with pod policy and previous scale up events", 1, 1000, 100, 500, 235, "ScaleUpLimit") },
        Case { up_events: e(&[1, 5, 9], 120), up: Some(r(0, 0, 200, 120, 0)), ..case("scaleUp with percent policy and previous scale up events", 1, 1000, 100, 500, 255, "ScaleUpLimit") },
        Case { up_events: e(&[4], 120), down_events: e(&[2], 120), up: Some(r(0, 0, 300, 300, 0)), ..case("scaleUp with percent policy and previous scale up and down events", 1, 1000, 6, 24, 16, "ScaleUpLimit") },
        Case { down_events: e(&[1, 5, 9], 120), ..case("scaleDown with default policy and previous events", 1, 1000, 10, 5, 5, "DesiredWithinRange") },
        Case { down_events: e(&[1, 5, 9], 120), down: Some(r(115, 120, 0, 0, 300)), ..case("scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events", 1, 1000, 100, 0, 1, "TooFewReplicas") },
        Case { down_events: e(&[1, 5, 9], 120), down: Some(r(130, 120, 0, 0, 300)), ..case("scaleDown with spec MinReplicas limitation with large pod policy and previous events", 5, 1000, 100, 0, 5, "TooFewReplicas") },
        Case { down_events: e(&[1, 5, 9], 120), down: Some(r(0, 0, 100, 120, 300)), ..case("scaleDown with spec MinReplicas limitation with large percent policy and previous events", 5, 1000, 100, 2, 5, "TooFewReplicas") },
        Case { down_events: e(&[1, 5, 9], 120), down: Some(r(5, 120, 0, 0, 300)), ..case("scaleDown with pod policy limitation and previous events", 1, 1000, 100, 2, 100, "ScaleDownLimit") },
        Case { down_events: e(&[2, 4, 6], 120), down: Some(r(0, 0, 50, 120, 300)), ..case("scaleDown with percent policy limitation and previous events", 1, 1000, 100, 0, 56, "ScaleDownLimit") },
        Case { up_events: e(&[2], 120), down_events: e(&[4], 120), down: Some(r(0, 0, 50, 180, 0)), ..case("scaleDown with percent policy and previous scale up and down events", 1, 1000, 10, 1, 6, "ScaleDownLimit") },
        Case { down_events: e(&[10, 10, 10], 120), down: Some(r(0, 0, 10, 120, 300)), ..case("scaleDown with previous events preventing further scale down", 1, 1000, 100, 0, 100, "ScaleDownLimit") },
        Case { down_events: e(&[10, 10, 10], 120), down: Some(r(0, 0, 1000, 120, 300)), ..case("scaleDown with with previous events still allowing more scale down", 1, 1000, 10, 5, 5, "DesiredWithinRange") },
        Case { up_events: e(&[8, 12, 9, 11], 120), up: Some(r(1000, 60, 0, 0, 0)), ..case("check 'outdated' flag for events for one behavior for up", 1, 1000, 100, 200, 200, "DesiredWithinRange") },
        Case { up_events: e(&[8, 12, 9, 11], 120), up: Some(r(1000, 30, 100, 60, 0)), ..case("check that events were marked 'outdated' for two different policies in the behavior for up", 1, 1000, 100, 200, 200, "DesiredWithinRange") },
        Case { down_events: e(&[8, 12, 9, 11], 120), down: Some(r(1000, 60, 0, 0, 300)), ..case("check 'outdated' flag for events for one behavior for down", 1, 1000, 100, 5, 5, "DesiredWithinRange") },
        Case { down_events: e(&[8, 12, 9, 11], 120), down: Some(r(1000, 30, 100, 60, 300)), ..case("check that events were marked 'outdated' for two different policies in the behavior for down", 1, 1000, 100, 5, 5, "DesiredWithinRange") },
    ];
    for case in cases {
        let resolved = behavior(case.up, case.down);
        let history = HpaHistory {
            recommendations: vec![],
            scale_up_events: case.up_events,
            scale_down_events: case.down_events,
        };
        let args = NormalizationArg {
            scale_up_rules: &resolved.scale_up,
            scale_down_rules: &resolved.scale_down,
            scale_up_window_seconds: 0,
            scale_down_window_seconds: 300,
            min_replicas: case.min,
            max_replicas: case.max,
            current_replicas: case.current,
            desired_replicas: case.desired,
        };
        let (replicas, reason, _) =
            convert_desired_replicas_with_behavior_rate(&history, NOW_MS, &args);
        assert_eq!(
            (replicas, reason),
            (case.expected, case.reason),
            "{}",
            case.name
        );
    }
}

/// TestStoreScaleEvents: getReplicasChangePerPeriod(60) before storing, and the stored
/// events (replica change, outdated flag) after storing a change of 5, both directions.
#[test]
fn store_scale_events() {
    let event = |change: i32, age_seconds: u64, outdated: bool| ScaleEvent {
        replica_change: change,
        timestamp_ms: NOW_MS - age_seconds * 1000,
        outdated,
    };
    let cases: Vec<(
        &str,
        Vec<ScaleEvent>,
        Vec<(i32, bool)>,
        Option<ScalingRulesInput>,
        i32,
    )> = vec![
        (
            "empty entries with default behavior",
            vec![],
            vec![],
            None,
            0,
        ),
        (
            "empty entries with two-policy-behavior",
            vec![],
            vec![(5, false)],
            Some(scaling_rules(10, 60, 100, 60, 0)),
            0,
        ),
        (
            "one outdated entry to be kept untouched without behavior",
            vec![event(7, 61, false)],
            vec![(7, false)],
            None,
            0,
        ),
        (
            "one outdated entry to be replaced with behavior",
            vec![event(7, 61, false)],
            vec![(5, false)],
            Some(scaling_rules(10, 60, 100, 60, 0)),
            0,
        ),
        (
            "one actual entry to be not touched with behavior",
            vec![event(7, 58, false)],
            vec![(7, false), (5, false)],
            Some(scaling_rules(10, 60, 100, 60, 0)),
            7,
        ),
        (
            "two entries, one of them to be replaced",
            vec![event(7, 61, false), event(6, 59, false)],
            vec![(5, false), (6, false)],
            Some(scaling_rules(10, 60, 0, 0, 0)),
            6,
        ),
        (
            "replace one entry, use policies with different periods",
            vec![
                event(8, 29, false),
                event(6, 59, false),
                event(7, 61, false),
                event(9, 61, false),
            ],
            vec![(8, false), (6, false), (7, true), (5, false)],
            Some(scaling_rules(10, 60, 100, 30, 0)),
            14,
        ),
        (
            "two entries, both actual",
            vec![event(7, 58, false), event(6, 59, false)],
            vec![(7, false), (6, false), (5, false)],
            Some(scaling_rules(10, 120, 100, 30, 0)),
            13,
        ),
    ];
    for (name, previous, expected, rules, expected_change) in cases {
        for scale_up in [true, false] {
            let resolved = rules.as_ref().map(|rules| {
                if scale_up {
                    behavior(Some(rules.clone()), None)
                } else {
                    behavior(None, Some(rules.clone()))
                }
            });
            let mut history = HpaHistory::default();
            let events = if scale_up {
                &mut history.scale_up_events
            } else {
                &mut history.scale_down_events
            };
            *events = previous.clone();
            assert_eq!(
                get_replicas_change_per_period(60, events, NOW_MS),
                expected_change,
                "{name}"
            );
            let new_replicas = if scale_up { 15 } else { 5 };
            store_scale_event(resolved.as_ref(), &mut history, 10, new_replicas, NOW_MS);
            let events = if scale_up {
                &history.scale_up_events
            } else {
                &history.scale_down_events
            };
            let got: Vec<(i32, bool)> = events
                .iter()
                .map(|event| (event.replica_change, event.outdated))
                .collect();
            assert_eq!(got, expected, "{name} (scale up: {scale_up})");
        }
    }
}

/// TestNormalizeDesiredReplicasWithBehavior (stabilizeRecommendationWithBehaviors).
#[test]
fn normalize_desired_replicas_with_behavior() {
    let m = MINUTE_MS;
    let cases: Vec<(
        &str,
        Vec<TimestampedRecommendation>,
        i32,
        i32,
        i32,
        Option<Vec<i32>>,
        i32,
        i32,
    )> = vec![
        (
            "empty recommendations for scaling down",
            vec![],
            100,
            5,
            5,
            Some(vec![5]),
            0,
            0,
        ),
        (
            "simple scale down stabilization",
            vec![recommendation(4, 2 * m), recommendation(5, m)],
            100,
            3,
            5,
            Some(vec![4, 5, 3]),
            0,
            180,
        ),
        (
            "simple scale up stabilization",
            vec![recommendation(4, 2 * m), recommendation(5, m)],
            1,
            7,
            4,
            Some(vec![4, 5, 7]),
            300,
            0,
        ),
        (
            "no scale down stabilization",
            vec![recommendation(1, 2 * m), recommendation(2, m)],
            100,
            3,
            3,
            Some(vec![1, 2, 3]),
            300,
            0,
        ),
        (
            "no scale up stabilization",
            vec![recommendation(4, 2 * m), recommendation(5, m)],
            1,
            3,
            3,
            Some(vec![4, 5, 3]),
            0,
            300,
        ),
        (
            "no scale down stabilization, reuse recommendation element",
            vec![recommendation(10, 10 * m), recommendation(9, 9 * m)],
            100,
            3,
            3,
            Some(vec![10, 3]),
            0,
            0,
        ),
        (
            "no scale up stabilization, reuse recommendation element",
            vec![recommendation(10, 10 * m), recommendation(9, 9 * m)],
            1,
            100,
            100,
            Some(vec![10, 100]),
            0,
            0,
        ),
        (
            "scale down stabilization, reuse one of obsolete recommendation element",
            vec![
                recommendation(10, 10 * m),
                recommendation(4, m),
                recommendation(5, 2 * m),
                recommendation(9, 9 * m),
            ],
            100,
            3,
            5,
            Some(vec![10, 4, 5, 3]),
            0,
            180,
        ),
        (
            "scale up stabilization, reuse one of obsolete recommendation element",
            vec![
                recommendation(10, 100 * m),
                recommendation(6, m),
                recommendation(5, 2 * m),
                recommendation(9, 3 * m),
            ],
            1,
            100,
            5,
            Some(vec![100, 6, 5, 9]),
            300,
            0,
        ),
        (
            "scale up and down stabilization, do not scale up when prenormalized rec goes down",
            vec![recommendation(2, 100 * m), recommendation(3, 3 * m)],
            2,
            1,
            2,
            None,
            300,
            300,
        ),
        (
            "scale up and down stabilization, do not scale down when prenormalized rec goes up",
            vec![recommendation(2, 100 * m), recommendation(1, 3 * m)],
            2,
            3,
            2,
            None,
            300,
            300,
        ),
    ];
    let defaults = behavior(None, None);
    for (
        name,
        recommendations,
        current,
        prenormalized,
        expected,
        expected_log,
        up_window,
        down_window,
    ) in cases
    {
        let mut history = HpaHistory {
            recommendations,
            ..HpaHistory::default()
        };
        let args = NormalizationArg {
            scale_up_rules: &defaults.scale_up,
            scale_down_rules: &defaults.scale_down,
            scale_up_window_seconds: up_window,
            scale_down_window_seconds: down_window,
            min_replicas: 1,
            max_replicas: 1000,
            current_replicas: current,
            desired_replicas: prenormalized,
        };
        let (stabilized, _, _) =
            stabilize_recommendation_with_behaviors(&mut history, NOW_MS, &args);
        assert_eq!(stabilized, expected, "{name}");
        if let Some(expected_log) = expected_log {
            let got: Vec<i32> = history
                .recommendations
                .iter()
                .map(|record| record.recommendation)
                .collect();
            assert_eq!(got, expected_log, "{name}: stored recommendations");
        }
    }
}
