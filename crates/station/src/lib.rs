//! The station beside the patient: a 1 kHz servo thread runs the telesurgery session's station
//! core (`teleop`) on the simulated dVRK arm under the safety supervisor, and a network thread
//! carries the sessions with consoles over QUIC. They share lock-free queues only. A HIFU device,
//! when the station hosts one, runs on a thread of its own (`hifu_device`), and so does the
//! simulated endoscope camera (`camera`), whose frames go out on the video channel, and the
//! simulated patient monitor (`monitor`), whose readings go to every console.

pub mod admission;
pub mod bedside_view;
pub mod camera;
pub mod config;
pub mod gate;
pub mod hifu_device;
pub mod monitor;
pub mod net;
pub mod runner;
pub mod shared;
pub mod ui;

pub use config::StationConfig;
pub use runner::{Bedside, StationError, StationHandle};
pub use teleop::StationReport;
