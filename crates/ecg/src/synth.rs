//! Synthetic ECG: P-QRS-T complexes built from Gaussian waves at chosen beat times, for tests,
//! demos and documentation where a real recording with the wanted rhythm is not at hand.

use crate::rng::SplitMix64;

/// One wave of a complex: offset from the R peak (s), amplitude (mV), width (s).
struct Wave {
    offset: f64,
    amplitude: f64,
    width: f64,
}

const QRST: [Wave; 4] = [
    Wave {
        offset: -0.025,
        amplitude: -0.12,
        width: 0.008,
    },
    Wave {
        offset: 0.0,
        amplitude: 1.3,
        width: 0.010,
    },
    Wave {
        offset: 0.028,
        amplitude: -0.3,
        width: 0.009,
    },
    Wave {
        offset: 0.28,
        amplitude: 0.3,
        width: 0.045,
    },
];
const P_WAVE: Wave = Wave {
    offset: -0.18,
    amplitude: 0.15,
    width: 0.022,
};

/// Beat times (s) at a constant rate from `start_s` to `end_s`.
pub fn regular_beats(bpm: f64, start_s: f64, end_s: f64) -> Vec<f64> {
    let rr = 60.0 / bpm;
    (0..)
        .map(|k| start_s + k as f64 * rr)
        .take_while(|&t| t < end_s)
        .collect()
}

/// Beat times (s) with RR intervals drawn uniformly from `rr_s`, like atrial fibrillation.
pub fn irregular_beats(rr_s: (f64, f64), start_s: f64, end_s: f64, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    let mut beats = Vec::new();
    let mut t = start_s;
    while t < end_s {
        beats.push(t);
        t += rng.between(rr_s.0, rr_s.1);
    }
    beats
}

/// An ECG in mV at `sample_rate_hz`, `duration_s` long, with a complex at each beat time.
/// `p_waves` false leaves out the P waves (as in atrial fibrillation).
pub fn ecg(sample_rate_hz: f64, duration_s: f64, beats_s: &[f64], p_waves: bool) -> Vec<f32> {
    let length = (duration_s * sample_rate_hz).round().max(0.0) as usize;
    let mut signal = vec![0.0f32; length];
    let waves: Vec<&Wave> = QRST.iter().chain(p_waves.then_some(&P_WAVE)).collect();
    for &beat in beats_s {
        for wave in &waves {
            let centre = beat + wave.offset;
            let reach = 4.0 * wave.width;
            let first = ((centre - reach) * sample_rate_hz).ceil().max(0.0) as usize;
            let last = (((centre + reach) * sample_rate_hz).floor().max(0.0) as usize).min(length);
            for (i, value) in signal.iter_mut().enumerate().take(last).skip(first) {
                let t = i as f64 / sample_rate_hz - centre;
                *value += (wave.amplitude * (-0.5 * (t / wave.width).powi(2)).exp()) as f32;
            }
        }
    }
    signal
}

/// [`ecg`] on a low-level realistic background (baseline wander and a little muscle noise,
/// from `seed`), so that no synthetic trace is a mathematically flat line.
pub fn ecg_with_background(
    sample_rate_hz: f64,
    duration_s: f64,
    beats_s: &[f64],
    p_waves: bool,
    seed: u64,
) -> Vec<f32> {
    use crate::noise::{NoiseKind, generate};
    let clean = ecg(sample_rate_hz, duration_s, beats_s, p_waves);
    let wander = generate(NoiseKind::Baseline, clean.len(), sample_rate_hz, seed);
    let hiss = generate(NoiseKind::Muscle, clean.len(), sample_rate_hz, seed + 1);
    clean
        .iter()
        .zip(wander.iter().zip(&hiss))
        .map(|(c, (w, h))| c + 0.05 * w + 0.01 * h)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detector_finds_every_synthetic_beat_at_several_rates() {
        for rate in [250.0, 360.0, 500.0] {
            let beats = regular_beats(72.0, 0.5, 29.0);
            let signal = ecg(rate, 30.0, &beats, true);
            let detected: Vec<u64> = crate::detect_all(rate, &signal)
                .iter()
                .map(|b| b.sample)
                .collect();
            let reference: Vec<u64> = beats.iter().map(|t| (t * rate).round() as u64).collect();
            let c = crate::compare(&reference, &detected, (0.15 * rate) as u64);
            assert_eq!(
                (c.false_negatives, c.false_positives),
                (0, 0),
                "at {rate} Hz"
            );
        }
    }
}
