//! Replay of recorded master poses from CSV (format in docs/console-input.md): header
//! `t_s,x_m,y_m,z_m,qx,qy,qz,qw[,jaw_rad]`, rows strictly increasing in time, linear
//! interpolation of position and jaw and slerp of orientation between rows.
//!
//! Every bad row is reported with its 1-based line number; nothing here panics on any input.

use super::MasterInput;
use crate::geometry::{Pose, Quaternion, Vec3, lerp};
use std::io::{self, BufRead, BufReader, Read, Write};

/// The required header; `,jaw_rad` may follow.
pub const CSV_HEADER: &str = "t_s,x_m,y_m,z_m,qx,qy,qz,qw";
const JAW_COLUMN: &str = "jaw_rad";
const COLUMNS: [&str; 9] = [
    "t_s", "x_m", "y_m", "z_m", "qx", "qy", "qz", "qw", JAW_COLUMN,
];
/// Largest magnitude accepted per column (seconds, metres, quaternion units, radians): anything
/// bigger is a corrupt row, and keeping values sane keeps interpolation finite.
const COLUMN_LIMITS: [f64; 9] = [1e6, 10.0, 10.0, 10.0, 2.0, 2.0, 2.0, 2.0, 10.0];
/// A quaternion whose norm differs from 1 by more than this is refused (others are normalised).
pub const QUATERNION_NORM_TOLERANCE: f64 = 1e-3;

/// What is wrong with a CSV of master poses.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("line {line}: cannot read: {source}")]
    Read { line: usize, source: io::Error },
    #[error("no header: expected `{CSV_HEADER}` (optionally `,{JAW_COLUMN}`)")]
    MissingHeader,
    #[error(
        "line {line}: header must be `{CSV_HEADER}` (optionally `,{JAW_COLUMN}`), found `{found}`"
    )]
    BadHeader { line: usize, found: String },
    #[error("line {line}: expected {expected} fields, found {found}")]
    FieldCount {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("line {line}: {column} is not a number: `{text}`")]
    NotANumber {
        line: usize,
        column: &'static str,
        text: String,
    },
    #[error("line {line}: {column} is not finite")]
    NotFinite { line: usize, column: &'static str },
    #[error("line {line}: {column} = {value} is out of range (magnitude at most {limit})")]
    OutOfRange {
        line: usize,
        column: &'static str,
        value: f64,
        limit: f64,
    },
    #[error("line {line}: time {t_s} s does not come after the previous row's {previous_s} s")]
    TimeNotIncreasing {
        line: usize,
        t_s: f64,
        previous_s: f64,
    },
    #[error("line {line}: quaternion norm {norm} is not 1 (tolerance {QUATERNION_NORM_TOLERANCE})")]
    NonUnitQuaternion { line: usize, norm: f64 },
    #[error("no data rows after the header")]
    NoRows,
}

/// One recorded master sample.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    t_s: f64,
    position: Vec3,
    orientation: Quaternion,
    jaw_rad: f64,
}

/// Recorded master poses, replayed with interpolation. Time 0 is the first row's time.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvReplay {
    samples: Vec<Sample>,
    has_jaw: bool,
}

/// True for lines that carry no data: blank, or a `#` comment.
fn is_skipped(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.is_empty() || trimmed.starts_with('#')
}

fn parse_header(line_number: usize, line: &str) -> Result<bool, CsvError> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let bad = || CsvError::BadHeader {
        line: line_number,
        found: line.trim().chars().take(200).collect(),
    };
    let has_jaw = match fields.len() {
        8 => false,
        9 => true,
        _ => return Err(bad()),
    };
    if fields
        .iter()
        .zip(COLUMNS)
        .all(|(found, expected)| *found == expected)
    {
        Ok(has_jaw)
    } else {
        Err(bad())
    }
}

fn parse_row(line_number: usize, line: &str, has_jaw: bool) -> Result<Sample, CsvError> {
    let expected = if has_jaw { 9 } else { 8 };
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    if fields.len() != expected {
        return Err(CsvError::FieldCount {
            line: line_number,
            expected,
            found: fields.len(),
        });
    }
    let mut values = [0.0; 9];
    for (((value, text), column), limit) in values
        .iter_mut()
        .zip(&fields)
        .zip(COLUMNS)
        .zip(COLUMN_LIMITS)
    {
        *value = text.parse::<f64>().map_err(|_| CsvError::NotANumber {
            line: line_number,
            column,
            text: text.chars().take(40).collect(),
        })?;
        if !value.is_finite() {
            return Err(CsvError::NotFinite {
                line: line_number,
                column,
            });
        }
        if value.abs() > limit {
            return Err(CsvError::OutOfRange {
                line: line_number,
                column,
                value: *value,
                limit,
            });
        }
    }
    let [t_s, x, y, z, qx, qy, qz, qw, jaw_rad] = values;
    let orientation = Quaternion {
        w: qw,
        x: qx,
        y: qy,
        z: qz,
    };
    let norm = orientation.norm();
    if (norm - 1.0).abs() > QUATERNION_NORM_TOLERANCE {
        return Err(CsvError::NonUnitQuaternion {
            line: line_number,
            norm,
        });
    }
    Ok(Sample {
        t_s,
        position: [x, y, z],
        orientation: orientation.normalized(),
        jaw_rad,
    })
}

impl CsvReplay {
    /// Reads and checks a whole CSV of master poses.
    pub fn from_reader<R: Read>(reader: R) -> Result<CsvReplay, CsvError> {
        let mut has_jaw = None;
        let mut samples: Vec<Sample> = Vec::new();
        for (index, line) in BufReader::new(reader).lines().enumerate() {
            let line_number = index + 1;
            let line = line.map_err(|source| CsvError::Read {
                line: line_number,
                source,
            })?;
            if is_skipped(&line) {
                continue;
            }
            let Some(has_jaw) = has_jaw else {
                has_jaw = Some(parse_header(line_number, &line)?);
                continue;
            };
            let sample = parse_row(line_number, &line, has_jaw)?;
            if let Some(previous) = samples.last()
                && sample.t_s <= previous.t_s
            {
                return Err(CsvError::TimeNotIncreasing {
                    line: line_number,
                    t_s: sample.t_s,
                    previous_s: previous.t_s,
                });
            }
            samples.push(sample);
        }
        let has_jaw = has_jaw.ok_or(CsvError::MissingHeader)?;
        if samples.is_empty() {
            return Err(CsvError::NoRows);
        }
        Ok(CsvReplay { samples, has_jaw })
    }

    /// Number of recorded rows.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Always false: a replay has at least one row.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// True when the file had the `jaw_rad` column.
    pub fn has_jaw(&self) -> bool {
        self.has_jaw
    }

    /// The two rows around `t_s` (from the start) and the fraction of the way between them.
    fn bracket(&self, t_s: f64) -> Option<(&Sample, &Sample, f64)> {
        let first = self.samples.first()?;
        if !(0.0..=self.duration_s()).contains(&t_s) {
            return None;
        }
        let t_file = first.t_s + t_s;
        let after = self.samples.partition_point(|s| s.t_s <= t_file);
        let before = &self.samples[after.saturating_sub(1)];
        let Some(next) = self.samples.get(after) else {
            return Some((before, before, 0.0));
        };
        let fraction = ((t_file - before.t_s) / (next.t_s - before.t_s)).clamp(0.0, 1.0);
        Some((before, next, fraction))
    }
}

impl MasterInput for CsvReplay {
    fn pose_at(&self, t_s: f64) -> Option<Pose> {
        let (a, b, s) = self.bracket(t_s)?;
        Some(Pose {
            position: lerp(a.position, b.position, s),
            rotation: a.orientation.slerp(&b.orientation, s).to_rotation(),
        })
    }

    fn jaw_at(&self, t_s: f64) -> Option<f64> {
        if !self.has_jaw {
            return None;
        }
        let (a, b, s) = self.bracket(t_s)?;
        Some(a.jaw_rad + (b.jaw_rad - a.jaw_rad) * s)
    }

    fn duration_s(&self) -> f64 {
        match (self.samples.first(), self.samples.last()) {
            (Some(first), Some(last)) => last.t_s - first.t_s,
            _ => 0.0,
        }
    }
}

/// Writes `input` sampled at `rate_hz` (from 0 to its duration) as CSV with the jaw column.
pub fn write_csv(input: &impl MasterInput, rate_hz: f64, mut out: impl Write) -> io::Result<()> {
    writeln!(out, "{CSV_HEADER},{JAW_COLUMN}")?;
    let rows = (input.duration_s() * rate_hz).floor() as u64;
    for i in 0..=rows {
        let t_s = i as f64 / rate_hz;
        let Some(pose) = input.pose_at(t_s) else {
            continue;
        };
        let q = pose.quaternion();
        let [x, y, z] = pose.position;
        let jaw = input.jaw_at(t_s).unwrap_or(0.0);
        writeln!(
            out,
            "{t_s:.4},{x:.9},{y:.9},{z:.9},{:.9},{:.9},{:.9},{:.9},{jaw:.6}",
            q.x, q.y, q.z, q.w
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
