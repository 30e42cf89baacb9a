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
mod observation;
mod pool;
mod selection;

pub use action::{Action, DeleteReason};
pub use observation::{
    AutohealingView, IntOrPercent, LabelSelector, NodeReadiness, Observation, PoolView,
    PrintableStatus, RevisionView, ScaleInStrategy, SelectorOperator, SelectorRequirement,
    SortPolicy, StatePreservation, TemplateDigest, UpdateStrategy, VmSelectors, VmView, VmiPhase,
    VmiView, POD_TERMINATING_REASON,
};
pub use pool::{
    max_unavailable_count, reconcile_pool, InstanceCounting, KubevirtPool, KubevirtVmirs,
    VmirsFenced, UPDATE_RETRY_DELAY_MS,
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
}

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
}
