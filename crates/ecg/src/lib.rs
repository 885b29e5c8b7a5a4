//! ECG core: WFDB records, streaming QRS detection, heart rate, rhythm flags, a signal-quality
//! gate and a monitor that turns sample chunks into observations and alerts.
//!
//! Pure: no clocks, no files, no sockets. Time is the signal's own (sample indices, or the
//! first-sample time a chunk carries).

pub mod eval;
pub mod filter;
pub mod qrs;
pub mod wfdb;

pub use eval::{Comparison, compare};
pub use qrs::{Beat, DetectorConfig, QrsDetector, detect_all};
