//! Synthetic ECG noise for robustness tests: baseline wander, muscle (EMG) and electrode motion,
//! generated deterministically from a seed and added at a chosen signal-to-noise ratio.
//!
//! The MIT-BIH Noise Stress Test recordings are not available here, so the three kinds are
//! synthesised with the properties those recordings are known for:
//! - baseline wander: a respiratory sinusoid (0.15-0.4 Hz) plus slower drift (0.03-0.15 Hz) and
//!   a low-passed random walk; no energy in the QRS band.
//! - muscle: Gaussian noise band-limited to 20-150 Hz (clipped below Nyquist) whose amplitude
//!   swells and fades over seconds, like bursts of muscle activity; overlaps the QRS band's top.
//! - motion: electrode motion artefact, the hardest kind: bursts of 1-12 Hz noise (right in the
//!   QRS band) lasting 0.5-3 s, plus electrode "pops" (steps that decay over 0.2-1 s) and slow
//!   movement.
//!
//! SNR follows the MIT-BIH NST convention: signal power S = (mean peak-to-peak QRS amplitude)²/8,
//! noise power N = mean square of the (zero-mean) noise, SNR = 10·log10(S/N).

use serde::{Deserialize, Serialize};

use crate::filter::{Biquad, Cascade};
use crate::rng::SplitMix64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoiseKind {
    Baseline,
    Muscle,
    Motion,
}

impl NoiseKind {
    pub const ALL: [NoiseKind; 3] = [NoiseKind::Baseline, NoiseKind::Muscle, NoiseKind::Motion];

    pub fn name(self) -> &'static str {
        match self {
            NoiseKind::Baseline => "baseline",
            NoiseKind::Muscle => "muscle",
            NoiseKind::Motion => "motion",
        }
    }
}

/// Zero-mean, unit-RMS noise of `kind`, `length` samples at `sample_rate_hz`.
pub fn generate(kind: NoiseKind, length: usize, sample_rate_hz: f64, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed ^ (kind as u64).wrapping_mul(0x9E37_79B9));
    let raw = match kind {
        NoiseKind::Baseline => baseline(&mut rng, length, sample_rate_hz),
        NoiseKind::Muscle => muscle(&mut rng, length, sample_rate_hz),
        NoiseKind::Motion => motion(&mut rng, length, sample_rate_hz),
    };
    normalise(raw)
}

fn baseline(rng: &mut SplitMix64, length: usize, rate: f64) -> Vec<f64> {
    let tones = [
        (rng.between(0.15, 0.4), 1.0),
        (rng.between(0.03, 0.15), 1.5),
        (rng.between(0.05, 0.3), 0.5),
    ]
    .map(|(f, a)| (f, a, rng.between(0.0, std::f64::consts::TAU)));
    let drift = filtered_gaussian(rng, length, &mut smoother(0.2, rate));
    let drift_scale = 1.0 / rms(&drift).max(1e-12);
    (0..length)
        .map(|i| {
            let t = i as f64 / rate;
            let tone: f64 = tones
                .iter()
                .map(|(f, a, phase)| a * (std::f64::consts::TAU * f * t + phase).sin())
                .sum();
            tone + 0.7 * drift[i] * drift_scale
        })
        .collect()
}

fn muscle(rng: &mut SplitMix64, length: usize, rate: f64) -> Vec<f64> {
    let mut band = Cascade::new(vec![
        Biquad::high_pass(20.0, rate),
        Biquad::high_pass(20.0, rate),
        Biquad::low_pass(150.0, rate),
    ]);
    let hiss = filtered_gaussian(rng, length, &mut band);
    let envelope = positive_envelope(rng, length, rate, 0.3);
    hiss.iter().zip(&envelope).map(|(h, e)| h * e).collect()
}

fn motion(rng: &mut SplitMix64, length: usize, rate: f64) -> Vec<f64> {
    let mut band = Cascade::new(vec![
        Biquad::high_pass(1.0, rate),
        Biquad::low_pass(12.0, rate),
        Biquad::low_pass(12.0, rate),
    ]);
    let tremor = filtered_gaussian(rng, length, &mut band);
    let tremor_scale = 1.0 / rms(&tremor).max(1e-12);
    let slow = filtered_gaussian(rng, length, &mut smoother(0.5, rate));
    let slow_scale = 0.5 / rms(&slow).max(1e-12);
    let mut out: Vec<f64> = slow.iter().map(|s| s * slow_scale).collect();
    // Bursts of in-band movement, 0.5-3 s long, about one every 4 s.
    let mut i = 0usize;
    while i < length {
        i += (rng.between(0.5, 7.5) * rate) as usize;
        let burst = (rng.between(0.5, 3.0) * rate) as usize;
        let amplitude = rng.between(0.5, 2.0) * tremor_scale;
        for k in 0..burst.min(length.saturating_sub(i)) {
            let taper = (std::f64::consts::PI * k as f64 / burst as f64).sin();
            out[i + k] += amplitude * taper * tremor[i + k];
        }
        i += burst;
    }
    // Electrode pops: steps that decay back, about one every 10 s.
    let mut pop_at = 0usize;
    loop {
        pop_at += (rng.between(2.0, 18.0) * rate) as usize;
        if pop_at >= length {
            break;
        }
        let step = rng.gaussian() * 2.0;
        let decay = rng.between(0.2, 1.0) * rate;
        for (k, value) in out[pop_at..]
            .iter_mut()
            .enumerate()
            .take((decay * 6.0) as usize)
        {
            *value += step * (-(k as f64) / decay).exp();
        }
    }
    out
}

/// A one-pole-pair low-pass for slow random processes.
fn smoother(cutoff_hz: f64, rate: f64) -> Cascade {
    Cascade::new(vec![
        Biquad::low_pass(cutoff_hz, rate),
        Biquad::low_pass(cutoff_hz, rate),
    ])
}

fn filtered_gaussian(rng: &mut SplitMix64, length: usize, filter: &mut Cascade) -> Vec<f64> {
    (0..length)
        .map(|_| f64::from(filter.step(rng.gaussian() as f32)))
        .collect()
}

/// A slowly varying positive gain between `floor` and about 1 + floor (bursts of activity).
fn positive_envelope(rng: &mut SplitMix64, length: usize, rate: f64, floor: f64) -> Vec<f64> {
    let slow = filtered_gaussian(rng, length, &mut smoother(0.3, rate));
    let scale = 1.0 / rms(&slow).max(1e-12);
    slow.iter().map(|s| floor + (s * scale).abs()).collect()
}

fn rms(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    (values.iter().map(|v| v * v).sum::<f64>() / values.len() as f64).sqrt()
}

fn normalise(values: Vec<f64>) -> Vec<f32> {
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    let centred: Vec<f64> = values.iter().map(|v| v - mean).collect();
    let scale = 1.0 / rms(&centred).max(1e-12);
    centred.iter().map(|v| (v * scale) as f32).collect()
}

/// NST signal power: mean over beats of (peak-to-peak amplitude within ±50 ms)² / 8.
/// Missing (NaN) samples are skipped; `None` if no beat gives a measurable amplitude.
pub fn signal_power(signal: &[f32], beats: &[u64], sample_rate_hz: f64) -> Option<f64> {
    let half = (0.05 * sample_rate_hz).round() as usize;
    let powers: Vec<f64> = beats
        .iter()
        .filter_map(|&beat| {
            let centre = usize::try_from(beat).ok()?;
            let window =
                signal.get(centre.saturating_sub(half)..(centre + half + 1).min(signal.len()))?;
            let valid = window.iter().filter(|v| v.is_finite());
            let (low, high) = valid.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
            (high >= low).then(|| f64::from(high - low).powi(2) / 8.0)
        })
        .collect();
    (!powers.is_empty()).then(|| powers.iter().sum::<f64>() / powers.len() as f64)
}

/// Adds `noise` (zero-mean, unit RMS) scaled to give `snr_db` against `signal_power`.
pub fn add_at_snr(signal: &[f32], noise: &[f32], signal_power: f64, snr_db: f64) -> Vec<f32> {
    let gain = (signal_power / 10f64.powf(snr_db / 10.0)).sqrt() as f32;
    signal
        .iter()
        .zip(noise.iter().chain(std::iter::repeat(&0.0)))
        .map(|(s, n)| s + gain * n)
        .collect()
}

/// A noisy copy of `signal`: `kind` noise from `seed` at `snr_db`, with the signal power measured
/// at `beats`. `None` if no beat gives a measurable QRS amplitude.
pub fn noisy_copy(
    signal: &[f32],
    beats: &[u64],
    sample_rate_hz: f64,
    kind: NoiseKind,
    snr_db: f64,
    seed: u64,
) -> Option<Vec<f32>> {
    let power = signal_power(signal, beats, sample_rate_hz)?;
    let noise = generate(kind, signal.len(), sample_rate_hz, seed);
    Some(add_at_snr(signal, &noise, power, snr_db))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_deterministic_unit_rms_and_differs_by_seed() {
        for kind in NoiseKind::ALL {
            let a = generate(kind, 36_000, 360.0, 1);
            assert_eq!(a, generate(kind, 36_000, 360.0, 1));
            assert_ne!(a, generate(kind, 36_000, 360.0, 2));
            let power: f64 = a.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / a.len() as f64;
            assert!((power - 1.0).abs() < 1e-3, "{kind:?} {power}");
        }
    }

    #[test]
    fn baseline_wander_stays_below_the_qrs_band() {
        let rate = 360.0;
        let wander = generate(NoiseKind::Baseline, 72_000, rate, 3);
        let mut qrs_band = Cascade::new(vec![
            Biquad::high_pass(5.0, rate),
            Biquad::low_pass(15.0, rate),
        ]);
        let in_band: Vec<f64> = wander
            .iter()
            .map(|v| f64::from(qrs_band.step(*v)))
            .collect();
        assert!(rms(&in_band[3600..]) < 0.05);
    }

    #[test]
    fn added_noise_has_the_requested_snr() {
        let signal = vec![0.0f32; 10_000];
        let noise = generate(NoiseKind::Muscle, 10_000, 360.0, 9);
        let noisy = add_at_snr(&signal, &noise, 0.5, 6.0);
        let power: f64 = noisy.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / 10_000.0;
        let snr = 10.0 * (0.5 / power).log10();
        assert!((snr - 6.0).abs() < 0.01, "{snr}");
    }

    #[test]
    fn signal_power_of_a_one_millivolt_spike_train() {
        let mut signal = vec![0.0f32; 3600];
        for beat in [500usize, 1500, 2500] {
            signal[beat] = 1.0;
        }
        let power = signal_power(&signal, &[500, 1500, 2500], 360.0).unwrap();
        assert!((power - 1.0 / 8.0).abs() < 1e-9);
    }
}
