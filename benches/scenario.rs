//! The whole `scenarios/bench/bench-day.yaml` run: one simulated day of a 200-1,000 VM
//! pool under an HPA on 100 nodes. The scenario is prepared (parsed, decoded,
//! admitted) once; each iteration builds the world and runs it to the end, without
//! writing files. Run: `cargo bench --bench scenario` (a few iterations only: one run
//! is seconds long).

use divan::Bencher;
use poolsim::check::run_prepared;
use poolsim::sim::{prepare, RunOptions};
use std::path::Path;

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn bench_day(bencher: Bencher) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/bench-day.yaml");
    let prepared = prepare(&path).expect("bench-day.yaml is valid");
    bencher.bench_local(|| {
        let result = run_prepared(&prepared, &RunOptions::default()).expect("runs");
        assert!(result.world.events_processed() > 0);
        result.world.events_processed()
    });
}
