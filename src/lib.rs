//! poolsim: a deterministic discrete-event simulator of KubeVirt VirtualMachinePool
//! behaviour on a Kubernetes cluster. See ARCHITECTURE.md for the code map.

pub mod algorithm;
pub mod analysis;
pub mod api;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod controllers;
pub mod engine;
pub mod hpa;
pub mod input;
pub mod invariants;
pub mod load;
pub mod outcome;
pub mod output;
pub mod progress;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod timeseries;
pub mod units;
pub mod validate;
