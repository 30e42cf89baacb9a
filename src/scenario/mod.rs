//! Scenario files.
pub mod decode;
pub mod diag;
pub mod yaml;
