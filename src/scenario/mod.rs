//! Scenario files.
pub mod yaml;
