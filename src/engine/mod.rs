//! The discrete-event engine: simulated time, the event queue and the seeded random
//! streams. Nothing here knows about Kubernetes; nothing here reads a clock.

pub mod queue;
pub mod rng;
pub mod time;

pub use queue::EventQueue;
pub use rng::RngStreams;
pub use time::SimTime;
