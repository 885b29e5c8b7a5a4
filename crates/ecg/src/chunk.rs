//! ECG sample chunks as they arrive from a device, and their JSON wire form (the MQTT payload
//! proposed in docs/ecg.md), decoded with clear errors.

use serde::{Deserialize, Serialize};

/// Most samples one chunk may carry (about 1 minute at 1 kHz).
pub const MAX_CHUNK_SAMPLES: usize = 65_536;

/// A run of consecutive samples of one lead.
#[derive(Debug, Clone, PartialEq)]
pub struct EcgChunk {
    /// Per-device counter, +1 per chunk; gaps and repeats are detected with it.
    pub sequence: u64,
    /// Time of the first sample, milliseconds since the Unix epoch, on the device's clock.
    pub first_sample_time_ms: i64,
    pub sample_rate_hz: f64,
    /// Samples in mV; NaN marks a missing sample (lead off).
    pub samples_mv: Vec<f32>,
}

/// The JSON payload: `{"v":1,"seq":..,"t0_ms":..,"fs":..,"gain":..,"baseline":..,"samples":[..]}`.
/// Samples are integer ADC values; `null` marks a missing sample; mV = (adu - baseline) / gain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcgChunkMessage {
    pub v: u32,
    pub seq: u64,
    pub t0_ms: i64,
    pub fs: f64,
    pub gain: f64,
    #[serde(default)]
    pub baseline: i32,
    pub samples: Vec<Option<i32>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    #[error("ECG chunk is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("ECG chunk version {0} is not supported (expected 1)")]
    Version(u32),
    #[error("ECG chunk sampling rate {0} Hz is out of range (1 to 100000)")]
    SampleRate(f64),
    #[error("ECG chunk gain {0} is not a positive number")]
    Gain(f64),
    #[error("ECG chunk has {0} samples (1 to {MAX_CHUNK_SAMPLES} allowed)")]
    Length(usize),
}

impl EcgChunkMessage {
    /// Builds the wire form of a chunk from ADC values.
    pub fn from_adc(
        seq: u64,
        t0_ms: i64,
        fs: f64,
        gain: f64,
        baseline: i32,
        samples: Vec<Option<i32>>,
    ) -> Self {
        EcgChunkMessage {
            v: 1,
            seq,
            t0_ms,
            fs,
            gain,
            baseline,
            samples,
        }
    }

    /// The wire form of samples in mV as a device with this ADC `gain` (units per mV) and
    /// `baseline` sends them: rounded to whole ADC units, NaN (lead off) as `null`.
    pub fn from_mv(seq: u64, t0_ms: i64, fs: f64, gain: f64, baseline: i32, mv: &[f32]) -> Self {
        let adc = |v: &f32| {
            v.is_finite()
                .then(|| (f64::from(*v) * gain).round() as i32 + baseline)
        };
        Self::from_adc(seq, t0_ms, fs, gain, baseline, mv.iter().map(adc).collect())
    }

    /// Decodes and checks a JSON payload.
    pub fn decode(payload: &[u8]) -> Result<EcgChunk, ChunkError> {
        serde_json::from_slice::<EcgChunkMessage>(payload)?.into_chunk()
    }

    pub fn into_chunk(self) -> Result<EcgChunk, ChunkError> {
        if self.v != 1 {
            return Err(ChunkError::Version(self.v));
        }
        if !(self.fs.is_finite() && (1.0..=100_000.0).contains(&self.fs)) {
            return Err(ChunkError::SampleRate(self.fs));
        }
        if !(self.gain.is_finite() && self.gain > 0.0) {
            return Err(ChunkError::Gain(self.gain));
        }
        if self.samples.is_empty() || self.samples.len() > MAX_CHUNK_SAMPLES {
            return Err(ChunkError::Length(self.samples.len()));
        }
        let baseline = f64::from(self.baseline);
        let samples_mv = self
            .samples
            .iter()
            .map(|s| {
                s.map_or(f32::NAN, |adu| {
                    ((f64::from(adu) - baseline) / self.gain) as f32
                })
            })
            .collect();
        Ok(EcgChunk {
            sequence: self.seq,
            first_sample_time_ms: self.t0_ms,
            sample_rate_hz: self.fs,
            samples_mv,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_payload_and_marks_missing_samples() {
        let payload = br#"{"v":1,"seq":7,"t0_ms":1700000000000,"fs":360,"gain":200,"baseline":1024,"samples":[1024,1224,null]}"#;
        let chunk = EcgChunkMessage::decode(payload).unwrap();
        assert_eq!(chunk.sequence, 7);
        assert_eq!(&chunk.samples_mv[..2], &[0.0, 1.0]);
        assert!(chunk.samples_mv[2].is_nan());
    }

    #[test]
    fn millivolts_round_trip_through_adc_units() {
        let message = EcgChunkMessage::from_mv(3, 0, 360.0, 200.0, 1024, &[0.0, 1.0, f32::NAN]);
        assert_eq!(message.samples, vec![Some(1024), Some(1224), None]);
        let chunk = message.into_chunk().unwrap();
        assert_eq!(&chunk.samples_mv[..2], &[0.0, 1.0]);
        assert!(chunk.samples_mv[2].is_nan());
    }

    #[test]
    fn rejects_bad_payloads_with_reasons() {
        let cases: [&[u8]; 5] = [
            b"{",
            br#"{"v":2,"seq":0,"t0_ms":0,"fs":360,"gain":200,"samples":[1]}"#,
            br#"{"v":1,"seq":0,"t0_ms":0,"fs":0,"gain":200,"samples":[1]}"#,
            br#"{"v":1,"seq":0,"t0_ms":0,"fs":360,"gain":-1,"samples":[1]}"#,
            br#"{"v":1,"seq":0,"t0_ms":0,"fs":360,"gain":200,"samples":[]}"#,
        ];
        for case in cases {
            assert!(EcgChunkMessage::decode(case).is_err());
        }
    }
}
