//! The station beside the patient: a 1 kHz servo thread runs the simulated dVRK arm under the
//! safety supervisor, and a network thread carries the session with one console over QUIC.

pub mod config;
pub mod core;
pub mod net;
pub mod report;
pub mod runner;

pub use config::StationConfig;
pub use core::{Inbound, StationCore};
pub use report::StationReport;
pub use runner::{StationError, StationHandle};
