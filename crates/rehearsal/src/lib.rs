//! A telesurgery session rehearsed in simulated time over an emulated network: the production
//! session cores (`teleop`) as a simulated console–station pair over the netem core, each side on
//! its own clock with clock sync through the emulated link, without sockets or clocks, so a whole
//! fault matrix runs in seconds and every run is exactly reproducible from its seed. The run
//! records what the safety invariants need (including the true age of every applied command,
//! which only the simulation knows), and `invariants::check` judges them. `hifu` rehearses the
//! remote HIFU procedure over the same matrix.

pub mod hifu;
pub mod invariants;
pub mod matrix;
pub mod observe;
pub mod session;

pub use invariants::{Expectations, check};
pub use session::{RehearsalConfig, RehearsalError, RehearsalReport, rehearse};
