//! No setting without an effect (issue 13, item 6e): every setting in the catalogue
//! (`Settings::CATALOGUE`) changes a model output. Each case runs a shipped scenario
//! twice through the library, with every setting at its default and then with the
//! one setting changed, and requires the timeseries or the events to differ. The
//! settings that by design never change outputs are listed with the reason and tested
//! for their own effect instead; every other setting has a case. A setting added
//! later without a case fails `every_setting_has_a_case`.

use poolsim::check::run_prepared;
use poolsim::cluster::Settings;
use poolsim::sim::{prepare, Prepared, RunOptions};
use std::collections::BTreeMap;
use std::path::Path;

const HPA: &str = "scenarios/lab05-hpa-load-wave.yaml";
const HPA_NO_REQUEST: &str = "scenarios/lab05-hpa-no-cpu-request.yaml";
const CRASH: &str = "scenarios/lab05-node-crash.yaml";
const PARTITION: &str = "scenarios/lab05-node-partition.yaml";
const SCALE: &str = "scenarios/lab05-scale-2-4-1-0.yaml";
const PROBED: &str = "tests/settings_effect/probed-hpa.yaml";
const CSI_CLONE: &str = "tests/settings_effect/csi-clone.yaml";
const BOOT_CRASH: &str = "tests/settings_effect/boot-crash.yaml";
const LATE_SECRET: &str = "tests/settings_effect/late-secret.yaml";
const NODE_DELETED: &str = "tests/settings_effect/node-deleted.yaml";
const UNSCHEDULABLE: &str = "tests/settings_effect/unschedulable.yaml";
const DETACHED_WHILE_DELETED: &str = "tests/settings_effect/detached-while-deleted.yaml";
const DELETED_NODE_RWO: &str = "tests/settings_effect/deleted-node-rwo.yaml";
const HUNG_AFTER_READY: &str = "tests/settings_effect/hung-after-ready-hpa.yaml";
const AUTOHEAL: &str = "scenarios/regressions/autohealing-needs-an-event-17300.yaml";
const PANIC: &str = "scenarios/fidelity/scale-in-panic-terminating-vms.yaml";
const SHARED_CLONES: &str = "scenarios/fidelity/cdi-host-clones-share-source-bandwidth.yaml";
const IMAGE_PULL: &str = "scenarios/fidelity/container-disk-image-pull-autoheals.yaml";
const MANY_NODES: &str = "tests/settings_effect/many-nodes.yaml";

/// `(setting, scenario, changed value in the setting's unit)`: the scenario, run to
/// `minutes`, shows the setting's effect.
const CASES: &[(&str, &str, f64, u64)] = &[
    ("watchDelay", HPA, 3_000.0, 60),
    ("poolEnqueueDelay", HPA, 20_000.0, 60),
    ("poolBurstReplicas", SCALE, 1.0, 60),
    ("informerResyncMin", AUTOHEAL, 60_000.0, 60),
    ("vmStartP50", HPA, 60_000.0, 60),
    ("vmStartP95", HPA, 90_000.0, 60),
    ("podStart", HPA, 20_000.0, 60),
    ("libvirtStartupDelay", PROBED, 60_000.0, 60),
    ("virtControllerReplicas", PANIC, 1.0, 60),
    ("leaderElectLeaseDuration", PANIC, 60_000.0, 60),
    ("expectationsTimeout", DETACHED_WHILE_DELETED, 60_000.0, 60),
    ("containerRestartBackoffInitial", PANIC, 60_000.0, 60),
    ("containerRestartBackoffMax", PANIC, 20_000.0, 60),
    ("imagePullBackOffBase", IMAGE_PULL, 60_000.0, 60),
    ("imagePullBackOffMax", IMAGE_PULL, 5_000.0, 60),
    (
        "cloneSourceReadBytesPerSecond",
        SHARED_CLONES,
        10_000_000.0,
        60,
    ),
    ("guestShutdownMin", SCALE, 7_000.0, 60),
    ("guestShutdownMax", SCALE, 60_000.0, 60),
    ("startBackoffBase", BOOT_CRASH, 60_000.0, 60),
    ("startBackoffMax", BOOT_CRASH, 5_000.0, 60),
    ("nodeLeaseRenew", CRASH, 30_000.0, 60),
    ("nodeMonitorPeriod", CRASH, 20_000.0, 60),
    ("nodeMonitorGracePeriod", CRASH, 20_000.0, 60),
    ("defaultTolerationSeconds", CRASH, 60_000.0, 60),
    ("podGcPeriod", CRASH, 120_000.0, 60),
    ("podGcQuarantine", NODE_DELETED, 300_000.0, 60),
    ("mountRetryMax", LATE_SECRET, 1_000.0, 60),
    ("unschedulableRetry", UNSCHEDULABLE, 30_000.0, 60),
    ("forceDetachAfter", DELETED_NODE_RWO, 60_000.0, 60),
    ("handlerHeartbeatMin", CRASH, 0.0, 60),
    ("handlerHeartbeatMax", PARTITION, 300_000.0, 60),
    ("handlerUnresponsiveAfter", CRASH, 60_000.0, 60),
    ("handlerRecheckInterval", CRASH, 10_000.0, 60),
    ("cloneCopyBytesPerSecond", HPA, 5_000_000.0, 60),
    ("clonePodStart", HPA, 60_000.0, 60),
    ("cloneFastMin", CSI_CLONE, 29_000.0, 60),
    ("cloneFastMax", CSI_CLONE, 120_000.0, 60),
    ("provisionDelay", HPA, 30_000.0, 60),
    ("cpuAllocationRatio", HPA_NO_REQUEST, 2.0, 60),
    ("serialConsoleLog", HPA, 0.0, 60),
    ("nodeBoot", CRASH, 600_000.0, 60),
    ("guestBootCpu", HPA, 0.0, 60),
    ("metricsResolution", HPA, 60_000.0, 60),
    ("hpaSyncPeriod", HPA, 5_000.0, 60),
    ("hpaTolerance", HPA, 0.9, 60),
    ("hpaDownscaleStabilization", HPA, 0.0, 60),
    ("hpaCpuInitializationPeriod", PROBED, 0.0, 60),
    ("hpaConfigurableTolerance", PROBED, 1.0, 60),
    (
        "hpaInitialReadinessDelay",
        HUNG_AFTER_READY,
        3_600_000.0,
        60,
    ),
    ("hpaAbsentBehaviorUsesDefaultPolicies", HPA, 1.0, 60),
    ("percentageOfNodesToScore", MANY_NODES, 100.0, 60),
];

/// Settings that by design change no output, why, and the test of their own effect.
const NO_OUTPUT_BY_DESIGN: &[(&str, &str)] = &[
    (
        "checkInvariants",
        "checks the model after every event and changes nothing it outputs: \
         check_invariants_is_turned_on_by_its_setting",
    ),
    (
        "maxEventsProcessed",
        "a bound on the run, not a model of the cluster; it changes nothing until it \
         is reached, then stops the run: the_event_budget_stops_a_run",
    ),
    (
        "maxSchedulerEvaluations",
        "a bound on the scheduler's work, not a model of the cluster; it changes \
         nothing until it is reached, then stops the run: \
         tests/scheduler_budget_test.rs",
    ),
];

#[test]
fn every_setting_has_a_case() {
    for (name, _, _) in Settings::CATALOGUE {
        let cased = CASES.iter().filter(|case| case.0 == *name).count()
            + NO_OUTPUT_BY_DESIGN.iter().filter(|n| n.0 == *name).count();
        assert_eq!(
            cased, 1,
            "setting {name}: add exactly one case to CASES (or NO_OUTPUT_BY_DESIGN, with \
             the reason and a test of its own effect) in tests/settings_effect_test.rs"
        );
    }
    let listed = CASES.iter().map(|case| case.0);
    let listed = listed.chain(NO_OUTPUT_BY_DESIGN.iter().map(|n| n.0));
    for name in listed {
        assert!(
            Settings::CATALOGUE.iter().any(|(n, _, _)| *n == name),
            "case for unknown setting {name}"
        );
    }
}

/// A scenario with every setting at its default, run to `minutes`.
fn prepared(path: &str, minutes: u64) -> Prepared {
    let mut prepared = prepare(Path::new(path)).unwrap_or_else(|e| panic!("{path}: {e:?}"));
    prepared.settings = Settings::default();
    prepared.scenario.duration_ms = prepared.scenario.duration_ms.min(minutes * 60_000);
    prepared
}

/// The model's outputs of a run: its timeseries rows and its events.
fn outputs(prepared: &Prepared) -> String {
    let result = run_prepared(prepared, &RunOptions::default()).expect("the run finishes");
    format!(
        "{:?}\n{:?}",
        result.world.samples.rows, result.world.events.rows
    )
}

#[test]
fn every_setting_changes_an_output() {
    let mut defaults: BTreeMap<(&str, u64), String> = BTreeMap::new();
    let mut without_effect = Vec::new();
    for &(name, path, value, minutes) in CASES {
        let base = defaults
            .entry((path, minutes))
            .or_insert_with(|| outputs(&prepared(path, minutes)));
        let mut changed = prepared(path, minutes);
        assert!(changed.settings.set(name, value), "{name} is a setting");
        if outputs(&changed) == *base {
            without_effect.push(format!("{name} = {value} on {path}"));
        }
    }
    assert!(
        without_effect.is_empty(),
        "settings with no effect on any output: {without_effect:#?}"
    );
}

#[test]
fn check_invariants_is_turned_on_by_its_setting() {
    let mut prepared = prepared(HPA, 1);
    assert!(!prepared.settings.check_invariants);
    assert!(prepared.settings.set("checkInvariants", 1.0));
    let result = run_prepared(&prepared, &RunOptions::default()).expect("the run finishes");
    assert!(result.world.checks_invariants());
}

#[test]
fn the_event_budget_stops_a_run() {
    let mut prepared = prepared(HPA, 10);
    assert!(run_prepared(&prepared, &RunOptions::default()).is_ok());
    assert!(prepared.settings.set("maxEventsProcessed", 100.0));
    let error = run_prepared(&prepared, &RunOptions::default())
        .err()
        .expect("the budget stops the run");
    assert!(error.contains("maxEventsProcessed"), "{error}");
}
