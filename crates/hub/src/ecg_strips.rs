//! The live ECG strips the ward dashboard draws, pure (no clock, no IO): the last seconds of
//! each ECG stream's samples with the beats a QRS detector of its own found in them, read by
//! each dashboard client from its own cursor so that every client gets each sample once.

use ecg::{EcgChunk, QrsDetector};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// Seconds of signal kept per stream (what a client that connects late still gets).
pub const STRIP_SECONDS: f64 = 10.0;

/// One stream's recent signal. Samples are numbered from the first one of the stream's current
/// run (a new sampling rate or a gap in chunk numbers starts a new run with a new `run`).
#[derive(Debug, Clone)]
struct Strip {
    patient: String,
    run: u64,
    sample_rate_hz: f64,
    /// Device time of sample 0 of the run.
    origin_ms: i64,
    next_chunk: u64,
    detector: QrsDetector,
    /// Index of `samples[0]`.
    first_index: u64,
    samples: VecDeque<f32>,
    /// R-peak sample indices still inside the kept window, ascending.
    beats: VecDeque<u64>,
    /// Beats detected in the run so far (kept or not).
    beats_found: u64,
}

impl Strip {
    fn new(patient: &str, run: u64, chunk: &EcgChunk) -> Strip {
        Strip {
            patient: patient.to_string(),
            run,
            sample_rate_hz: chunk.sample_rate_hz,
            origin_ms: chunk.first_sample_time_ms,
            next_chunk: chunk.sequence,
            detector: QrsDetector::new(chunk.sample_rate_hz),
            first_index: 0,
            samples: VecDeque::new(),
            beats: VecDeque::new(),
            beats_found: 0,
        }
    }

    fn next_index(&self) -> u64 {
        self.first_index + self.samples.len() as u64
    }

    fn push(&mut self, chunk: &EcgChunk) {
        self.next_chunk = chunk.sequence.saturating_add(1);
        for &sample in &chunk.samples_mv {
            self.samples.push_back(sample);
            self.detector.push(sample);
        }
        while let Some(beat) = self.detector.poll_beat() {
            self.beats.push_back(beat.sample);
            self.beats_found += 1;
        }
        let keep = (STRIP_SECONDS * self.sample_rate_hz).ceil() as usize;
        while self.samples.len() > keep {
            self.samples.pop_front();
            self.first_index += 1;
        }
        while self.beats.front().is_some_and(|&b| b < self.first_index) {
            self.beats.pop_front();
        }
    }
}

/// Where a client has read a stream up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripCursor {
    run: u64,
    next_sample: u64,
    next_beat: u64,
}

/// New signal of one stream for one client.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StripUpdate {
    /// The stream, `{device}.ecg.{lead}`.
    pub stream: String,
    pub patient: String,
    /// Changes when the stream restarted (gap or new rate): the client drops what it drew.
    pub run: u64,
    pub sample_rate_hz: f64,
    /// Index of `samples_mv[0]` in the run, and its device time.
    pub first_index: u64,
    pub first_time_ms: i64,
    /// mV; `None` is a missing sample (lead off).
    pub samples_mv: Vec<Option<f32>>,
    /// R-peak indices in the run detected since the client's last read (they may lie before
    /// `first_index`: the detector reports a beat about 0.3 s after its peak).
    pub beats: Vec<u64>,
}

/// Every ECG stream's strip.
#[derive(Debug, Clone, Default)]
pub struct EcgStrips {
    strips: BTreeMap<String, Strip>,
    runs: u64,
}

impl EcgStrips {
    /// Adds a chunk of `stream` (of `patient`). A chunk out of order or at another rate starts
    /// a new run; a chunk older than the last one is ignored.
    pub fn push(&mut self, stream: &str, patient: &str, chunk: &EcgChunk) {
        let known = self.strips.get(stream).map(|s| {
            let continues =
                s.next_chunk == chunk.sequence && s.sample_rate_hz == chunk.sample_rate_hz;
            (continues, chunk.sequence < s.next_chunk)
        });
        match known {
            Some((_, true)) => return,
            Some((true, _)) => {}
            _ => {
                self.runs += 1;
                let strip = Strip::new(patient, self.runs, chunk);
                self.strips.insert(stream.to_string(), strip);
            }
        }
        if let Some(strip) = self.strips.get_mut(stream) {
            strip.push(chunk);
        }
    }

    /// What each stream has after `cursors` (a stream not in it, or restarted since: everything
    /// kept), and moves the cursors on. A stream with nothing new is left out.
    pub fn read(&self, cursors: &mut BTreeMap<String, StripCursor>) -> Vec<StripUpdate> {
        let mut updates = Vec::new();
        for (stream, strip) in &self.strips {
            let cursor = cursors
                .get(stream)
                .copied()
                .filter(|c| c.run == strip.run)
                .unwrap_or(StripCursor {
                    run: strip.run,
                    next_sample: 0,
                    next_beat: 0,
                });
            let end = StripCursor {
                run: strip.run,
                next_sample: strip.next_index(),
                next_beat: strip.beats_found,
            };
            if cursors.get(stream) == Some(&end) {
                continue;
            }
            let from = cursor.next_sample.max(strip.first_index);
            let samples_mv = strip
                .samples
                .iter()
                .skip((from - strip.first_index) as usize)
                .map(|&v| v.is_finite().then_some(v))
                .collect();
            let new_beats = (strip.beats_found - cursor.next_beat) as usize;
            let beats = strip.beats.iter().rev().take(new_beats).rev().copied();
            let first_time_ms =
                strip.origin_ms + (from as f64 * 1000.0 / strip.sample_rate_hz).round() as i64;
            updates.push(StripUpdate {
                stream: stream.clone(),
                patient: strip.patient.clone(),
                run: strip.run,
                sample_rate_hz: strip.sample_rate_hz,
                first_index: from,
                first_time_ms,
                samples_mv,
                beats: beats.collect(),
            });
            cursors.insert(stream.clone(), end);
        }
        updates
    }
}

#[cfg(test)]
mod tests;
