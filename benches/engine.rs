//! Engine throughput: the classic "hold" model. A queue holding `size` pending events
//! repeatedly pops the earliest and schedules one new event a pseudo-random delay
//! later, as a simulation in steady state does. `poolsim::engine::EventQueue` is
//! compared with a bare `BinaryHeap<(Reverse(time), Reverse(sequence))>`, the lower
//! bound for any `(time, sequence)`-ordered heap. Run: `cargo bench --bench engine`.

use divan::{black_box, Bencher};
use poolsim::engine::{EventQueue, SimTime};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Pending events in the queue (bench-day holds a few hundred to a few thousand).
const SIZES: &[usize] = &[100, 1_000, 10_000];
/// Pops (each followed by one push) per measured iteration.
const HOLDS: usize = 10_000;

fn main() {
    divan::main();
}

/// Delays in ms from a fixed linear congruential sequence: the same for both queues,
/// no RNG cost inside the measured loop.
fn delays(count: usize) -> Vec<u64> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..count)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % 30_000
        })
        .collect()
}

/// The event payload size matters for a heap (it moves entries): the world's `Ev` is
/// two words plus a tag, so a `(u64, u64)` payload stands in for it.
type Payload = (u64, u64);

#[divan::bench(args = SIZES)]
fn poolsim_event_queue(bencher: Bencher, size: usize) {
    let delays = delays(size + HOLDS);
    bencher
        .counter(divan::counter::ItemsCount::new(HOLDS))
        .with_inputs(|| {
            let mut queue: EventQueue<Payload> = EventQueue::new();
            for (i, delay) in delays[..size].iter().enumerate() {
                queue.schedule(SimTime(*delay), (i as u64, 0));
            }
            queue
        })
        .bench_local_values(|mut queue| {
            for delay in &delays[size..] {
                let (at, event) = queue.pop().expect("queue holds events");
                queue.schedule(at + *delay, black_box(event));
            }
            queue
        });
}

#[divan::bench(args = SIZES)]
fn bare_binary_heap(bencher: Bencher, size: usize) {
    let delays = delays(size + HOLDS);
    bencher
        .counter(divan::counter::ItemsCount::new(HOLDS))
        .with_inputs(|| {
            let mut heap: BinaryHeap<(Reverse<u64>, Reverse<u64>, Payload)> = BinaryHeap::new();
            for (i, delay) in delays[..size].iter().enumerate() {
                heap.push((Reverse(*delay), Reverse(i as u64), (i as u64, 0)));
            }
            (heap, size as u64)
        })
        .bench_local_values(|(mut heap, mut sequence)| {
            for delay in &delays[size..] {
                let (Reverse(at), _, event) = heap.pop().expect("heap holds events");
                heap.push((Reverse(at + *delay), Reverse(sequence), black_box(event)));
                sequence += 1;
            }
            (heap, sequence)
        });
}
