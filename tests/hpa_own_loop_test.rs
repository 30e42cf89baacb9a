//! The HPA controller's own loop (issue 13, item 6a) and a booting guest's CPU
//! (item 6e): `controllers::hpa` syncs each HPA one `hpaSyncPeriod` after its informer
//! sees it and one period after each sync (kubernetes
//! `pkg/controller/podautoscaler/horizontal.go`, `processNextWorkItem` and
//! `enqueueHPA`, both `AddRateLimited` with the fixed-interval HPA rate limiter), apart
//! from metrics-server's scrapes, and reads the points metrics-server stored last.

mod common;

use common::{at, rows};
use poolsim::check::{run_prepared, RunResult};
use poolsim::sim::{prepare, prepare_bytes, RunOptions};
use std::path::Path;

const SYNC: &str = "scenarios/fidelity-hpa-own-sync-period.yaml";
const BOOT: &str = "scenarios/fidelity-hpa-boot-cpu.yaml";

/// `path` run with `settings` set on top of the scenario's own.
fn run(path: &str, settings: &[(&str, f64)]) -> RunResult {
    let mut prepared = prepare(Path::new(path)).expect("a valid scenario");
    for (name, value) in settings {
        assert!(prepared.settings.set(name, *value), "{name}");
    }
    run_prepared(&prepared, &RunOptions::default()).expect("the run finishes")
}

/// The times (ms) of the HPA's syncs that found no metrics, in the first `until_ms`.
fn failed_sync_times(result: &RunResult, until_ms: u64) -> Vec<u64> {
    result
        .world
        .events
        .rows
        .iter()
        .filter(|e| e.reason == "FailedGetResourceMetric" && e.time.0 <= until_ms)
        .map(|e| e.time.0)
        .collect()
}

#[test]
fn the_hpa_syncs_one_period_after_it_is_seen_and_after_each_sync() {
    // The informer sees the HPA 50 ms (watchDelay) after it is applied at 0.
    let twenty = failed_sync_times(&run(SYNC, &[]), 100_000);
    assert_eq!(twenty, vec![20_050, 40_050, 60_050, 80_050]);
    // Five seconds: syncs between metrics-server's 15 s scrapes, which the old loop
    // (an HPA sync only right after a scrape) could not do.
    let five = failed_sync_times(&run(SYNC, &[("hpaSyncPeriod", 5_000.0)]), 30_000);
    assert_eq!(five, vec![5_050, 10_050, 15_050, 20_050, 25_050]);
}

#[test]
fn a_sync_between_scrapes_reads_the_last_scrape() {
    // Scrapes every 60 s, syncs every 15 s: the three syncs after each scrape read
    // the same stored points, so the observed utilization changes only at the first
    // sync after a scrape (seen at the 5 s sample after it).
    let result = run(SYNC, &[("metricsResolution", 60_000.0)]);
    let rows = rows(&result);
    let mut changes = Vec::new();
    for pair in rows.windows(2) {
        let (before, after) = (pair[0].cpu_utilization_pct, pair[1].cpu_utilization_pct);
        if before.is_some() && after.is_some() && before != after {
            changes.push(pair[1].time.0);
        }
    }
    assert!(!changes.is_empty(), "the load wave moves the utilization");
    for time in changes {
        let since_scrape = time % 60_000;
        assert!(
            (1..=20_000).contains(&since_scrape),
            "utilization changed at {time} ms, {since_scrape} ms after a scrape"
        );
    }
}

#[test]
fn a_booting_guest_uses_its_vcpus_and_the_hpa_sees_it() {
    let full = run(BOOT, &[]);
    let row = at(rows(&full), 185);
    assert!(row.cpu_utilization_pct.unwrap_or(0) >= 90, "{row:?}");
    assert_eq!(row.desired_replicas, 4, "the boot scales the pool up");

    let half = run(BOOT, &[("guestBootCpu", 0.5)]);
    let utilization = at(rows(&half), 185).cpu_utilization_pct.expect("a metric");
    assert!(
        (45..=60).contains(&utilization),
        "half the vCPU: {utilization}%"
    );

    let none = run(BOOT, &[("guestBootCpu", 0.0)]);
    let row = at(rows(&none), 185);
    assert!(row.cpu_utilization_pct.unwrap_or(100) < 15, "{row:?}");
    assert_eq!(
        at(rows(&none), 600).desired_replicas,
        2,
        "no boot, no scale-up"
    );
}

#[test]
fn the_removed_retry_delay_setting_says_what_to_do() {
    let text = std::fs::read_to_string(BOOT).expect("the scenario");
    let text = text.replace(
        "  seed: 11\n",
        "  seed: 11\n  settings: {poolRetryDelay: 3s}\n",
    );
    let errors = prepare_bytes(text.as_bytes(), Path::new(BOOT))
        .err()
        .expect("a removed setting is an error");
    let message = format!("{errors:?}");
    assert!(message.contains("poolRetryDelay was removed"), "{message}");
    assert!(message.contains("defaultRetryDelay"), "{message}");
}

#[test]
fn a_zero_sync_period_is_refused() {
    let text = std::fs::read_to_string(SYNC).expect("the scenario");
    let text = text.replace("hpaSyncPeriod: 20s", "hpaSyncPeriod: 0s");
    let errors = prepare_bytes(text.as_bytes(), Path::new(SYNC))
        .err()
        .expect("a zero period is an error");
    let message = format!("{errors:?}");
    assert!(message.contains("spec.settings.hpaSyncPeriod"), "{message}");
    assert!(message.contains("must be more than 0s"), "{message}");
}
