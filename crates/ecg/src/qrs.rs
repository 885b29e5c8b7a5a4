//! Streaming Pan-Tompkins QRS detector: one sample in at a time, beats out with a bounded delay.
//!
//! Pipeline (designed for any sampling rate): Butterworth band-pass (high-pass 5 Hz, low-pass
//! 15 Hz and 24 Hz, each second order), five-point
//! derivative, squaring, 150 ms moving-window integration, peak picking on the integrated signal,
//! adaptive signal/noise peak levels with two thresholds, a 200 ms refractory period, T-wave
//! rejection by slope up to 360 ms, and search-back for missed beats after 166 % of the mean RR.
//!
//! Delay: an ordinary beat is reported [`QrsDetector::latency_samples`] after its R peak
//! (about 0.3 s: filter group delay, the integration window and 100 ms of peak confirmation).
//! A beat recovered by search-back is reported at most 2.5 s plus that latency after the previous
//! beat. Beats in the first 2 s (threshold learning) are reported when learning ends.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::filter::{Biquad, Cascade, MovingSum};

/// Tunable constants of the detector; the defaults are the published Pan-Tompkins values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectorConfig {
    pub high_pass_hz: f64,
    pub low_pass_hz: f64,
    /// A second low-pass section: steeper roll-off against muscle noise.
    pub second_low_pass_hz: f64,
    pub integration_s: f64,
    pub refractory_s: f64,
    pub t_wave_window_s: f64,
    pub learning_s: f64,
    /// A local maximum of the integrated signal is final when nothing higher follows this soon.
    pub peak_confirm_s: f64,
    pub searchback_rr_factor: f64,
    /// Search-back looks back at most this long after a beat.
    pub searchback_max_s: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            high_pass_hz: 5.0,
            low_pass_hz: 15.0,
            second_low_pass_hz: 24.0,
            integration_s: 0.15,
            refractory_s: 0.2,
            t_wave_window_s: 0.36,
            learning_s: 2.0,
            peak_confirm_s: 0.1,
            searchback_rr_factor: 1.66,
            searchback_max_s: 2.5,
        }
    }
}

/// A detected beat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Beat {
    /// Sample index of the R peak (from the first sample fed in).
    pub sample: u64,
    /// Sample index at which the detector reported it.
    pub detected_at: u64,
    /// Found by search-back with the lower threshold.
    pub searchback: bool,
}

/// A peak of the integrated signal with what is needed to judge it later.
#[derive(Debug, Clone, Copy)]
struct Peak {
    index: u64,
    height: f32,
    slope: f32,
    fiducial: u64,
}

/// Sample counts derived from the configuration and the sampling rate.
#[derive(Debug, Clone)]
struct Timing {
    refractory: u64,
    t_wave: u64,
    learning: u64,
    confirm: u64,
    integration: u64,
    searchback_max: u64,
    default_rr: f64,
    filter_delay: u64,
    /// Half-width of the raw-signal window in which the R peak is placed.
    r_search: u64,
}

/// The streaming detector. Feed samples with [`push`](Self::push), take beats with
/// [`poll_beat`](Self::poll_beat).
#[derive(Debug, Clone)]
pub struct QrsDetector {
    config: DetectorConfig,
    timing: Timing,
    bandpass: Cascade,
    history: [f32; 4],
    integrator: MovingSum,
    /// Recent (band-passed, derivative, raw) values, for the QRS slope and the R-peak position.
    ring: Vec<(f32, f32, f32)>,
    ring_mask: usize,
    next_index: u64,
    /// The first valid sample: inputs are taken relative to it, so that a record starting away
    /// from zero does not hit the filters as a step (which looked like a beat at sample 0).
    origin: Option<f32>,
    last_input: f32,
    previous_integrated: f32,
    rising: bool,
    candidate: Option<(u64, f32)>,
    learning_max: f32,
    learning_sum: f64,
    learning_peaks: Option<Vec<Peak>>,
    signal_level: f32,
    noise_level: f32,
    last_beat: Option<Peak>,
    recent_rr: VecDeque<u64>,
    pending: Vec<Peak>,
    searchback_armed: bool,
    output: VecDeque<Beat>,
}

const RR_HISTORY: usize = 8;

impl QrsDetector {
    pub fn new(sample_rate_hz: f64) -> Self {
        Self::with_config(sample_rate_hz, DetectorConfig::default())
    }

    /// A detector for `sample_rate_hz` (clamped to 50 Hz .. 100 kHz).
    pub fn with_config(sample_rate_hz: f64, config: DetectorConfig) -> Self {
        let rate = if sample_rate_hz.is_finite() {
            sample_rate_hz.clamp(50.0, 100_000.0)
        } else {
            360.0
        };
        let samples = |seconds: f64| (seconds * rate).round().max(1.0) as u64;
        let bandpass = Cascade::new(vec![
            Biquad::high_pass(config.high_pass_hz, rate),
            Biquad::low_pass(config.low_pass_hz, rate),
            Biquad::low_pass(config.second_low_pass_hz, rate),
        ]);
        let centre = (config.high_pass_hz * config.low_pass_hz).sqrt();
        let filter_delay = bandpass.group_delay(centre, rate).max(0.0).round() as u64;
        let timing = Timing {
            refractory: samples(config.refractory_s),
            t_wave: samples(config.t_wave_window_s),
            learning: samples(config.learning_s),
            confirm: samples(config.peak_confirm_s),
            integration: samples(config.integration_s),
            searchback_max: samples(config.searchback_max_s),
            default_rr: rate,
            filter_delay,
            r_search: samples(0.06),
        };
        let reach = timing.confirm + timing.integration + timing.filter_delay + 2 * timing.r_search;
        let ring_len = (reach as usize + 16).next_power_of_two();
        QrsDetector {
            integrator: MovingSum::new(timing.integration as usize),
            timing,
            config,
            bandpass,
            history: [0.0; 4],
            ring: vec![(0.0, 0.0, 0.0); ring_len],
            ring_mask: ring_len - 1,
            next_index: 0,
            origin: None,
            last_input: 0.0,
            previous_integrated: 0.0,
            rising: false,
            candidate: None,
            learning_max: 0.0,
            learning_sum: 0.0,
            learning_peaks: Some(Vec::new()),
            signal_level: 0.0,
            noise_level: 0.0,
            last_beat: None,
            recent_rr: VecDeque::with_capacity(RR_HISTORY),
            pending: Vec::new(),
            searchback_armed: false,
            output: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// How many samples after its R peak an ordinary beat is reported.
    pub fn latency_samples(&self) -> u64 {
        self.timing.filter_delay + self.timing.integration + self.timing.confirm + 2
    }

    /// The latest a search-back beat can be reported, counted from the previous beat.
    pub fn worst_case_latency_samples(&self) -> u64 {
        self.timing.searchback_max + self.latency_samples()
    }

    /// Number of samples fed so far; the index the next sample gets.
    pub fn samples_seen(&self) -> u64 {
        self.next_index
    }

    /// The next reported beat, oldest first.
    pub fn poll_beat(&mut self) -> Option<Beat> {
        self.output.pop_front()
    }

    /// Feeds one sample (any unit; a NaN, i.e. a missing sample, repeats the previous value).
    ///
    /// The filters start as if the signal had stayed at its first valid sample forever: the
    /// band-pass removes a constant anyway, and the start of a record is not a step.
    pub fn push(&mut self, value: f32) {
        let value = if value.is_finite() {
            value - *self.origin.get_or_insert(value)
        } else {
            self.last_input
        };
        self.last_input = value;
        let index = self.next_index;
        self.next_index += 1;

        let filtered = self.bandpass.step(value);
        let [h1, h2, h3, h4] = self.history;
        let derivative = (2.0 * filtered + h1 - h3 - 2.0 * h4) * 0.125;
        self.history = [filtered, h1, h2, h3];
        self.ring[index as usize & self.ring_mask] = (filtered, derivative, value);
        let integrated = self.integrator.step(derivative * derivative);

        if self.learning_peaks.is_some() {
            self.learning_max = self.learning_max.max(integrated);
            self.learning_sum += f64::from(integrated);
        }
        if integrated > self.previous_integrated {
            self.rising = true;
        } else if self.rising {
            self.rising = false;
            self.offer_local_maximum(index - 1, self.previous_integrated);
        }
        self.previous_integrated = integrated;

        if let Some((peak_index, height)) = self.candidate
            && index - peak_index >= self.timing.confirm
        {
            self.candidate = None;
            let peak = self.measure_peak(peak_index, height);
            match &mut self.learning_peaks {
                Some(peaks) => peaks.push(peak),
                None => self.classify(peak, index),
            }
        }
        if index + 1 == self.timing.learning {
            self.finish_learning(index);
        }
        self.search_back_if_due(index);
    }

    fn offer_local_maximum(&mut self, index: u64, height: f32) {
        match self.candidate {
            Some((_, best)) if best >= height => {}
            _ => self.candidate = Some((index, height)),
        }
    }

    /// Finds the QRS slope and R-peak position behind an integrated-signal peak: the QRS is
    /// the strongest band-passed lobe under the integration window; the R peak is the largest
    /// deflection of the raw signal (either polarity) around it, after the filter delay.
    fn measure_peak(&self, index: u64, height: f32) -> Peak {
        let span = self.timing.integration + 2;
        let mut slope = 0.0f32;
        let mut strongest = (index, 0.0f32);
        for i in index.saturating_sub(span)..=index {
            let (filtered, derivative, _) = self.ring[i as usize & self.ring_mask];
            slope = slope.max(derivative.abs());
            if filtered.abs() > strongest.1 {
                strongest = (i, filtered.abs());
            }
        }
        let centre = strongest.0.saturating_sub(self.timing.filter_delay);
        let first = centre.saturating_sub(self.timing.r_search);
        let last = (centre + self.timing.r_search).min(index);
        let raw = |i: u64| self.ring[i as usize & self.ring_mask].2;
        let count = (last - first + 1) as f32;
        let level = (first..=last).map(raw).sum::<f32>() / count;
        let fiducial = (first..=last)
            .max_by(|&a, &b| (raw(a) - level).abs().total_cmp(&(raw(b) - level).abs()))
            .unwrap_or(centre);
        Peak {
            index,
            height,
            slope,
            fiducial,
        }
    }

    fn finish_learning(&mut self, now: u64) {
        let Some(peaks) = self.learning_peaks.take() else {
            return;
        };
        let mean = (self.learning_sum / self.timing.learning as f64) as f32;
        self.signal_level = self.learning_max / 3.0;
        self.noise_level = mean / 2.0;
        for peak in peaks {
            self.classify(peak, now);
        }
    }

    fn threshold(&self) -> f32 {
        self.noise_level + 0.25 * (self.signal_level - self.noise_level)
    }

    fn classify(&mut self, peak: Peak, now: u64) {
        if let Some(last) = self.last_beat
            && peak.index.saturating_sub(last.index) < self.timing.refractory
        {
            return;
        }
        if peak.height > self.threshold() && !self.is_t_wave(&peak) {
            self.accept(peak, now, false);
        } else {
            self.noise_level = 0.125 * peak.height + 0.875 * self.noise_level;
            if self.last_beat.is_some() {
                self.pending.push(peak);
                self.searchback_armed = true;
            }
        }
    }

    fn is_t_wave(&self, peak: &Peak) -> bool {
        self.last_beat.is_some_and(|last| {
            peak.index.saturating_sub(last.index) < self.timing.t_wave
                && peak.slope < 0.5 * last.slope
        })
    }

    fn accept(&mut self, peak: Peak, now: u64, searchback: bool) {
        let weight = if searchback { 0.25 } else { 0.125 };
        self.signal_level = weight * peak.height + (1.0 - weight) * self.signal_level;
        if let Some(last) = self.last_beat {
            if self.recent_rr.len() == RR_HISTORY {
                self.recent_rr.pop_front();
            }
            self.recent_rr
                .push_back(peak.fiducial.saturating_sub(last.fiducial));
        }
        self.last_beat = Some(peak);
        self.pending.retain(|p| p.index > peak.index);
        self.output.push_back(Beat {
            sample: peak.fiducial,
            detected_at: now,
            searchback,
        });
    }

    fn search_back_if_due(&mut self, now: u64) {
        let Some(last) = self.last_beat else {
            return;
        };
        if !self.searchback_armed {
            return;
        }
        let mean_rr = if self.recent_rr.is_empty() {
            self.timing.default_rr
        } else {
            self.recent_rr.iter().sum::<u64>() as f64 / self.recent_rr.len() as f64
        };
        let limit =
            ((self.config.searchback_rr_factor * mean_rr) as u64).min(self.timing.searchback_max);
        let settled = now.saturating_sub(self.timing.confirm);
        if settled.saturating_sub(last.index) <= limit {
            return;
        }
        self.searchback_armed = false;
        let lower = 0.5 * self.threshold();
        let best = self
            .pending
            .iter()
            .filter(|p| p.height > lower && !self.is_t_wave(p))
            .max_by(|a, b| a.height.total_cmp(&b.height))
            .copied();
        match best {
            Some(peak) => {
                self.accept(peak, now, true);
                self.searchback_armed = !self.pending.is_empty();
            }
            None => self.pending.clear(),
        }
    }
}

/// Runs a fresh detector over a whole signal and returns every beat.
pub fn detect_all(sample_rate_hz: f64, signal: &[f32]) -> Vec<Beat> {
    let mut detector = QrsDetector::new(sample_rate_hz);
    let mut beats = Vec::new();
    for &value in signal {
        detector.push(value);
        while let Some(beat) = detector.poll_beat() {
            beats.push(beat);
        }
    }
    beats
}
