//! Builds the master-pose source named in the configuration, long enough for the run.

use crate::config::InputConfig;
use robot::script::{CsvReplay, MasterInput, SurgicalScript};
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Csv {
        path: PathBuf,
        source: robot::script::CsvError,
    },
    #[error("duration must be positive and finite, got {0}")]
    BadDuration(f64),
}

/// Repetitions are capped so a huge duration cannot exhaust memory.
const MAX_REPETITIONS: usize = 2_000;

/// The input, and how long to run it: `duration_s` if given (scripts are made long enough by
/// adding stitches or throws), else the input's own length.
pub fn build(
    config: &InputConfig,
    duration_s: Option<f64>,
) -> Result<(Box<dyn MasterInput + Send>, f64), InputError> {
    if let Some(d) = duration_s
        && !(d.is_finite() && d > 0.0)
    {
        return Err(InputError::BadDuration(d));
    }
    let input: Box<dyn MasterInput + Send> = match config {
        InputConfig::Suturing { seed } => Box::new(match duration_s {
            None => SurgicalScript::suturing(*seed),
            Some(d) => {
                let per = SurgicalScript::suturing_stitches(*seed, 1).duration_s();
                SurgicalScript::suturing_stitches(*seed, repetitions(d, per))
            }
        }),
        InputConfig::KnotTying { seed } => Box::new(match duration_s {
            None => SurgicalScript::knot_tying(*seed),
            Some(d) => {
                let per = SurgicalScript::knot_tying_throws(*seed, 1).duration_s();
                SurgicalScript::knot_tying_throws(*seed, repetitions(d, per))
            }
        }),
        InputConfig::Replay { csv } => {
            let file = std::fs::File::open(csv).map_err(|source| InputError::Io {
                path: csv.clone(),
                source,
            })?;
            let replay =
                CsvReplay::from_reader(std::io::BufReader::new(file)).map_err(|source| {
                    InputError::Csv {
                        path: csv.clone(),
                        source,
                    }
                })?;
            Box::new(replay)
        }
    };
    let length = input.duration_s();
    Ok((input, duration_s.map_or(length, |d| d.min(length))))
}

fn repetitions(duration_s: f64, per_repetition_s: f64) -> usize {
    if per_repetition_s > 0.0 {
        ((duration_s / per_repetition_s).ceil() as usize).clamp(1, MAX_REPETITIONS)
    } else {
        1
    }
}
