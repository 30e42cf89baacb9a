//! Outputs: what a run records (`record`), the files it writes (`files`), the plots
//! (`plot`) and the interactive page (`report`).

pub mod error;
pub mod event_log;
pub mod files;
pub mod ownership;
pub mod plot;
pub mod record;
pub mod report;
