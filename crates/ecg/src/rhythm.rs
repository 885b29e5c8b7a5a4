//! Heart rate and rhythm flags from beat times: bradycardia, tachycardia, pause/asystole and
//! an irregular rhythm suggestive of atrial fibrillation.
//!
//! - Heart rate: 60 / median of the last 8 RR intervals (robust to one ectopic or missed beat);
//!   at least 4 RR intervals are needed.
//! - Bradycardia / tachycardia: heart rate below / above the configured limits (50 / 120 /min,
//!   the usual monitor alarm defaults).
//! - Pause: no beat for more than 3 s.
//! - Irregular (AF-like): over the last 32 RR intervals, the median absolute successive RR
//!   difference is at least 8 % of the median RR, and the turning-point ratio lies in
//!   0.45-0.85 (random-like, not the regular alternation of bigeminy or trigeminy).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RhythmConfig {
    pub bradycardia_bpm: f64,
    pub tachycardia_bpm: f64,
    pub pause_s: f64,
    pub rate_intervals: usize,
    pub irregularity_intervals: usize,
    pub irregularity_threshold: f64,
}

impl Default for RhythmConfig {
    fn default() -> Self {
        RhythmConfig {
            bradycardia_bpm: 50.0,
            tachycardia_bpm: 120.0,
            pause_s: 3.0,
            rate_intervals: 8,
            irregularity_intervals: 32,
            irregularity_threshold: 0.08,
        }
    }
}

/// Which rhythm conditions hold now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RhythmFlags {
    pub bradycardia: bool,
    pub tachycardia: bool,
    pub pause: bool,
    pub irregular: bool,
}

/// Keeps recent beats of one ECG lead and judges the rhythm from them.
#[derive(Debug, Clone)]
pub struct RhythmAnalyzer {
    sample_rate_hz: f64,
    config: RhythmConfig,
    beats: VecDeque<u64>,
    /// Start of the current observation: beats before it are ignored, pauses counted from it.
    since: u64,
}

const MIN_RATE_INTERVALS: usize = 4;

impl RhythmAnalyzer {
    pub fn new(sample_rate_hz: f64, config: RhythmConfig) -> Self {
        RhythmAnalyzer {
            sample_rate_hz,
            beats: VecDeque::with_capacity(config.irregularity_intervals + 2),
            config,
            since: 0,
        }
    }

    /// Forgets all beats; observation restarts at `sample`.
    pub fn reset(&mut self, sample: u64) {
        self.beats.clear();
        self.since = sample;
    }

    pub fn add_beat(&mut self, sample: u64) {
        if sample < self.since || self.beats.back().is_some_and(|&last| sample <= last) {
            return;
        }
        if self.beats.len() > self.config.irregularity_intervals {
            self.beats.pop_front();
        }
        self.beats.push_back(sample);
    }

    /// RR intervals in seconds, oldest first.
    fn intervals(&self) -> Vec<f64> {
        self.beats
            .iter()
            .zip(self.beats.iter().skip(1))
            .map(|(a, b)| (b - a) as f64 / self.sample_rate_hz)
            .collect()
    }

    /// Heart rate in beats per minute, once enough beats have been seen.
    pub fn heart_rate_bpm(&self) -> Option<f64> {
        let intervals = self.intervals();
        if intervals.len() < MIN_RATE_INTERVALS {
            return None;
        }
        let recent = &intervals[intervals.len().saturating_sub(self.config.rate_intervals)..];
        Some(60.0 / median(recent.to_vec()))
    }

    /// Median |ΔRR| / median RR over the irregularity window, with the turning-point ratio.
    pub fn irregularity(&self) -> Option<(f64, f64)> {
        let intervals = self.intervals();
        if intervals.len() < self.config.irregularity_intervals {
            return None;
        }
        let differences: Vec<f64> = intervals.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
        let turning = intervals
            .windows(3)
            .filter(|w| (w[1] > w[0] && w[1] > w[2]) || (w[1] < w[0] && w[1] < w[2]))
            .count();
        let ratio = turning as f64 / (intervals.len() - 2) as f64;
        Some((median(differences) / median(intervals), ratio))
    }

    /// The flags at sample `now` (which should lag the input by the detector's latency).
    pub fn flags(&self, now: u64) -> RhythmFlags {
        let rate = self.heart_rate_bpm();
        let last = self
            .beats
            .back()
            .copied()
            .unwrap_or(self.since)
            .max(self.since);
        let silent_s = now.saturating_sub(last) as f64 / self.sample_rate_hz;
        let irregular = self.irregularity().is_some_and(|(spread, turning)| {
            spread >= self.config.irregularity_threshold && (0.45..=0.85).contains(&turning)
        });
        RhythmFlags {
            bradycardia: rate.is_some_and(|r| r < self.config.bradycardia_bpm),
            tachycardia: rate.is_some_and(|r| r > self.config.tachycardia_bpm),
            pause: silent_s > self.config.pause_s,
            irregular,
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => 0.5 * (values[n / 2 - 1] + values[n / 2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyzer_with(beats_s: &[f64]) -> RhythmAnalyzer {
        let mut analyzer = RhythmAnalyzer::new(100.0, RhythmConfig::default());
        for t in beats_s {
            analyzer.add_beat((t * 100.0).round() as u64);
        }
        analyzer
    }

    #[test]
    fn bigeminy_is_not_called_atrial_fibrillation() {
        let mut t = 0.0;
        let beats: Vec<f64> = (0..60)
            .map(|k| {
                t += if k % 2 == 0 { 0.55 } else { 1.0 };
                t
            })
            .collect();
        let analyzer = analyzer_with(&beats);
        assert!(!analyzer.flags((t * 100.0) as u64).irregular);
    }

    #[test]
    fn heart_rate_ignores_one_ectopic_beat() {
        let mut beats: Vec<f64> = (0..10).map(|k| k as f64 * 0.8).collect();
        beats.insert(5, 3.6);
        let rate = analyzer_with(&beats).heart_rate_bpm().unwrap();
        assert!((rate - 75.0).abs() < 1.0, "{rate}");
    }
}
