//! The simulated cluster, layered as a real one is: ground truth (`truth`), the API
//! store (`store`), informer caches and work queues (`informer`), and the world that
//! runs controllers and agents over them (`world`). The controllers themselves live in
//! `crate::controllers`, each as methods on `World` that read one informer and write
//! only through the store.

pub mod informer;
pub mod settings;
pub mod store;
pub mod truth;
pub mod warm_start;
pub mod world;

pub use settings::Settings;
pub use world::{ClusterAction, NodeConfig, NodeTarget, World, WorldConfig};
