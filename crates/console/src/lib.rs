//! The console beside the surgeon: reads master poses from an input source (a scripted surgical
//! motion or a recorded CSV) at 1 kHz and runs the telesurgery session's console core (`teleop`)
//! over QUIC with a station; when the link drops it reconnects by itself with backoff, and every
//! new session starts disengaged. The console can ask; only the station's supervisor decides.
//! With a HIFU plan (`hifu`) the run carries out a remote HIFU procedure instead of arm motion.
//! With a page (`ui`) a person drives the master from a browser (`browser_input`) instead.

pub mod browser_input;
pub mod capture_pacer;
pub mod config;
pub mod hifu;
pub mod igtl;
pub mod input;
pub mod session;
pub mod ui;
pub mod video;

/// The page's video socket (`/ws/video`); the page server merges its router.
#[path = "ui/video_socket.rs"]
pub mod video_socket;

pub use config::ConsoleConfig;
pub use session::{ConsoleError, Controls, run};
pub use teleop::ConsoleReport;
