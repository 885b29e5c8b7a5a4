//! Pure core of the care hub: vital signs, ingest payloads, NEWS2, alert rules and FHIR mapping.
//!
//! Nothing here reads a clock or does IO: every time is an argument (`now_ms`, milliseconds since
//! the Unix epoch), so the whole hub logic runs faster than real time in tests and replays exactly.

pub mod alerts;
pub mod fhir;
pub mod geo;
pub mod model;
pub mod news2;
pub mod payload;
pub mod reading_window;
pub mod reboot;
pub mod sim_patient;
pub mod source;
pub mod tracker;

pub use model::{Acvpu, Measurement, SpO2Scale, VitalKind, Vitals};
pub use news2::{News2, RiskBand};
