//! Ports of kubernetes/kubernetes `pkg/controller/podautoscaler/replica_calculator_test.go`
//! (TestReplicaCalcResourceScale, TestReplicaCalcResourceTolerance,
//! TestReplicaCalcResourceMissingMetrics, TestReplicaCalcComputedToleranceAlgImplementation,
//! TestReplicaCalcPodMetric, TestGroupPods). Each case keeps its upstream name.
//!
//! Upstream fixture: pods `test-pod-<i>` with 2 containers, each container requesting the
//! listed quantity and reporting the listed usage; Ready=True with a zero transition time,
//! start time zero, metric timestamp zero with a 1 min window; CPU initialization period
//! 2 min, initial readiness delay 10 s, tolerance 0.1.

// Case tables are tuples, mirroring upstream's anonymous test structs row for row.
#![allow(clippy::type_complexity)]

use std::collections::BTreeSet;

use poolsim::hpa::replica_calculator::{
    get_raw_resource_replicas, get_resource_replicas, group_pods, CalcTiming, MetricSample,
    PodInput, PodMetric, PodPhase, PodReadyCondition, ResourceAmounts, SampleValue, SamplesByPod,
    Tolerances,
};
use poolsim::hpa::spec::ResourceName;

const CONTAINERS_PER_POD: i64 = 2;
const NOW_MS: u64 = 1_000_000_000;
const THREE_MINUTES_AGO_MS: u64 = NOW_MS - 3 * 60_000;

fn timing() -> CalcTiming {
    CalcTiming {
        now_ms: NOW_MS,
        cpu_initialization_period_ms: 2 * 60_000,
        delay_of_initial_readiness_ms: 10_000,
    }
}

#[derive(Default, Clone)]
struct Fixture {
    current_replicas: i32,
    /// Per-container cpu request of each pod; pods beyond the list have none.
    requests_milli: Vec<i64>,
    /// Per-container usage of each metric entry.
    levels_milli: Vec<i64>,
    metric_pod_names: Vec<&'static str>,
    readiness: Vec<bool>,
    start_times_ms: Vec<u64>,
    phases: Vec<PodPhase>,
    deleting: Vec<bool>,
}

impl Fixture {
    fn pods(&self) -> Vec<PodInput<'static>> {
        let count = (self.current_replicas as usize).max(self.phases.len());
        (0..count)
            .map(|i| PodInput {
                name: format!("test-pod-{i}").into(),
                phase: self.phases.get(i).copied().unwrap_or(PodPhase::Running),
                deleting: self.deleting.get(i).copied().unwrap_or(false),
                ready_condition: Some(PodReadyCondition {
                    ready: self.readiness.get(i).copied().unwrap_or(true),
                    last_transition_ms: 0,
                }),
                start_time_ms: Some(self.start_times_ms.get(i).copied().unwrap_or(0)),
                requests: ResourceAmounts {
                    cpu_milli: self
                        .requests_milli
                        .get(i)
                        .map(|request| request * CONTAINERS_PER_POD),
                    memory_milli: None,
                },
                metric: None,
            })
            .collect()
    }

    fn samples(&self, per_container: bool) -> Vec<MetricSample<'static>> {
        self.levels_milli
            .iter()
            .enumerate()
            .map(|(i, level)| MetricSample {
                pod_name: self
                    .metric_pod_names
                    .get(i)
                    .map(|name| name.to_string())
                    .unwrap_or_else(|| format!("test-pod-{i}"))
                    .into(),
                value_milli: if per_container {
                    level * CONTAINERS_PER_POD
                } else {
                    *level
                },
                timestamp_ms: 0,
                window_ms: 60_000,
            })
            .collect()
    }
}

fn cpu_requests(count: usize, milli: i64) -> Vec<i64> {
    vec![milli; count]
}

/// Runs GetResourceReplicas for cpu and compares (replicas, utilization, raw value).
fn check(
    name: &str,
    fixture: Fixture,
    target_pct: i32,
    tolerances: Tolerances,
    expected: (i32, i32, i64),
) {
    let result = get_resource_replicas(
        fixture.current_replicas,
        target_pct,
        ResourceName::Cpu,
        &tolerances,
        &fixture.pods(),
        &fixture.samples(true),
        &timing(),
    )
    .unwrap_or_else(|error| panic!("{name}: unexpected error {error}"));
    assert_eq!(
        (
            result.replicas,
            result.utilization_pct,
            result.raw_average_milli
        ),
        (expected.0, Some(expected.1), expected.2),
        "{name}"
    );
    assert_eq!(
        result.timestamp_ms, 0,
        "{name}: timestamp of the first sample"
    );
}

fn check_error(name: &str, fixture: Fixture, target_pct: i32, expected_text: &str) {
    let error = get_resource_replicas(
        fixture.current_replicas,
        target_pct,
        ResourceName::Cpu,
        &Tolerances::symmetric(0.1),
        &fixture.pods(),
        &fixture.samples(true),
        &timing(),
    )
    .expect_err(name);
    assert!(
        error.to_string().contains(expected_text),
        "{name}: {error} should contain {expected_text}"
    );
}

fn default_tolerance() -> Tolerances {
    Tolerances::symmetric(0.1)
}

/// TestReplicaCalcResourceScale (the cases without a container filter).
#[test]
fn replica_calc_resource_scale() {
    let base_up = Fixture {
        current_replicas: 3,
        requests_milli: cpu_requests(3, 1000),
        levels_milli: vec![300, 500, 700],
        ..Fixture::default()
    };
    check(
        "scale up",
        base_up.clone(),
        30,
        default_tolerance(),
        (5, 50, 1000),
    );
    check(
        "scale up: unready pod scales less",
        Fixture {
            readiness: vec![false, true, true],
            ..base_up.clone()
        },
        30,
        default_tolerance(),
        (4, 60, 1200),
    );
    check(
        "scale up: hot-CPU pod scales less",
        Fixture {
            start_times_ms: vec![NOW_MS, THREE_MINUTES_AGO_MS, THREE_MINUTES_AGO_MS],
            ..base_up.clone()
        },
        30,
        default_tolerance(),
        (4, 60, 1200),
    );
    let ignored_base = Fixture {
        current_replicas: 3,
        requests_milli: cpu_requests(3, 1000),
        levels_milli: vec![400, 500, 700],
        readiness: vec![true, false, false],
        ..Fixture::default()
    };
    check(
        "no scale: unready pods ignored",
        ignored_base.clone(),
        30,
        default_tolerance(),
        (3, 40, 800),
    );
    check(
        "no scale: hot-CPU pods ignored",
        Fixture {
            start_times_ms: vec![THREE_MINUTES_AGO_MS, NOW_MS, NOW_MS],
            ..ignored_base
        },
        30,
        default_tolerance(),
        (3, 40, 800),
    );
    let terminal_base = Fixture {
        current_replicas: 2,
        requests_milli: cpu_requests(4, 1000),
        levels_milli: vec![500, 700],
        readiness: vec![true, true, false, false],
        ..Fixture::default()
    };
    use PodPhase::{Failed, Pending, Running, Succeeded};
    check(
        "scale up: failed pods ignored",
        Fixture {
            phases: vec![Running, Running, Failed, Failed],
            ..terminal_base.clone()
        },
        30,
        default_tolerance(),
        (4, 60, 1200),
    );
    check(
        "scale up: succeeded pods ignored",
        Fixture {
            phases: vec![Running, Running, Succeeded, Succeeded],
            ..terminal_base.clone()
        },
        30,
        default_tolerance(),
        (4, 60, 1200),
    );
    check(
        "scale up: pods being deleted are ignored",
        Fixture {
            phases: vec![Running; 4],
            deleting: vec![false, false, true, true],
            ..terminal_base
        },
        30,
        default_tolerance(),
        (4, 60, 1200),
    );
    let down_base = Fixture {
        current_replicas: 5,
        requests_milli: cpu_requests(5, 1000),
        levels_milli: vec![100, 300, 500, 250, 250],
        ..Fixture::default()
    };
    check(
        "scale down",
        down_base.clone(),
        50,
        default_tolerance(),
        (3, 28, 560),
    );
    check(
        "scale down: exclude unready pods",
        Fixture {
            readiness: vec![true, true, true, false, false],
            ..down_base.clone()
        },
        50,
        default_tolerance(),
        (2, 30, 600),
    );
    check(
        "scale down: exclude unscheduled pods",
        Fixture {
            readiness: vec![true, false, false, false, false],
            phases: vec![Running, Pending, Pending, Pending, Pending],
            levels_milli: vec![100],
            ..down_base.clone()
        },
        50,
        default_tolerance(),
        (1, 10, 200),
    );
    check(
        "scale down: ignore hot-CPU pods",
        Fixture {
            start_times_ms: vec![
                THREE_MINUTES_AGO_MS,
                THREE_MINUTES_AGO_MS,
                THREE_MINUTES_AGO_MS,
                NOW_MS,
                NOW_MS,
            ],
            ..down_base.clone()
        },
        50,
        default_tolerance(),
        (2, 30, 600),
    );
    let seven_pods = Fixture {
        requests_milli: cpu_requests(7, 1000),
        readiness: vec![true, true, true, true, true, false, false],
        ..down_base
    };
    check(
        "scale down: failed pods ignored",
        Fixture {
            phases: vec![Running, Running, Running, Running, Running, Failed, Failed],
            ..seven_pods.clone()
        },
        50,
        default_tolerance(),
        (3, 28, 560),
    );
    check(
        "scale down: still-running pods being deleted are ignored",
        Fixture {
            phases: vec![Running; 7],
            deleting: vec![false, false, false, false, false, true, true],
            ..seven_pods
        },
        50,
        default_tolerance(),
        (3, 28, 560),
    );
}

/// TestReplicaCalcResourceTolerance.
#[test]
fn replica_calc_resource_tolerance() {
    let mixed = |levels: Vec<i64>| Fixture {
        current_replicas: 3,
        requests_milli: vec![900, 1000, 1100],
        levels_milli: levels,
        ..Fixture::default()
    };
    let tolerances = |down, up| Tolerances {
        scale_down: down,
        scale_up: up,
    };
    check(
        "within default tolerance",
        mixed(vec![1010, 1030, 1020]),
        100,
        default_tolerance(),
        (3, 102, 2040),
    );
    check(
        "outside 0% tolerance",
        mixed(vec![909, 1010, 1111]),
        100,
        tolerances(0.0, 0.0),
        (4, 101, 2020),
    );
    check(
        "within 200% scale-up tolerance",
        mixed(vec![1890, 1910, 1900]),
        100,
        tolerances(0.1, 2.0),
        (3, 190, 3800),
    );
    check(
        "outside 8% scale-up tolerance (superfluous scale-down tolerance)",
        mixed(vec![1100, 1080, 1090]),
        100,
        tolerances(2.0, 0.08),
        (4, 109, 2180),
    );
    check(
        "within 36% scale-down tolerance",
        mixed(vec![660, 640, 650]),
        100,
        tolerances(0.36, 0.1),
        (3, 65, 1300),
    );
    check(
        "outside 34% scale-down tolerance",
        mixed(vec![660, 640, 650]),
        100,
        tolerances(0.34, 0.1),
        (2, 65, 1300),
    );
}

/// TestReplicaCalcResourceMissingMetrics.
#[test]
fn replica_calc_resource_missing_metrics() {
    let plain = |current: i32, pods_with_requests: usize, levels: Vec<i64>| Fixture {
        current_replicas: current,
        requests_milli: cpu_requests(pods_with_requests, 1000),
        levels_milli: levels,
        ..Fixture::default()
    };
    check(
        "superfluous metrics counted",
        plain(4, 4, vec![4000, 9500, 3000, 7000, 3200, 2000]),
        100,
        default_tolerance(),
        (24, 587, 11750),
    );
    check(
        "some pods missing metrics scales down",
        plain(4, 4, vec![400, 95]),
        100,
        default_tolerance(),
        (3, 24, 495),
    );
    check(
        "no change: metric equal to target",
        plain(2, 2, vec![1000]),
        100,
        default_tolerance(),
        (2, 100, 2000),
    );
    check(
        "no change: metric above target",
        plain(2, 2, vec![1900]),
        100,
        default_tolerance(),
        (2, 190, 3800),
    );
    check(
        "no change: metric below target",
        plain(2, 2, vec![600]),
        100,
        default_tolerance(),
        (2, 60, 1200),
    );
    check(
        "no change: unready pod metric missing",
        Fixture {
            readiness: vec![false, true, true],
            ..plain(3, 3, vec![100, 450])
        },
        50,
        default_tolerance(),
        (3, 45, 900),
    );
    check(
        "no change: hot-CPU pod metric missing",
        Fixture {
            start_times_ms: vec![NOW_MS, THREE_MINUTES_AGO_MS, THREE_MINUTES_AGO_MS],
            ..plain(3, 3, vec![100, 450])
        },
        50,
        default_tolerance(),
        (3, 45, 900),
    );
    check(
        "scale up: unready pod metric missing",
        Fixture {
            readiness: vec![false, true, true],
            ..plain(3, 3, vec![100, 2000])
        },
        50,
        default_tolerance(),
        (4, 200, 4000),
    );
    check(
        "scale up: hot-CPU pod metric missing",
        Fixture {
            readiness: vec![false, true, true],
            start_times_ms: vec![NOW_MS, THREE_MINUTES_AGO_MS, THREE_MINUTES_AGO_MS],
            ..plain(3, 3, vec![100, 2000])
        },
        50,
        default_tolerance(),
        (4, 200, 4000),
    );
    check(
        "scale down: unready pod metric missing",
        Fixture {
            readiness: vec![false, true, true, true],
            ..plain(4, 4, vec![100, 100, 100])
        },
        50,
        default_tolerance(),
        (3, 10, 200),
    );
    check(
        "scale down: target over 100",
        Fixture {
            readiness: vec![false, true, true, true],
            requests_milli: vec![1000, 1000, 2000, 2000],
            ..plain(4, 4, vec![200, 100, 100])
        },
        300,
        default_tolerance(),
        (2, 6, 200),
    );
    check(
        "rolling update with maxSurge: extra pod missing metric",
        Fixture {
            phases: vec![PodPhase::Running; 3],
            ..plain(2, 3, vec![100, 100])
        },
        50,
        default_tolerance(),
        (2, 10, 200),
    );
    check_error(
        "disjoint pod and metric names",
        Fixture {
            metric_pod_names: vec!["an-older-pod-name"],
            ..plain(1, 1, vec![100])
        },
        100,
        "no metrics returned matched known pods",
    );
    check_error(
        "no metrics returned from metrics API",
        plain(4, 3, vec![]),
        100,
        "unable to get metrics for resource cpu: no metrics returned from resource metrics API",
    );
    check_error(
        "missing CPU request on container",
        plain(1, 0, vec![200]),
        100,
        "missing request for",
    );
}

/// TestReplicaCalcComputedToleranceAlgImplementation: a target just past the tolerance
/// scales down; one just inside it does not.
#[test]
fn replica_calc_computed_tolerance_alg_implementation() {
    let start_pods = 10_i32;
    let total_used: i64 = i64::from(start_pods) * 150;
    let total_requested: i64 = 2 * total_used;
    let requested_to_used = (total_requested / total_used) as f64;
    let per_pod_requested = total_requested / i64::from(start_pods);
    let fixture = Fixture {
        current_replicas: start_pods,
        requests_milli: [100, -100, 10, -10, 2, -2, 1, -1, 0, 0]
            .iter()
            .map(|offset| per_pod_requested + offset)
            .collect(),
        levels_milli: vec![total_used / 10; 10],
        ..Fixture::default()
    };
    let expected_utilization = (total_used * 100 / total_requested) as i32;
    let expected_raw = CONTAINERS_PER_POD * total_used / 10;

    let target = (1.0 / (requested_to_used * (1.0 - 0.1))).abs() + 0.01;
    let used_ratio = total_used as f64 / (total_requested as f64 * target);
    let final_pods = (used_ratio * f64::from(start_pods)).ceil() as i32;
    check(
        "tolerance breached",
        fixture.clone(),
        (target * 100.0) as i32,
        default_tolerance(),
        (final_pods, expected_utilization, expected_raw),
    );
    assert!(final_pods < start_pods, "the first target must scale down");

    let target = (1.0 / (requested_to_used * (1.0 - 0.1))).abs() + 0.004;
    check(
        "within tolerance margin",
        fixture,
        (target * 100.0) as i32,
        default_tolerance(),
        (start_pods, expected_utilization, expected_raw),
    );
}

/// TestReplicaCalcPodMetric cases, through GetRawResourceReplicas on memory: both go
/// through calcPlainMetricReplicas, and neither applies the cpu readiness rules.
#[test]
fn replica_calc_plain_metric() {
    let run = |name: &str, fixture: Fixture, target: i64, expected: (i32, i64)| {
        let mut pods = fixture.pods();
        for pod in &mut pods {
            pod.requests = ResourceAmounts::default();
        }
        let result = get_raw_resource_replicas(
            fixture.current_replicas,
            target,
            ResourceName::Memory,
            &default_tolerance(),
            &pods,
            &fixture.samples(false),
            &timing(),
        )
        .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(
            (result.replicas, result.raw_average_milli),
            expected,
            "{name}"
        );
        assert_eq!(result.utilization_pct, None, "{name}");
    };
    let levels = |current: i32, levels: Vec<i64>| Fixture {
        current_replicas: current,
        levels_milli: levels,
        ..Fixture::default()
    };
    run(
        "scale up",
        levels(3, vec![20000, 10000, 30000]),
        15000,
        (4, 20000),
    );
    run(
        "scale up: unready hot-CPU pod scales less",
        Fixture {
            readiness: vec![true, true, false],
            start_times_ms: vec![THREE_MINUTES_AGO_MS, THREE_MINUTES_AGO_MS, NOW_MS],
            ..levels(3, vec![50000, 10000, 30000])
        },
        15000,
        (6, 30000),
    );
    run("scale down", levels(5, vec![12000; 5]), 20000, (3, 12000));
    run(
        "within default tolerance",
        levels(3, vec![20000, 21000, 21000]),
        20000,
        (3, 20666),
    );
    run(
        "no change: missing metrics",
        levels(5, vec![20000, 19000, 21000]),
        20000,
        (5, 20000),
    );
    run(
        "rolling update with maxSurge: extra pod missing metric",
        Fixture {
            phases: vec![PodPhase::Running; 3],
            ..levels(2, vec![10000, 10000])
        },
        17000,
        (2, 10000),
    );
}

fn pod(
    name: &str,
    phase: PodPhase,
    start_time_ms: Option<u64>,
    ready: Option<(bool, u64)>,
) -> PodInput<'_> {
    PodInput {
        name: name.into(),
        phase,
        deleting: false,
        ready_condition: ready.map(|(ready, last_transition_ms)| PodReadyCondition {
            ready,
            last_transition_ms,
        }),
        start_time_ms,
        requests: ResourceAmounts::default(),
        metric: None,
    }
}

/// Named samples, as the metrics API lists them (see `SamplesByPod::new`).
fn metrics_of<'a>(entries: &[(&'a str, u64, u64)]) -> Vec<(&'a str, SampleValue)> {
    entries
        .iter()
        .map(|&(name, timestamp_ms, window_ms)| {
            (
                name,
                SampleValue {
                    value_milli: 1,
                    timestamp_ms,
                    window_ms,
                },
            )
        })
        .collect()
}

fn names<'a>(list: &[&'a str]) -> BTreeSet<&'a str> {
    list.iter().copied().collect()
}

/// The names of the pods at `positions`.
fn names_at<'a>(pods: &'a [PodInput<'_>], positions: &[usize]) -> BTreeSet<&'a str> {
    positions
        .iter()
        .map(|&position| pods[position].name.as_ref())
        .collect()
}

/// TestGroupPods.
#[test]
fn group_pods_cases() {
    let minute = 60_000;
    let cases: Vec<(
        &str,
        Vec<PodInput>,
        Vec<(&str, SampleValue)>,
        ResourceName,
        usize,
        &[&str],
        &[&str],
        &[&str],
    )> = vec![
        (
            "void",
            vec![],
            metrics_of(&[]),
            ResourceName::Cpu,
            0,
            &[],
            &[],
            &[],
        ),
        (
            "count in a ready pod - memory",
            vec![pod("bentham", PodPhase::Running, None, None)],
            metrics_of(&[("bentham", NOW_MS, minute)]),
            ResourceName::Memory,
            1,
            &[],
            &[],
            &[],
        ),
        (
            "unready a pod without ready condition - CPU",
            vec![pod("lucretius", PodPhase::Running, Some(NOW_MS), None)],
            metrics_of(&[("lucretius", 0, 0)]),
            ResourceName::Cpu,
            0,
            &["lucretius"],
            &[],
            &[],
        ),
        (
            "count in a ready pod with fresh metrics during initialization period - CPU",
            vec![pod(
                "bentham",
                PodPhase::Running,
                Some(NOW_MS - minute),
                Some((true, NOW_MS - 30_000)),
            )],
            metrics_of(&[("bentham", NOW_MS, 30_000)]),
            ResourceName::Cpu,
            1,
            &[],
            &[],
            &[],
        ),
        (
            "unready a ready pod without fresh metrics during initialization period - CPU",
            vec![pod(
                "bentham",
                PodPhase::Running,
                Some(NOW_MS - minute),
                Some((true, NOW_MS - 30_000)),
            )],
            metrics_of(&[("bentham", NOW_MS, 60_000)]),
            ResourceName::Cpu,
            0,
            &["bentham"],
            &[],
            &[],
        ),
        (
            "unready an unready pod during initialization period - CPU",
            vec![pod(
                "lucretius",
                PodPhase::Running,
                Some(NOW_MS - 10 * minute),
                Some((false, NOW_MS - 9 * minute - 54_000)),
            )],
            metrics_of(&[("lucretius", 0, 0)]),
            ResourceName::Cpu,
            0,
            &["lucretius"],
            &[],
            &[],
        ),
        (
            "count in a ready pod without fresh metrics after initialization period - CPU",
            vec![pod(
                "bentham",
                PodPhase::Running,
                Some(NOW_MS - 3 * minute),
                Some((true, NOW_MS - 3 * minute)),
            )],
            metrics_of(&[("bentham", NOW_MS - 2 * minute, minute)]),
            ResourceName::Cpu,
            1,
            &[],
            &[],
            &[],
        ),
        (
            "count in an unready pod that was ready after initialization period - CPU",
            vec![pod(
                "lucretius",
                PodPhase::Running,
                Some(NOW_MS - 10 * minute),
                Some((false, NOW_MS - 9 * minute)),
            )],
            metrics_of(&[("lucretius", 0, 0)]),
            ResourceName::Cpu,
            1,
            &[],
            &[],
            &[],
        ),
        (
            "unready pod that has never been ready after initialization period - CPU",
            vec![pod(
                "lucretius",
                PodPhase::Running,
                Some(NOW_MS - 10 * minute),
                Some((false, NOW_MS - 9 * minute - 50_000)),
            )],
            metrics_of(&[("lucretius", 0, 0)]),
            ResourceName::Cpu,
            1,
            &[],
            &[],
            &[],
        ),
        (
            "a missing pod",
            vec![pod(
                "epicurus",
                PodPhase::Running,
                Some(NOW_MS - 3 * minute),
                None,
            )],
            metrics_of(&[]),
            ResourceName::Cpu,
            0,
            &[],
            &["epicurus"],
            &[],
        ),
        (
            "pending pods are unreadied",
            vec![pod("unscheduled", PodPhase::Pending, None, None)],
            metrics_of(&[]),
            ResourceName::Cpu,
            0,
            &["unscheduled"],
            &[],
            &[],
        ),
        (
            "ignore pods in a failed state",
            vec![pod("failed", PodPhase::Failed, None, None)],
            metrics_of(&[("failed", 0, 0)]),
            ResourceName::Cpu,
            0,
            &[],
            &[],
            &["failed"],
        ),
    ];
    for (name, pods, metrics, resource, ready, unready, missing, ignored) in cases {
        let metrics = SamplesByPod::new(&pods, metrics);
        let groups = group_pods(&pods, &metrics, resource, &timing());
        assert_eq!(groups.ready_count, ready, "{name}: ready");
        assert_eq!(
            names_at(&pods, &groups.unready),
            names(unready),
            "{name}: unready"
        );
        assert_eq!(
            names_at(&pods, &groups.missing),
            names(missing),
            "{name}: missing"
        );
        assert_eq!(
            names_at(&pods, &groups.ignored),
            names(ignored),
            "{name}: ignored"
        );
    }
    let mut deleted = pod("deleted", PodPhase::Pending, None, None);
    deleted.deleting = true;
    let deleted = [deleted];
    let groups = group_pods(
        &deleted,
        &SamplesByPod::new(&deleted, metrics_of(&[("deleted", 0, 0)])),
        ResourceName::Cpu,
        &timing(),
    );
    assert_eq!(
        names_at(&deleted, &groups.ignored),
        names(&["deleted"]),
        "ignore pods with deletion timestamps"
    );
}

/// metric_samples_from_pods mirrors getPodMetrics: pods without a value are absent.
#[test]
fn metric_samples_skip_pods_without_the_resource() {
    let mut with_cpu = pod("a", PodPhase::Running, None, None);
    with_cpu.metric = Some(PodMetric {
        usage: ResourceAmounts {
            cpu_milli: Some(250),
            memory_milli: None,
        },
        timestamp_ms: 7,
        window_ms: 15_000,
    });
    let without_metric = pod("b", PodPhase::Running, None, None);
    let pods = [with_cpu, without_metric];
    let samples =
        poolsim::hpa::replica_calculator::metric_samples_from_pods(&pods, ResourceName::Cpu);
    assert_eq!(samples.len(), 1);
    assert_eq!(
        (
            samples[0].pod_name.as_ref(),
            samples[0].value_milli,
            samples[0].timestamp_ms
        ),
        ("a", 250, 7)
    );
    let pods = [pod("c", PodPhase::Running, None, None)];
    let memory =
        poolsim::hpa::replica_calculator::metric_samples_from_pods(&pods, ResourceName::Memory);
    assert!(memory.is_empty());
}

/// `SamplesByPod` is upstream's `PodMetricsInfo` map by pod name, kept by position:
/// whatever the order of the samples, each pod gets the last sample naming it, and a
/// sample naming no listed pod still counts as a sample.
#[test]
fn samples_by_pod_behave_as_a_map_by_pod_name() {
    let pods = [
        pod("a", PodPhase::Running, None, None),
        pod("b", PodPhase::Running, None, None),
        pod("c", PodPhase::Running, None, None),
    ];
    let sample = |value_milli| SampleValue {
        value_milli,
        timestamp_ms: 0,
        window_ms: 0,
    };
    let values = |samples: &SamplesByPod| -> Vec<Option<i64>> {
        (0..pods.len())
            .map(|position| samples.get(position).map(|s| s.value_milli))
            .collect()
    };

    let in_order = SamplesByPod::new(
        &pods,
        [("a", sample(1)), ("b", sample(2)), ("c", sample(3))],
    );
    assert_eq!(values(&in_order), [Some(1), Some(2), Some(3)]);
    assert_eq!(in_order.len(), 3);

    let shuffled = SamplesByPod::new(
        &pods,
        [
            ("c", sample(3)),
            ("gone", sample(9)),
            ("a", sample(1)),
            ("c", sample(4)),
        ],
    );
    assert_eq!(
        values(&shuffled),
        [Some(1), None, Some(4)],
        "the later c wins"
    );
    assert_eq!(shuffled.len(), 3, "a, c and the extraneous sample");
    let mut all: Vec<i64> = shuffled.values().map(|s| s.value_milli).collect();
    all.sort_unstable();
    assert_eq!(all, [1, 4, 9]);

    let empty = SamplesByPod::new(&pods, []);
    assert!(empty.is_empty());
    assert_eq!(empty.len(), 0);
    assert!(!SamplesByPod::new(&pods, [("gone", sample(9))]).is_empty());
}
