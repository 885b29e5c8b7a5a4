//! Errors of the HIFU core: bad input volumes, plans and commands get a clear message, never a panic.

use thiserror::Error;

/// Everything that can go wrong when the HIFU core is handed outside input.
#[derive(Debug, Error, PartialEq)]
pub enum HifuError {
    #[error("invalid volume header: {0}")]
    VolumeHeader(String),
    #[error("volume data has {actual} bytes, the header promises {expected}")]
    VolumeSize { expected: usize, actual: usize },
    #[error("unknown tissue label {label} at voxel {index}")]
    UnknownLabel { label: u8, index: usize },
    #[error("invalid grid: {0}")]
    Grid(String),
    #[error("invalid plan: {0}")]
    Plan(String),
    #[error("spot {spot} does not exist (the plan has {count} spots)")]
    NoSuchSpot { spot: usize, count: usize },
    #[error("power {0} W is outside 0..={1} W")]
    Power(f64, f64),
    #[error("duration {0} s is not a positive finite number")]
    Duration(f64),
    #[error("the lesion mask is empty: nothing to plan")]
    EmptyLesion,
    #[error("refused by the HIFU supervisor: {0}")]
    Refused(&'static str),
}
