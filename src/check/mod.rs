//! `poolsim check`, the suite of runs judged (`suite`): it finds scenarios with
//! `discover`, runs each through `crate::run` (which judges the `expect` block) and
//! compares golden traces with `golden`.

pub mod discover;
pub mod golden;
pub mod suite;

pub use suite::{check, CheckArgs, Verdict};

/// One run lives in `crate::run`; these names stay here for the callers that found
/// them here first.
pub use crate::run::{run_prepared, run_prepared_observed, run_prepared_with, RunResult};
