//! Sweep throughput: `scenarios/lab05-node-partition.yaml` (the lab's two-VM pool
//! through a 10-minute node partition) run over 8 seeds through
//! `poolsim::analysis::run_seeds`, on 1 and on 2 worker threads, as `poolsim sweep`
//! runs it. The scenario is prepared once; each iteration runs all 8 seeds. Run:
//! `cargo bench --bench sweep`. Divan's throughput counter reports seeds per second.

use divan::counter::ItemsCount;
use divan::Bencher;
use poolsim::analysis::{run_seeds, seed_range, Progress};
use poolsim::sim::prepare;
use std::path::Path;

const SEEDS: u64 = 8;

fn main() {
    divan::main();
}

#[divan::bench(args = [1, 2], sample_count = 5, sample_size = 1)]
fn node_partition_8_seeds(bencher: Bencher, jobs: usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lab05-node-partition.yaml");
    let prepared = prepare(&path).expect("lab05-node-partition.yaml is valid");
    let seeds = seed_range(1, SEEDS).expect("8 seeds fit");
    bencher
        .counter(ItemsCount::new(seeds.len()))
        .bench_local(|| {
            let progress = Progress::new("sweep", seeds.len(), true);
            let runs = run_seeds(&prepared, None, &seeds, jobs, &progress).expect("runs");
            assert_eq!(runs.runs.len(), seeds.len());
            runs.runs.len()
        });
}
