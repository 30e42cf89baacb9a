//! The API objects poolsim models, as typed Rust values: what `kubectl apply` creates
//! and what the controllers read and write.
//!
//! Field names follow the upstream Go types (`kubevirt.io/api/pool/v1beta1`,
//! `kubevirt.io/api/core/v1`, `k8s.io/api/core/v1`, CDI `v1beta1`); only the fields the
//! model acts on are kept. Quantities are stored as integers: CPU in millicores, memory
//! and storage in bytes.

pub mod core;
pub mod kubevirt;
pub mod meta;

pub use self::core::*;
pub use kubevirt::*;
pub use meta::*;
