//! A month of random node failures on 20 nodes (`scenarios/lab05-random-failures-month.yaml`,
//! issue 14: "runs in well under a second per seed"): the scenario is prepared once, as
//! `sweep` does, and each iteration runs one seed to the end without writing files
//! (the failures are drawn for that seed in `build_world`). `expand` times the draws
//! alone. Run: `cargo bench --bench failures` (a few iterations: docs/PERFORMANCE.md).

use divan::Bencher;
use poolsim::check::run_prepared;
use poolsim::engine::RngStreams;
use poolsim::scenario::failures::expand_all;
use poolsim::sim::{prepare, Prepared, RunOptions};
use std::path::Path;

fn main() {
    divan::main();
}

fn month() -> Prepared {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lab05-random-failures-month.yaml");
    prepare(&path).expect("lab05-random-failures-month.yaml is valid")
}

/// One seed per iteration (seeds 1, 2, 3, ...), so the draws differ as in a sweep.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn month_one_seed(bencher: Bencher) {
    let prepared = month();
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        let options = RunOptions {
            seed: Some(seed),
            ..RunOptions::default()
        };
        let result = run_prepared(&prepared, &options).expect("runs");
        result.world.events_processed()
    });
}

/// Drawing a month of outages for every process and node of one seed.
#[divan::bench(sample_count = 20)]
fn expand(bencher: Bencher) {
    let prepared = month();
    let scenario = &prepared.scenario;
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        expand_all(
            &scenario.failures,
            &scenario.nodes,
            scenario.duration_ms,
            &RngStreams::new(seed),
        )
        .len()
    });
}
