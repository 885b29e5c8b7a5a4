//! WFDB header (`.hea`) parsing and writing: the record line and one line per signal.

use super::{SignalFormat, WfdbError};

/// Sampling frequency WFDB assumes when a header gives none.
const DEFAULT_FREQUENCY_HZ: f64 = 250.0;
/// Gain WFDB assumes when a header gives none (or zero), in ADC units per physical unit.
const DEFAULT_GAIN: f64 = 200.0;

/// One signal line of a header.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalSpec {
    pub file_name: String,
    pub format: SignalFormat,
    /// ADC units per physical unit.
    pub gain: f64,
    /// ADC value that corresponds to zero physical units.
    pub baseline: i32,
    pub units: String,
    pub adc_resolution: u32,
    pub adc_zero: i32,
    pub initial_value: i32,
    pub checksum: i16,
    pub block_size: u32,
    pub description: String,
}

impl SignalSpec {
    /// Converts a stored sample to physical units; a missing sample becomes NaN.
    pub fn to_physical(&self, adu: i32) -> f32 {
        if Some(adu) == self.format.invalid_sample() {
            f32::NAN
        } else {
            ((f64::from(adu) - f64::from(self.baseline)) / self.gain) as f32
        }
    }

    /// Converts a physical value back to the nearest storable sample (clipped; NaN → missing,
    /// or the baseline in format 8, which has no missing-sample marker).
    pub fn to_adu(&self, physical: f32) -> i32 {
        if physical.is_nan() {
            return self.format.invalid_sample().unwrap_or(self.baseline);
        }
        let (low, high) = self.format.sample_range();
        let adu = (f64::from(physical) * self.gain + f64::from(self.baseline)).round();
        adu.clamp(f64::from(low), f64::from(high)) as i32
    }

    /// The largest magnitude, in physical units, the ADC can represent around the baseline.
    pub fn saturation_level(&self) -> f32 {
        let half = f64::from(1u32 << (self.adc_resolution.clamp(2, 32) - 1));
        let top = f64::from(self.adc_zero) + half - 1.0 - f64::from(self.baseline);
        let bottom = f64::from(self.baseline) - (f64::from(self.adc_zero) - half);
        (top.min(bottom) / self.gain) as f32
    }
}

/// A parsed single-segment WFDB header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub record_name: String,
    pub sampling_frequency: f64,
    /// Samples per signal, when the header states it.
    pub samples_per_signal: Option<u64>,
    pub signals: Vec<SignalSpec>,
    /// `#` comment lines, without the leading `#`.
    pub comments: Vec<String>,
}

impl Header {
    /// Parses header text. Comment lines and blank lines are skipped wherever they are.
    pub fn parse(text: &str) -> Result<Self, WfdbError> {
        let mut comments = Vec::new();
        let mut lines = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let trimmed = raw.trim();
            if let Some(comment) = trimmed.strip_prefix('#') {
                comments.push(comment.trim().to_string());
            } else if !trimmed.is_empty() {
                lines.push((index + 1, trimmed));
            }
        }
        let Some(&(record_line, record)) = lines.first() else {
            return Err(WfdbError::MissingRecordLine);
        };
        let mut header = parse_record_line(record, record_line)?;
        header.comments = comments;
        let expected = header.signals.capacity();
        let signal_lines = &lines[1..];
        if signal_lines.len() < expected {
            return Err(WfdbError::MissingSignalLines {
                expected,
                found: signal_lines.len(),
            });
        }
        for &(line, text) in signal_lines.iter().take(expected) {
            header.signals.push(parse_signal_line(text, line)?);
        }
        if let Some(first) = header.signals.first() {
            let shared_file = header
                .signals
                .iter()
                .all(|s| s.file_name == first.file_name && s.format == first.format);
            if !shared_file {
                return Err(WfdbError::MixedSignalFiles);
            }
        }
        Ok(header)
    }

    /// Parses header bytes, which must be UTF-8 (WFDB headers are ASCII).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, WfdbError> {
        let text = std::str::from_utf8(bytes).map_err(|e| WfdbError::NotText {
            offset: e.valid_up_to(),
        })?;
        Self::parse(text)
    }

    /// Writes the header back as WFDB text.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{} {} {}",
            self.record_name,
            self.signals.len(),
            self.sampling_frequency
        );
        if let Some(samples) = self.samples_per_signal {
            text.push_str(&format!(" {samples}"));
        }
        text.push('\n');
        for s in &self.signals {
            text.push_str(&format!(
                "{} {} {}({})/{} {} {} {} {} {} {}\n",
                s.file_name,
                s.format.code(),
                s.gain,
                s.baseline,
                s.units,
                s.adc_resolution,
                s.adc_zero,
                s.initial_value,
                s.checksum,
                s.block_size,
                s.description
            ));
        }
        for comment in &self.comments {
            text.push_str(&format!("# {comment}\n"));
        }
        text
    }
}

fn parse_record_line(text: &str, line: usize) -> Result<Header, WfdbError> {
    let mut fields = text.split_whitespace();
    let name = fields.next().ok_or(WfdbError::MissingRecordLine)?;
    if name.contains('/') {
        return Err(WfdbError::MultiSegment);
    }
    let signal_count: usize = parse_field(fields.next(), "number of signals", line)?;
    if signal_count == 0 || signal_count > 64 {
        return Err(bad_field(
            line,
            "number of signals",
            &signal_count.to_string(),
            "is not between 1 and 64",
        ));
    }
    let sampling_frequency = match fields.next() {
        None => DEFAULT_FREQUENCY_HZ,
        Some(field) => {
            let frequency = field.split(['/', '(']).next().unwrap_or(field);
            let value: f64 = parse_field(Some(frequency), "sampling frequency", line)?;
            if !(value.is_finite() && value > 0.0 && value <= 1.0e6) {
                return Err(bad_field(
                    line,
                    "sampling frequency",
                    field,
                    "is not a positive frequency up to 1 MHz",
                ));
            }
            value
        }
    };
    let samples_per_signal = match fields.next() {
        None => None,
        Some(field) => Some(parse_field(Some(field), "samples per signal", line)?),
    };
    Ok(Header {
        record_name: name.to_string(),
        sampling_frequency,
        samples_per_signal,
        signals: Vec::with_capacity(signal_count),
        comments: Vec::new(),
    })
}

fn parse_signal_line(text: &str, line: usize) -> Result<SignalSpec, WfdbError> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let file_name = fields
        .first()
        .ok_or_else(|| missing_field(line, "file name"))?
        .to_string();
    let format_field = fields.get(1).ok_or_else(|| missing_field(line, "format"))?;
    let format = SignalFormat::from_code(format_field, line)?;
    let (gain, baseline, units) = match fields.get(2) {
        Some(field) => parse_gain(field, line)?,
        None => (DEFAULT_GAIN, None, "mV".to_string()),
    };
    let adc_resolution = match fields.get(3) {
        Some(&field) => match parse_field::<u32>(Some(field), "ADC resolution", line)? {
            0 => format.bits(),
            bits if bits <= 32 => bits,
            _ => {
                return Err(bad_field(
                    line,
                    "ADC resolution",
                    field,
                    "is more than 32 bits",
                ));
            }
        },
        None => format.bits(),
    };
    let adc_zero = optional_field(fields.get(4), "ADC zero", line)?.unwrap_or(0);
    let initial_value = optional_field(fields.get(5), "initial value", line)?.unwrap_or(0);
    let checksum = match fields.get(6) {
        Some(&field) => parse_checksum(field, line)?,
        None => 0,
    };
    let block_size = optional_field(fields.get(7), "block size", line)?.unwrap_or(0);
    let description = fields
        .get(8..)
        .map(|rest| rest.join(" "))
        .unwrap_or_default();
    Ok(SignalSpec {
        file_name,
        format,
        gain,
        baseline: baseline.unwrap_or(adc_zero),
        units,
        adc_resolution,
        adc_zero,
        initial_value,
        checksum,
        block_size,
        description,
    })
}

/// Parses `gain[(baseline)][/units]`.
fn parse_gain(field: &str, line: usize) -> Result<(f64, Option<i32>, String), WfdbError> {
    let (value, units) = match field.split_once('/') {
        Some((value, units)) => (value, units.to_string()),
        None => (field, "mV".to_string()),
    };
    let (gain_text, baseline) = match value.split_once('(') {
        Some((gain, rest)) => {
            let inner = rest
                .strip_suffix(')')
                .ok_or_else(|| bad_field(line, "baseline", field, "has no closing ')'"))?;
            (gain, Some(parse_field(Some(inner), "baseline", line)?))
        }
        None => (value, None),
    };
    let gain: f64 = parse_field(Some(gain_text), "gain", line)?;
    if !gain.is_finite() || gain < 0.0 {
        return Err(bad_field(
            line,
            "gain",
            field,
            "is not a finite, non-negative number",
        ));
    }
    let gain = if gain == 0.0 { DEFAULT_GAIN } else { gain };
    Ok((gain, baseline, units))
}

fn optional_field<T: std::str::FromStr>(
    field: Option<&&str>,
    name: &'static str,
    line: usize,
) -> Result<Option<T>, WfdbError> {
    field
        .map(|text| parse_field(Some(text), name, line))
        .transpose()
}

fn parse_field<T: std::str::FromStr>(
    field: Option<&str>,
    name: &'static str,
    line: usize,
) -> Result<T, WfdbError> {
    let text = field.ok_or_else(|| missing_field(line, name))?;
    text.parse()
        .map_err(|_| bad_field(line, name, text, "is not a number of the expected kind"))
}

/// Reads a checksum. WFDB checksums are 16-bit: the WFDB library writes them signed, other
/// writers (wfdb-python) unsigned, so both ranges are accepted and the value is kept modulo 2^16.
fn parse_checksum(field: &str, line: usize) -> Result<i16, WfdbError> {
    let value: i64 = field
        .parse()
        .map_err(|_| bad_field(line, "checksum", field, "is not a whole number"))?;
    if !(-32_768..=65_535).contains(&value) {
        return Err(bad_field(
            line,
            "checksum",
            field,
            "is not a 16-bit value (-32768 to 65535)",
        ));
    }
    Ok(value.rem_euclid(65_536) as u16 as i16)
}

fn bad_field(line: usize, field: &'static str, value: &str, problem: &'static str) -> WfdbError {
    WfdbError::BadField {
        line,
        field,
        value: value.chars().take(40).collect(),
        problem,
    }
}

fn missing_field(line: usize, field: &'static str) -> WfdbError {
    WfdbError::MissingField { line, field }
}

#[cfg(test)]
#[path = "header_tests.rs"]
mod tests;
