//! ECG streams into the care hub, pure (no clock, no IO): decodes a chunk published on
//! `medlink/v1/ecg/{patient}/{device}/{lead}`, runs one `ecg::EcgMonitor` per (patient, device,
//! lead) and maps what the monitor reports onto what the hub already handles: heart-rate
//! measurements (stored, de-duplicated and scored like any vitals) and alert conditions for the
//! alert engine (acknowledge, escalate, snooze, resolve like every other rule).

use crate::topics::EcgStream;
use ecg::{
    ChunkError, ChunkOutcome, EcgAlert, EcgChunk, EcgChunkMessage, EcgEvent, EcgMonitor,
    MonitorConfig, QualityIssue,
};
use std::collections::HashMap;
use vitals::alerts::{Condition, Rule};
use vitals::payload::{Rejection, validate_id};
use vitals::reading_window::ReadingWindow;
use vitals::{Measurement, Vitals};

/// Largest ECG chunk payload accepted, in bytes (the hub's MQTT packet limit).
pub const MAX_ECG_PAYLOAD_BYTES: usize = 64 * 1024;
/// Heart rates derived while analysing chunk `seq` are stored as `seq << 16 | k` (k = 0, 1, ..).
const OBSERVATION_BITS: u32 = 16;
/// Highest chunk `seq` accepted, so that every derived sequence number fits the store.
pub const MAX_CHUNK_SEQ: u64 = (1 << (63 - OBSERVATION_BITS)) - 1;

/// Which ECG stream: one lead of one device on one patient.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamKey {
    pub patient: String,
    pub device: String,
    pub lead: String,
}

impl StreamKey {
    /// The device id its heart rates are stored under, `{device}.ecg.{lead}`.
    pub fn stream_device(&self) -> String {
        vitals::source::ecg_stream_device(&self.device, &self.lead)
    }

    /// The topic ids of this stream.
    pub fn topic(&self) -> EcgStream<'_> {
        EcgStream {
            patient: &self.patient,
            device: &self.device,
            lead: &self.lead,
        }
    }
}

/// A chunk that decoded, with the stream it belongs to.
#[derive(Debug, Clone)]
pub struct DecodedChunk {
    pub key: StreamKey,
    pub chunk: EcgChunk,
}

/// Decodes a chunk published on an ECG topic; every failure is a [`Rejection`] with a reason.
pub fn decode(stream: &EcgStream, payload: &[u8]) -> Result<DecodedChunk, Rejection> {
    validate_id("patient", stream.patient)?;
    validate_id("device", stream.device)?;
    validate_id("lead", stream.lead)?;
    let key = StreamKey {
        patient: stream.patient.to_string(),
        device: stream.device.to_string(),
        lead: stream.lead.to_string(),
    };
    validate_id("ecg stream ({device}.ecg.{lead})", &key.stream_device())?;
    if payload.len() > MAX_ECG_PAYLOAD_BYTES {
        return Err(Rejection::TooLarge(payload.len()));
    }
    let chunk = EcgChunkMessage::decode(payload).map_err(rejection)?;
    if chunk.sequence > MAX_CHUNK_SEQ {
        return Err(Rejection::OutOfRange {
            field: "seq",
            value: chunk.sequence as f64,
            min: 0.0,
            max: MAX_CHUNK_SEQ as f64,
        });
    }
    Ok(DecodedChunk { key, chunk })
}

/// The hub's rejection reasons for the ECG decoder's errors.
fn rejection(error: ChunkError) -> Rejection {
    let out_of_range = |field, value, min, max| Rejection::OutOfRange {
        field,
        value,
        min,
        max,
    };
    match error {
        ChunkError::Json(e) if e.is_data() => Rejection::Schema(e.to_string()),
        ChunkError::Json(e) => Rejection::NotJson(e.to_string()),
        ChunkError::Version(_) => Rejection::Schema(error.to_string()),
        ChunkError::SampleRate(fs) => out_of_range("fs", fs, 1.0, 100_000.0),
        ChunkError::Gain(gain) => out_of_range("gain", gain, 0.0, f64::INFINITY),
        ChunkError::Length(n) => out_of_range(
            "samples",
            n as f64,
            1.0,
            ecg::chunk::MAX_CHUNK_SAMPLES as f64,
        ),
    }
}

/// An alert to raise, update (`Some`) or resolve (`None`) in the alert engine.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertChange {
    pub rule: Rule,
    /// The ECG stream id, `{device}.ecg.{lead}`.
    pub subject: String,
    pub condition: Option<Condition>,
}

/// What one chunk produced.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub key: StreamKey,
    pub chunk_seq: u64,
    /// A redelivered or out-of-date chunk: analysed already, nothing new below.
    pub duplicate: bool,
    /// Heart rates, one measurement each, under the stream device id.
    pub heart_rates: Vec<Measurement>,
    pub alerts: Vec<AlertChange>,
    /// Chunks missing before this one (the monitor restarted its analysis).
    pub missed_chunks: u64,
    /// The chunk itself (its samples are drawn on the dashboard's ECG strip).
    pub chunk: EcgChunk,
}

impl Analysis {
    /// Keeps the heart rates stamped inside `window` at hub time `now` and returns the refusals
    /// of the others, so an ECG heart rate can no more freeze a patient's NEWS2 than any vital.
    pub fn keep_in_window(&mut self, window: &ReadingWindow, now: i64) -> Vec<Rejection> {
        let (accepted, refused) = window.split(std::mem::take(&mut self.heart_rates), now);
        self.heart_rates = accepted;
        refused
    }
}

/// One [`EcgMonitor`] per stream.
#[derive(Debug, Clone, Default)]
pub struct EcgStreams {
    config: MonitorConfig,
    monitors: HashMap<StreamKey, EcgMonitor>,
}

impl EcgStreams {
    pub fn new(config: MonitorConfig) -> Self {
        EcgStreams {
            config,
            monitors: HashMap::new(),
        }
    }

    /// Number of streams heard of.
    pub fn len(&self) -> usize {
        self.monitors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.monitors.is_empty()
    }

    /// Feeds a chunk to its stream's monitor and maps the monitor's events.
    pub fn analyse(&mut self, decoded: DecodedChunk) -> Analysis {
        let DecodedChunk { key, chunk } = decoded;
        let monitor = self
            .monitors
            .entry(key.clone())
            .or_insert_with(|| EcgMonitor::new(self.config.clone()));
        let duplicate = monitor.handle_chunk(&chunk) == ChunkOutcome::Duplicate;
        let mut analysis = Analysis {
            chunk_seq: chunk.sequence,
            duplicate,
            heart_rates: Vec::new(),
            alerts: Vec::new(),
            missed_chunks: 0,
            key,
            chunk,
        };
        let subject = analysis.key.stream_device();
        while let Some(event) = monitor.poll_event() {
            match event {
                EcgEvent::HeartRate { time_ms, bpm } => {
                    let index = analysis.heart_rates.len() as u64;
                    if index < 1 << OBSERVATION_BITS {
                        let seq = analysis.chunk_seq << OBSERVATION_BITS | index;
                        let m = heart_rate(&analysis.key, &subject, seq, time_ms, bpm);
                        analysis.heart_rates.push(m);
                    }
                }
                EcgEvent::Alert {
                    alert,
                    raised,
                    reason,
                    ..
                } => analysis.alerts.push(AlertChange {
                    rule: rule_of(alert),
                    subject: subject.clone(),
                    condition: raised
                        .then(|| condition(&analysis.key, alert, reason, &self.config)),
                }),
                EcgEvent::Gap { missed_chunks, .. } => analysis.missed_chunks += missed_chunks,
            }
        }
        analysis
    }
}

fn heart_rate(key: &StreamKey, stream: &str, seq: u64, time_ms: i64, bpm: f64) -> Measurement {
    Measurement {
        device: stream.to_string(),
        patient: key.patient.clone(),
        seq,
        time_ms,
        vitals: Vitals {
            heart_rate: Some((bpm * 10.0).round() / 10.0),
            ..Vitals::default()
        },
    }
}

/// The alert rule of each monitor alarm.
pub fn rule_of(alert: EcgAlert) -> Rule {
    match alert {
        EcgAlert::Bradycardia => Rule::Bradycardia,
        EcgAlert::Tachycardia => Rule::Tachycardia,
        EcgAlert::Pause => Rule::Pause,
        EcgAlert::IrregularRhythm => Rule::IrregularRhythm,
        EcgAlert::CheckElectrodes => Rule::CheckElectrodes,
    }
}

/// Severity 3 for a pause (possible asystole), 2 for a rate out of limits, 1 for an irregular
/// rhythm and for electrode trouble (someone must look, nobody is known to be in danger).
pub fn severity_of(alert: EcgAlert) -> u8 {
    match alert {
        EcgAlert::Pause => 3,
        EcgAlert::Bradycardia | EcgAlert::Tachycardia => 2,
        EcgAlert::IrregularRhythm | EcgAlert::CheckElectrodes => 1,
    }
}

fn issue_text(issue: Option<QualityIssue>) -> &'static str {
    match issue {
        Some(QualityIssue::LeadOff) => "lead off",
        Some(QualityIssue::FlatLine) => "flat line",
        Some(QualityIssue::Saturation) => "signal saturated",
        Some(QualityIssue::HeavyNoise) => "heavy noise",
        None => "signal unusable",
    }
}

fn condition(
    key: &StreamKey,
    alert: EcgAlert,
    reason: Option<QualityIssue>,
    config: &MonitorConfig,
) -> Condition {
    let rhythm = &config.rhythm;
    let what = match alert {
        EcgAlert::Bradycardia => format!(
            "bradycardia, heart rate under {} /min",
            rhythm.bradycardia_bpm
        ),
        EcgAlert::Tachycardia => format!(
            "tachycardia, heart rate over {} /min",
            rhythm.tachycardia_bpm
        ),
        EcgAlert::Pause => format!(
            "pause / asystole, no beat for more than {} s",
            rhythm.pause_s
        ),
        EcgAlert::IrregularRhythm => {
            "irregular rhythm suggestive of atrial fibrillation".to_string()
        }
        EcgAlert::CheckElectrodes => format!("check electrodes ({})", issue_text(reason)),
    };
    Condition {
        severity: severity_of(alert),
        message: format!("ECG {} lead {}: {what}", key.device, key.lead),
        patient: Some(key.patient.clone()),
    }
}

#[cfg(test)]
mod tests;
