//! Signal-quality gate: judges each window of raw ECG (in mV) as usable or as an electrode
//! problem (lead off, flat line, saturation, heavy noise), so a bad signal raises "check
//! electrodes" instead of a false arrhythmia alarm.
//!
//! Checks, in order, on non-overlapping windows (2 s by default):
//! - lead off: at least 20 % of the samples are missing (NaN: the device's lead-off marker or
//!   WFDB's invalid sample);
//! - saturation: at least 5 % of the samples sit at the ADC limit;
//! - flat line: peak-to-peak below 20 µV (a disconnected or stuck amplifier; a real asystole
//!   still carries tens of µV of noise and baseline movement);
//! - heavy noise: measured against the typical QRS-band (5-25 Hz) peak-to-peak of recent good
//!   windows (the window's own until one is known): the robust high-frequency noise level (MAD
//!   of the first difference) is above 30 % of it, or the QRS band is busy between the beats
//!   (75th percentile of |band| above 7 % of it: muscle or motion noise in the QRS band), or
//!   the raw peak-to-peak exceeds 3 times the typical amplitude (motion, electrode pops).

use serde::{Deserialize, Serialize};

use crate::filter::{Biquad, Cascade};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualityConfig {
    pub window_s: f64,
    pub lead_off_fraction: f64,
    /// Magnitude (mV from baseline) at which the ADC saturates; `None` disables the check.
    pub saturation_mv: Option<f32>,
    pub saturation_fraction: f64,
    pub flat_peak_to_peak_mv: f32,
    pub noise_ratio: f32,
    pub band_noise_ratio: f32,
    pub amplitude_jump_factor: f32,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            window_s: 2.0,
            lead_off_fraction: 0.2,
            saturation_mv: Some(5.0),
            saturation_fraction: 0.05,
            flat_peak_to_peak_mv: 0.02,
            noise_ratio: 0.3,
            band_noise_ratio: 0.07,
            amplitude_jump_factor: 3.0,
        }
    }
}

/// Why a window of signal is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityIssue {
    LeadOff,
    FlatLine,
    Saturation,
    HeavyNoise,
}

/// The verdict on one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Quality {
    Good,
    Bad(QualityIssue),
}

/// Collects samples into windows and judges each full window.
#[derive(Debug, Clone)]
pub struct QualityGate {
    config: QualityConfig,
    window: Vec<f32>,
    band: Vec<f32>,
    window_len: usize,
    qrs_band: Cascade,
    /// Learnt from good windows: raw peak-to-peak and QRS-band peak-to-peak.
    typical_peak_to_peak: Option<f32>,
    typical_band_peak_to_peak: Option<f32>,
}

impl QualityGate {
    pub fn new(sample_rate_hz: f64, config: QualityConfig) -> Self {
        let window_len = (config.window_s * sample_rate_hz).round().max(8.0) as usize;
        QualityGate {
            window: Vec::with_capacity(window_len),
            band: Vec::with_capacity(window_len),
            window_len,
            qrs_band: Cascade::new(vec![
                Biquad::high_pass(5.0, sample_rate_hz),
                Biquad::low_pass(25.0, sample_rate_hz),
            ]),
            typical_peak_to_peak: None,
            typical_band_peak_to_peak: None,
            config,
        }
    }

    /// Window length in samples.
    pub fn window_len(&self) -> usize {
        self.window_len
    }

    /// Adds one sample (mV, NaN = missing); returns the verdict when a window completes.
    pub fn push(&mut self, value: f32) -> Option<Quality> {
        let held = if value.is_finite() {
            value
        } else {
            self.window
                .iter()
                .rev()
                .copied()
                .find(|v| v.is_finite())
                .unwrap_or(0.0)
        };
        self.band.push(self.qrs_band.step(held));
        self.window.push(value);
        if self.window.len() < self.window_len {
            return None;
        }
        let verdict = self.judge();
        self.window.clear();
        self.band.clear();
        Some(verdict)
    }

    fn judge(&mut self) -> Quality {
        let total = self.window.len() as f64;
        let valid: Vec<f32> = self
            .window
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        if (total - valid.len() as f64) / total >= self.config.lead_off_fraction {
            return Quality::Bad(QualityIssue::LeadOff);
        }
        if let Some(limit) = self.config.saturation_mv {
            let clipped = valid.iter().filter(|v| v.abs() >= limit * 0.995).count();
            if clipped as f64 / total >= self.config.saturation_fraction {
                return Quality::Bad(QualityIssue::Saturation);
            }
        }
        let peak_to_peak = spread(&valid);
        if peak_to_peak < self.config.flat_peak_to_peak_mv {
            return Quality::Bad(QualityIssue::FlatLine);
        }
        let mut steps: Vec<f32> = valid.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
        let noise = 1.4826 * median(&mut steps) / std::f32::consts::SQRT_2;
        let band_peak_to_peak = spread(&self.band);
        // Noise is weighed against the QRS amplitude learnt from good windows, so a window
        // without any QRS (an asystole) is not mistaken for a noisy one.
        let reference = self.typical_band_peak_to_peak.unwrap_or(band_peak_to_peak);
        let mut band_magnitudes: Vec<f32> = self.band.iter().map(|v| v.abs()).collect();
        let band_level = percentile(&mut band_magnitudes, 0.75);
        if noise > self.config.noise_ratio * reference
            || band_level > self.config.band_noise_ratio * reference
        {
            return Quality::Bad(QualityIssue::HeavyNoise);
        }
        let jumped = self
            .typical_peak_to_peak
            .is_some_and(|typical| peak_to_peak > self.config.amplitude_jump_factor * typical);
        // A lasting change of amplitude (a new electrode position) is learnt within a few
        // windows; a short burst is not.
        let weight = if jumped { 0.1 } else { 0.2 };
        learn(&mut self.typical_peak_to_peak, peak_to_peak, weight);
        learn(
            &mut self.typical_band_peak_to_peak,
            band_peak_to_peak,
            weight,
        );
        if jumped {
            Quality::Bad(QualityIssue::HeavyNoise)
        } else {
            Quality::Good
        }
    }
}

fn learn(typical: &mut Option<f32>, value: f32, weight: f32) {
    *typical = Some(match *typical {
        Some(old) => (1.0 - weight) * old + weight * value,
        None => value,
    });
}

fn spread(values: &[f32]) -> f32 {
    let (low, high) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if high >= low { high - low } else { 0.0 }
}

fn median(values: &mut [f32]) -> f32 {
    percentile(values, 0.5)
}

fn percentile(values: &mut [f32], fraction: f64) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let rank = ((values.len() - 1) as f64 * fraction) as usize;
    *values.select_nth_unstable_by(rank, f32::total_cmp).1
}
