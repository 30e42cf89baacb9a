//! Outputs: what a run records (`record`), the files it writes (`files`) and the plots
//! (`plot`).

pub mod error;
pub mod event_log;
pub mod files;
pub mod ownership;
pub mod plot;
pub mod record;
