//! A telesurgery session rehearsed in simulated time over an emulated network: the console's
//! operator core, the netem core and the station core, wired as the real session wires them but
//! without sockets or clocks, so a whole fault matrix runs in seconds and every run is exactly
//! reproducible from its seed. The run records what the safety invariants need, and
//! `invariants::check` judges them.

pub mod invariants;
pub mod matrix;
pub mod observe;
pub mod session;

pub use invariants::{Expectations, check};
pub use session::{RehearsalConfig, RehearsalError, RehearsalReport, rehearse};
