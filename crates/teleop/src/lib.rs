//! The telesurgery session itself, as pure cores in the sans-IO shape of the house plan:
//! `handle_input(input, now)`, `poll_output()`, `poll_timeout()`.
//!
//! - `console`: the console side (master sample → tremor filter → teleoperation mapping →
//!   commands; the operator's requests; clock sync) and the scripted surgeon.
//! - `station`: the station side (session lifecycle, clock stamping with an age bound, requests to
//!   the supervisor, the servo tick on the arm) and its per-session statistics.
//! - `message` and `report`: the typed events of the reliable stream and the session reports.
//! - `monitor`: the patient monitor's readings the station sends to every console.
//! - `wire`: poses on the wire. `stats`: latency percentiles. `time`: clock sources.
//! - `record`: the one entry point every driver goes through, where recording taps in.
//! - `hifu`: the remote HIFU procedure (the station's part inside the station core, the console's
//!   operator that runs a plan spot by spot) and its messages.
//! - `sim`: one simulated pair over the netem core, for the rehearsal and the tests.
//!
//! No clocks, no sockets, no files: the edges (`station`, `console` crates) do the IO.

pub mod console;
pub mod core;
pub mod hifu;
pub mod message;
pub mod monitor;
pub mod record;
pub mod report;
pub mod sim;
pub mod station;
pub mod stats;
pub mod time;
pub mod wire;

pub use crate::core::Core;
pub use console::{
    ConsoleInput, ConsoleOutput, ConsoleSession, ConsoleSessionConfig, ConsoleView, MasterSample,
    OperatorAction,
};
pub use message::{Role, SessionEvent};
pub use monitor::MonitorReading;
pub use record::{NoTap, Recorded, Tap};
pub use report::{ConsoleReport, OperatorStats, SessionRecord, StationReport, TransitionRecord};
pub use station::{
    LocalRequest, StationInput, StationOutput, StationSession, StationSessionConfig,
};
pub use stats::{LatencyRecorder, Percentiles};
pub use time::{ClockAnnouncement, TimeSource};
