//! The scaling benchmark of issue 16: bench-scale's day (an HPA between 90 % and 100 %
//! of the pool, the load wave, two partitions, two crashes) at several sizes, 10 VMs
//! per node, printing the time and the work per VM so that growth faster than linear
//! shows at a glance (the last column: time per VM relative to the first size).
//!
//! ```text
//! cargo run --release --example scale_per_vm                  # 1k, 10k, 100k VMs, 1 h
//! cargo run --release --example scale_per_vm -- 24h 1000 10000 30000
//! ```
//!
//! The first argument is the simulated duration (a Go duration), the others the VM
//! counts. Time per size is measured here, outside the model (the model never reads a
//! clock): CPU seconds of this thread (`/proc/thread-self/schedstat`, Linux), which a
//! shared machine's load disturbs less than wall time, and wall time beside them; the
//! time per VM is from CPU seconds when known. Peak memory is the process's so far
//! (`VmHWM`), so run sizes in increasing order. For instruction counts, run one size under
//! `valgrind --tool=callgrind` (docs/PERFORMANCE.md, round four).

use poolsim::check::run_prepared;
use poolsim::sim::{prepare_bytes, RunOptions};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

const TEMPLATE: &str = "scenarios/bench/bench-scale.yaml";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let duration = args.first().map_or("1h", String::as_str);
    let duration_ms = match poolsim::units::parse_duration_ms(duration) {
        Ok(ms) => ms,
        Err(e) => {
            eprintln!("error: duration {duration:?}: {e}");
            return ExitCode::from(2);
        }
    };
    let sizes: Result<Vec<u64>, _> = if args.len() > 1 {
        args[1..].iter().map(|a| a.parse::<u64>()).collect()
    } else {
        Ok(vec![1_000, 10_000, 100_000])
    };
    let Ok(sizes) = sizes.map(|s| s.into_iter().filter(|n| *n >= 10).collect::<Vec<_>>()) else {
        eprintln!("usage: scale_per_vm [DURATION] [VMS...] (VM counts: whole numbers >= 10)");
        return ExitCode::from(2);
    };
    let template = match std::fs::read_to_string(TEMPLATE) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {TEMPLATE}: {e} (run from the repository root)");
            return ExitCode::from(2);
        }
    };
    println!("{duration} simulated, bench-scale's day resized, 10 VMs per node");
    println!(
        "{:>8} {:>6} {:>11} {:>11} {:>8} {:>8} {:>10} {:>8} {:>6}",
        "VMs", "nodes", "events", "sched.eval", "cpu s", "wall s", "µs per VM", "peak MB", "ratio"
    );
    let mut first_per_vm = None;
    for vms in sizes {
        let text = resized(&template, vms);
        let mut prepared = match prepare_bytes(text.as_bytes(), Path::new(TEMPLATE)) {
            Ok(prepared) => prepared,
            Err(e) => {
                eprintln!("error: {vms} VMs: {e:?}");
                return ExitCode::from(2);
            }
        };
        prepared.scenario.duration_ms = prepared.scenario.duration_ms.min(duration_ms);
        let started = Instant::now();
        let cpu_started = cpu_seconds();
        let result = match run_prepared(&prepared, &RunOptions::default()) {
            Ok(result) => result,
            Err(e) => {
                eprintln!("error: {vms} VMs: {e}");
                return ExitCode::from(2);
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds()
            .zip(cpu_started)
            .map(|(end, start)| end - start);
        let per_vm = cpu.unwrap_or(seconds) * 1e6 / vms as f64;
        let ratio = per_vm / *first_per_vm.get_or_insert(per_vm);
        println!(
            "{vms:>8} {:>6} {:>11} {:>11} {:>8} {seconds:>8.2} {per_vm:>10.1} {:>8} {ratio:>6.2}",
            vms / 10,
            result.world.events_processed(),
            result.world.scheduler_evaluations(),
            cpu.map_or("-".to_string(), |c| format!("{c:.2}")),
            peak_mb().map_or("-".to_string(), |mb| mb.to_string()),
        );
    }
    ExitCode::SUCCESS
}

/// bench-scale with `vms` VMs on `vms / 10` nodes: its replica numbers and load scaled
/// by `vms / 10,000`, its expectations dropped.
fn resized(template: &str, vms: u64) -> String {
    let scale = |n: u64| n * vms / 10_000;
    let mut text = template
        .replace("nodes: 1000", &format!("nodes: {}", vms / 10))
        .replace("replicas: 9000", &format!("replicas: {}", scale(9_000)))
        .replace(
            "minReplicas: 9000",
            &format!("minReplicas: {}", scale(9_000)),
        )
        .replace("maxReplicas: 10000", &format!("maxReplicas: {vms}"))
        .replace("cores: 2400", &format!("cores: {}", scale(2_400)))
        .replace("cores: 3300", &format!("cores: {}", scale(3_300)));
    // The node events name node-123 to node-888: with fewer nodes (named node-0 up),
    // they fail node-(index modulo the count) instead.
    let nodes = vms / 10;
    for index in [123, 456, 777, 888] {
        if index >= nodes {
            let other = format!("node-{}", index % nodes);
            text = text.replace(&format!("node-{index}"), &other);
        }
    }
    // The expectations are bench-scale's numbers: a resized run is measured, not judged.
    match text.find("  expect:") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// CPU seconds this thread has run (Linux), if known.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanos / 1e9)
}

/// The process's peak resident memory so far, in MB (Linux), if known.
fn peak_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}
