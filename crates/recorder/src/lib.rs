//! Recording and replay of a session core (the house plan: "every session is recorded at its
//! core's one entry point and can be replayed through the same cores to reproduce what happened,
//! bit for bit").
//!
//! - `writer`: [`Recorder`] owns an MCAP file on its own thread; the driver's side of it is a
//!   [`QueueTap`], a `teleop::Tap` that only clones each input and output into a bounded
//!   lock-free queue (it never blocks, writes or logs; a full queue counts a drop, and a recording
//!   with drops is marked incomplete and refused by replay).
//! - `format`: what is in a file: its name, the `session` and `end` metadata records, the two
//!   channels per role, their JSON schemas and the message envelopes.
//! - `replay`: [`replay()`] rebuilds the core from a recording's metadata, feeds it every
//!   recorded input with its time and checks every output it produces against the recording,
//!   stopping at the first difference with the file, channel, message index and session time.
//!
//! docs/recording.md describes the format for people and for readers in other languages.

pub mod format;
pub mod replay;
pub mod writer;

pub use replay::{BuildIdentity, ReplayError, ReplayOutcome, ReplayedCore, replay};
pub use writer::{
    ConsoleRecorder, ConsoleTap, QueueTap, Recorder, RecorderConfig, RecorderError,
    RecordingSummary, StationRecorder, StationTap,
};

/// The cores a recording replays through, for callers that reach the recorder only.
pub use teleop;
