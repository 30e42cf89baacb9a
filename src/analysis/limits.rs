//! Bounds on the counts `sweep`, `merge` and `compare` take from flags and shard files.
//! Each is checked before anything of that size is allocated, so a typo (`--seeds
//! 18446744073709551615`) or a tampered `shard.json` is an exit 2 that names the limit,
//! never an abort or a panic. docs/LIMITS.md lists them with their error texts.

/// Most seeds in one sweep or comparison (`--seeds`, a shard's `seed_count`). Ten times
/// a 100,000-seed study run as a Kubernetes Indexed Job, whose own `completionsSoftLimit`
/// is 100,000 (kubernetes/kubernetes `pkg/apis/batch/validation/validation.go`).
pub const MAX_SEEDS: u64 = 1_000_000;

/// Most shards of one sweep (`--shard I/N`, a shard's `shard.count`). A shard runs at
/// least one seed (N is also at most the number of seeds), so this is [`MAX_SEEDS`]:
/// one seed per pod of the largest sweep.
pub const MAX_SHARDS: u64 = MAX_SEEDS;

/// Most series values one process holds: seeds (times algorithms, for `compare`) times
/// sample times. Each is two `i64` columns, 16 bytes, so this is 32 GB; a 100,000-seed
/// sweep of a simulated day sampled every 5 s (17,281 rows) holds 1.73e9 and fits.
/// Beyond it a run would exhaust the memory of any machine that runs poolsim.
pub const MAX_SERIES_VALUES: u64 = 2_000_000_000;

/// `--seeds` (or a shard's `seed_count`) against [`MAX_SEEDS`].
pub fn check_seed_count(what: &str, count: u64) -> Result<(), String> {
    if count > MAX_SEEDS {
        return Err(format!(
            "{what} {count} is more than poolsim's limit of {MAX_SEEDS} seeds (MAX_SEEDS, docs/LIMITS.md); valid: 1 to {MAX_SEEDS}"
        ));
    }
    Ok(())
}

/// `runs` seeds (runs of one algorithm each) of `samples` sample times each, against
/// [`MAX_SERIES_VALUES`]; `what` says where the counts come from.
pub fn check_series_values(what: &str, runs: u64, samples: u64) -> Result<(), String> {
    let values = runs.saturating_mul(samples);
    if values > MAX_SERIES_VALUES {
        return Err(format!(
            "{what}: {runs} run(s) of {samples} sample times each hold {values} series values, more than poolsim's limit of {MAX_SERIES_VALUES} (MAX_SERIES_VALUES, docs/LIMITS.md); use fewer seeds, shards of them, or a coarser spec.sampleInterval"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_themselves() {
        assert!(check_seed_count("--seeds", MAX_SEEDS).is_ok());
        let error = check_seed_count("--seeds", MAX_SEEDS + 1).unwrap_err();
        assert!(error.contains("MAX_SEEDS"), "{error}");
        assert!(check_series_values("x", 100_000, 17_281).is_ok());
        let error = check_series_values("x", u64::MAX, u64::MAX).unwrap_err();
        assert!(error.contains("MAX_SERIES_VALUES"), "{error}");
    }
}
