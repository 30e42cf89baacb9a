//! Pool reconcile algorithms as pure decisions: what the pool controller observed in
//! its informer caches goes in, the writes and requeues it would issue come out.
//!
//! The runtime that calls an algorithm owns everything around the decision, as
//! upstream's controller does around `execute`: the work queue and its 1 s enqueue
//! delay, rate-limited retries, expectations, the API writes and the pool status
//! (`pkg/virt-controller/watch/pool/pool.go`). See `docs/ALGORITHMS.md` for the
//! algorithms, what each counts and the trade-offs.
//!
//! Invariants: nothing here reads a clock (time is `Observation::now_ms`), draws
//! randomness other than from the `rng` passed in, or iterates a hashed collection.

mod action;
pub mod admission;
mod exec;
mod observation;
mod pool;
mod selection;

pub use action::{Action, DeleteReason};
pub use exec::{
    spawn, spawn_with, ExecAlgorithm, ExecError, ExecOptions, DEFAULT_ANSWER_TIMEOUT,
    DEFAULT_MAX_LINE_BYTES, PROTOCOL_VERSION,
};
pub use observation::{
    AutohealingView, IntOrPercent, LabelSelector, NodeReadiness, Observation, PoolView,
    PrintableStatus, RevisionView, ScaleInStrategy, SelectorOperator, SelectorRequirement,
    SortPolicy, StatePreservation, TemplateDigest, UpdateStrategy, VmSelectors, VmView, VmiPhase,
    VmiView, POD_TERMINATING_REASON,
};
pub use pool::{
    max_unavailable_count, reconcile_pool, reconcile_pool_with, slice_panic, InstanceCounting,
    KubevirtPool, KubevirtVmirs, SliceBounds, VmirsFenced, UPDATE_RETRY_DELAY_MS,
};
pub use selection::{index_from_name, lowest_free_indices, sort_by_policy, vm_name};

/// `BurstReplicas` in `pkg/controller/controller.go`: at most this many creations or
/// deletions per reconcile.
pub const UPSTREAM_BURST_REPLICAS: usize = 250;

/// A pool reconcile algorithm. It must be a pure function of its inputs: the same
/// observation and random stream give the same actions.
pub trait ReconcileAlgorithm: Send + Sync {
    /// The name users select it by (`--algorithm NAME`).
    fn name(&self) -> &'static str;
    /// One line for `poolsim algorithms`.
    fn summary(&self) -> &'static str;
    /// Decide one reconcile of `observed.pool`. `rng` is the pool controller's random
    /// stream, used for the Random sort policy.
    fn reconcile(&self, observed: &Observation, rng: &mut dyn rand::RngCore) -> Vec<Action>;
    /// Why the algorithm can no longer decide, if it cannot. `reconcile` returns no
    /// actions from then on; the runtime should stop the run with exit code 2 and this
    /// message. Only algorithms that run outside poolsim ([`ExecAlgorithm`]) fail.
    fn failure(&self) -> Option<String> {
        None
    }
}

/// The prefix that selects an external program: `exec:PATH` (see `docs/PROTOCOL.md`).
pub const EXEC_PREFIX: &str = "exec:";

/// The names of the built-in algorithms, the default first.
pub fn builtin_names() -> &'static [&'static str] {
    &["kubevirt-pool", "kubevirt-vmirs", "vmirs-fenced"]
}

/// The built-in algorithm called `name`, if there is one.
pub fn builtin(name: &str) -> Option<Box<dyn ReconcileAlgorithm>> {
    match name {
        "kubevirt-pool" => Some(Box::new(KubevirtPool)),
        "kubevirt-vmirs" => Some(Box::new(KubevirtVmirs)),
        "vmirs-fenced" => Some(Box::new(VmirsFenced)),
        _ => None,
    }
}

/// The algorithm `--algorithm NAME` selects: a built-in name, or `exec:PATH` to start
/// the program at `PATH` (see [`spawn`]). Otherwise a message that lists the valid
/// names, with the closest one when the name looks like a typo.
pub fn resolve(name: &str) -> Result<Box<dyn ReconcileAlgorithm>, String> {
    if let Some(algorithm) = builtin(name) {
        return Ok(algorithm);
    }
    if let Some(path) = name.strip_prefix(EXEC_PREFIX) {
        if path.is_empty() {
            return Err(format!(
                "algorithm {name:?} names no program; write exec:PATH, e.g. exec:./examples/reconcile_pool.py"
            ));
        }
        return spawn(std::path::Path::new(path))
            .map(|algorithm| Box::new(algorithm) as Box<dyn ReconcileAlgorithm>)
            .map_err(|error| error.to_string());
    }
    let suggestion = builtin_names()
        .iter()
        .map(|candidate| (strsim::levenshtein(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, candidate)| format!(" (did you mean {candidate:?}?)"))
        .unwrap_or_default();
    Err(format!(
        "unknown algorithm {name:?}{suggestion}; valid names: {}, or exec:PATH for an external program (docs/PROTOCOL.md)",
        builtin_names().join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_name_resolves_to_an_algorithm_of_that_name() {
        for name in builtin_names() {
            let algorithm = builtin(name).expect("listed algorithm must resolve");
            assert_eq!(algorithm.name(), *name);
            assert!(!algorithm.summary().is_empty());
        }
        assert!(builtin("no-such-algorithm").is_none());
    }

    #[test]
    fn resolve_accepts_builtin_names_and_lists_them_otherwise() {
        for name in builtin_names() {
            assert_eq!(resolve(name).map(|a| a.name()).ok(), Some(*name));
        }
        let error = resolve("kubevirt-pol").err().expect("not an algorithm");
        assert!(error.contains("did you mean \"kubevirt-pool\""), "{error}");
        for name in builtin_names() {
            assert!(error.contains(name), "{error}");
        }
        assert!(error.contains("exec:PATH"), "{error}");
        let error = resolve("zzzzzzzzzzzzzzzz").err().expect("not an algorithm");
        assert!(!error.contains("did you mean"), "{error}");
    }

    #[test]
    fn resolve_reports_an_exec_program_that_cannot_start() {
        let error = resolve("exec:/no/such/program")
            .err()
            .expect("cannot start");
        assert!(
            error.contains("cannot start external algorithm /no/such/program"),
            "{error}"
        );
        let error = resolve("exec:").err().expect("no program");
        assert!(error.contains("names no program"), "{error}");
    }

    #[test]
    fn builtin_algorithms_never_fail() {
        for name in builtin_names() {
            assert_eq!(builtin(name).unwrap().failure(), None);
        }
    }
}
