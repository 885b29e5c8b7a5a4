//! ECG core: WFDB records, streaming QRS detection, heart rate, rhythm flags, a signal-quality
//! gate and a monitor that turns sample chunks into observations and alerts.
//!
//! Pure: no clocks, no files, no sockets. Time is the signal's own (sample indices, or the
//! first-sample time a chunk carries).

pub mod chunk;
pub mod eval;
pub mod filter;
pub mod fuzzing;
pub mod monitor;
pub mod noise;
pub mod qrs;
pub mod quality;
pub mod rhythm;
pub mod rng;
pub mod synth;
pub mod wfdb;

pub use chunk::{ChunkError, EcgChunk, EcgChunkMessage};
pub use eval::{Comparison, compare};
pub use monitor::{ChunkOutcome, EcgAlert, EcgEvent, EcgMonitor, MonitorConfig};
pub use noise::NoiseKind;
pub use qrs::{Beat, DetectorConfig, QrsDetector, detect_all};
pub use quality::{Quality, QualityConfig, QualityGate, QualityIssue};
pub use rhythm::{RhythmAnalyzer, RhythmConfig, RhythmFlags};
