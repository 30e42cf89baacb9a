//! Random streams derived by name from the one scenario seed.
//!
//! Each component asks for its own stream (`"scheduler"`, `"boot:node-3"`, ...), so that
//! adding a component or drawing more from one stream never shifts the draws of another.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The factory of named random streams for one run.
#[derive(Debug, Clone, Copy)]
pub struct RngStreams {
    seed: u64,
}

impl RngStreams {
    pub fn new(seed: u64) -> Self {
        RngStreams { seed }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The stream named `name`: the same seed and name always give the same stream.
    pub fn stream(&self, name: &str) -> ChaCha8Rng {
        let mut key = [0u8; 32];
        let mut state = self.seed ^ fnv1a64(name.as_bytes());
        for chunk in key.chunks_mut(8) {
            state = splitmix64(state);
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        ChaCha8Rng::from_seed(key)
    }
}

/// FNV-1a: a fixed, documented hash, so stream names map to the same seeds everywhere.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Uniform whole milliseconds in `[low_ms, high_ms]`.
pub fn uniform_ms(rng: &mut ChaCha8Rng, low_ms: u64, high_ms: u64) -> u64 {
    if high_ms <= low_ms {
        return low_ms;
    }
    rng.random_range(low_ms..=high_ms)
}

/// A log-normal draw given its median and 95th percentile, in milliseconds.
/// Used for latencies that benchmarks report as p50/p95 (kubevirt
/// `docs/perf-scale-benchmarks.md`).
pub fn lognormal_ms(rng: &mut ChaCha8Rng, p50_ms: u64, p95_ms: u64) -> u64 {
    let mu = (p50_ms.max(1) as f64).ln();
    // z(0.95) = 1.6448536
    let sigma = ((p95_ms.max(p50_ms + 1) as f64).ln() - mu) / 1.644_853_6;
    let normal = standard_normal(rng);
    (mu + sigma * normal).exp().round() as u64
}

/// Box-Muller, from two uniform draws in (0, 1].
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn same_name_same_stream_other_name_other_stream() {
        let streams = RngStreams::new(42);
        let a1 = streams.stream("scheduler").next_u64();
        let a2 = streams.stream("scheduler").next_u64();
        let b = streams.stream("boot").next_u64();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, RngStreams::new(43).stream("scheduler").next_u64());
    }

    #[test]
    fn lognormal_median_is_near_p50() {
        let mut rng = RngStreams::new(1).stream("t");
        let mut draws: Vec<u64> = (0..4001)
            .map(|_| lognormal_ms(&mut rng, 17_000, 27_000))
            .collect();
        draws.sort_unstable();
        let median = draws[2000];
        let p95 = draws[3800];
        assert!((16_000..18_000).contains(&median), "median {median}");
        assert!((25_000..29_500).contains(&p95), "p95 {p95}");
    }
}
