//! A pure network-impairment core: packets go in with the time they were sent, and come out at
//! the time the emulated network delivers them, per direction, reproducibly from a seed. It reads
//! no clock and does no IO; the UDP relay in `link::relay` and the simulated-time fault matrix
//! drive the same engine.

pub mod engine;
pub mod lane;
pub mod named;
pub mod probe;
pub mod profile;
pub mod sample;
pub mod schedule;
pub mod tail;

pub use engine::{Delivery, Direction, Netem};
pub use lane::LaneStats;
pub use named::{NAMED_PROFILES, named_profile};
pub use profile::{Handover, Jitter, LaneProfile, Loss, Outage, Profile, ProfileError};
pub use schedule::{Interruption, InterruptionKind};
