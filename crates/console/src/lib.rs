//! The console beside the surgeon: turns master poses from an input source (a scripted surgical
//! motion or a recorded CSV) into control commands at 1 kHz through the teleoperation mapping and
//! tremor filter, and carries the session with a station. The console can ask; only the
//! station's supervisor decides.

pub mod config;
pub mod input;
pub mod operator;
pub mod report;
pub mod session;

pub use config::ConsoleConfig;
pub use operator::Operator;
pub use report::ConsoleReport;
pub use session::{ConsoleError, run};
