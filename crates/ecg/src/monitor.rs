//! `EcgMonitor`: turns incoming ECG chunks of one lead into heart-rate observations and
//! rhythm / signal-quality alerts. Pure: time is the chunks' own (first-sample time + rate).
//!
//! Shape: `handle_chunk(chunk)` in, `poll_event()` out. Rhythm alerts are judged at the end of
//! each quality window that the gate found good; a bad window raises "check electrodes",
//! clears any rhythm alert and restarts the rhythm observation, so electrode trouble never
//! shows up as an arrhythmia. Alerts are edge-triggered (raised once, cleared once).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::chunk::EcgChunk;
use crate::qrs::{DetectorConfig, QrsDetector};
use crate::quality::{Quality, QualityConfig, QualityGate, QualityIssue};
use crate::rhythm::{RhythmAnalyzer, RhythmConfig, RhythmFlags};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MonitorConfig {
    pub detector: DetectorConfig,
    pub rhythm: RhythmConfig,
    pub quality: QualityConfig,
    /// Seconds of signal between heart-rate observations (default 5).
    pub observation_period_s: Option<f64>,
}

/// The alarms the monitor can raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EcgAlert {
    Bradycardia,
    Tachycardia,
    Pause,
    IrregularRhythm,
    CheckElectrodes,
}

const RHYTHM_ALERTS: [EcgAlert; 4] = [
    EcgAlert::Bradycardia,
    EcgAlert::Tachycardia,
    EcgAlert::Pause,
    EcgAlert::IrregularRhythm,
];

/// What the monitor reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EcgEvent {
    HeartRate {
        time_ms: i64,
        bpm: f64,
    },
    Alert {
        time_ms: i64,
        alert: EcgAlert,
        raised: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<QualityIssue>,
    },
    /// Chunks went missing (or the rate changed): analysis restarted at `time_ms`.
    Gap {
        time_ms: i64,
        missed_chunks: u64,
    },
}

/// Result of offering a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkOutcome {
    Accepted,
    /// A repeat or an out-of-date chunk (QoS 1 redelivery): dropped.
    Duplicate,
}

/// The per-stream analysis state.
#[derive(Debug, Clone)]
struct Analysis {
    sample_rate_hz: f64,
    detector: QrsDetector,
    gate: QualityGate,
    rhythm: RhythmAnalyzer,
    /// Time of sample 0 of this analysis.
    origin_ms: i64,
    next_observation: u64,
    quality_good: bool,
}

/// Heart rate, rhythm and quality monitoring for one ECG lead of one device.
#[derive(Debug, Clone)]
pub struct EcgMonitor {
    config: MonitorConfig,
    analysis: Option<Analysis>,
    next_sequence: Option<u64>,
    active: Vec<EcgAlert>,
    events: VecDeque<EcgEvent>,
}

impl EcgMonitor {
    pub fn new(config: MonitorConfig) -> Self {
        EcgMonitor {
            config,
            analysis: None,
            next_sequence: None,
            active: Vec::new(),
            events: VecDeque::new(),
        }
    }

    /// Alerts raised and not yet cleared.
    pub fn active_alerts(&self) -> &[EcgAlert] {
        &self.active
    }

    pub fn poll_event(&mut self) -> Option<EcgEvent> {
        self.events.pop_front()
    }

    /// Feeds one chunk. Repeats are dropped; a gap in sequence numbers or a new sampling rate
    /// restarts the analysis from this chunk.
    pub fn handle_chunk(&mut self, chunk: &EcgChunk) -> ChunkOutcome {
        if let Some(expected) = self.next_sequence
            && chunk.sequence < expected
        {
            return ChunkOutcome::Duplicate;
        }
        let continuous = self.next_sequence == Some(chunk.sequence)
            && self
                .analysis
                .as_ref()
                .is_some_and(|a| a.sample_rate_hz == chunk.sample_rate_hz);
        if !continuous {
            if let (Some(expected), Some(_)) = (self.next_sequence, &self.analysis) {
                self.events.push_back(EcgEvent::Gap {
                    time_ms: chunk.first_sample_time_ms,
                    missed_chunks: chunk.sequence - expected,
                });
            }
            self.analysis = Some(self.start_analysis(chunk));
        }
        self.next_sequence = Some(chunk.sequence.saturating_add(1));
        for &sample in &chunk.samples_mv {
            self.push_sample(sample);
        }
        ChunkOutcome::Accepted
    }

    fn start_analysis(&self, chunk: &EcgChunk) -> Analysis {
        let rate = chunk.sample_rate_hz;
        Analysis {
            sample_rate_hz: rate,
            detector: QrsDetector::with_config(rate, self.config.detector.clone()),
            gate: QualityGate::new(rate, self.config.quality.clone()),
            rhythm: RhythmAnalyzer::new(rate, self.config.rhythm.clone()),
            origin_ms: chunk.first_sample_time_ms,
            next_observation: 0,
            quality_good: true,
        }
    }

    fn push_sample(&mut self, value: f32) {
        let Some(analysis) = self.analysis.as_mut() else {
            return;
        };
        let index = analysis.detector.samples_seen();
        analysis.detector.push(value);
        while let Some(beat) = analysis.detector.poll_beat() {
            if analysis.quality_good {
                analysis.rhythm.add_beat(beat.sample);
            }
        }
        if let Some(verdict) = analysis.gate.push(value) {
            self.judge_window(verdict, index + 1);
        }
    }

    fn judge_window(&mut self, verdict: Quality, now: u64) {
        let period_s = self.config.observation_period_s.unwrap_or(5.0);
        let Some(analysis) = self.analysis.as_mut() else {
            return;
        };
        let time_ms =
            analysis.origin_ms + (now as f64 * 1000.0 / analysis.sample_rate_hz).round() as i64;
        match verdict {
            Quality::Bad(issue) => {
                analysis.quality_good = false;
                analysis.rhythm.reset(now);
                self.set_rhythm_alerts(RhythmFlags::default(), time_ms);
                self.set_alert(EcgAlert::CheckElectrodes, true, time_ms, Some(issue));
            }
            Quality::Good if !analysis.quality_good => {
                analysis.quality_good = true;
                analysis.rhythm.reset(now);
                self.set_alert(EcgAlert::CheckElectrodes, false, time_ms, None);
            }
            Quality::Good => {
                let judged_up_to = now.saturating_sub(analysis.detector.latency_samples());
                let flags = analysis.rhythm.flags(judged_up_to);
                let rate = analysis.rhythm.heart_rate_bpm();
                let observation_due = now >= analysis.next_observation;
                if observation_due && let Some(bpm) = rate {
                    analysis.next_observation =
                        now + (period_s * analysis.sample_rate_hz).round() as u64;
                    self.events.push_back(EcgEvent::HeartRate { time_ms, bpm });
                }
                self.set_rhythm_alerts(flags, time_ms);
            }
        }
    }

    fn set_rhythm_alerts(&mut self, flags: RhythmFlags, time_ms: i64) {
        let wanted = [
            flags.bradycardia,
            flags.tachycardia,
            flags.pause,
            flags.irregular,
        ];
        for (alert, on) in RHYTHM_ALERTS.into_iter().zip(wanted) {
            self.set_alert(alert, on, time_ms, None);
        }
    }

    fn set_alert(&mut self, alert: EcgAlert, on: bool, time_ms: i64, reason: Option<QualityIssue>) {
        let was_on = self.active.contains(&alert);
        if on == was_on {
            return;
        }
        if on {
            self.active.push(alert);
        } else {
            self.active.retain(|a| *a != alert);
        }
        self.events.push_back(EcgEvent::Alert {
            time_ms,
            alert,
            raised: on,
            reason,
        });
    }
}
