//! Tests of the tremor filters: measured tremor attenuation, lag on slow motion, robustness.

use super::*;
use proptest::prelude::*;

const RATE_HZ: f64 = 1000.0;
const MOTION_HZ: f64 = 0.5;
const MOTION_AMPLITUDE_M: f64 = 0.02;
const TREMOR_AMPLITUDE_M: f64 = 0.0002;

/// Amplitude of the `frequency_hz` component of `samples` (taken at `RATE_HZ`), by projection on
/// a sine and a cosine over a whole number of periods.
fn amplitude_at(samples: &[f64], frequency_hz: f64) -> f64 {
    let (mut in_phase, mut quadrature) = (0.0, 0.0);
    for (i, value) in samples.iter().enumerate() {
        let phase = TAU * frequency_hz * i as f64 / RATE_HZ;
        in_phase += value * phase.cos();
        quadrature += value * phase.sin();
    }
    2.0 * in_phase.hypot(quadrature) / samples.len() as f64
}

/// Feeds 10 s of a 0.5 Hz motion plus a tremor at `tremor_hz` through `filter`; returns the
/// output/input amplitude ratios (motion, tremor) over the last 8 s (whole periods of both).
fn amplitude_ratios(mut filter: impl FnMut(f64, f64) -> f64, tremor_hz: f64) -> (f64, f64) {
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for i in 0..10_000 {
        let t = f64::from(i) / RATE_HZ;
        let x = MOTION_AMPLITUDE_M * (TAU * MOTION_HZ * t).sin()
            + TREMOR_AMPLITUDE_M * (TAU * tremor_hz * t).sin();
        let y = filter(x, t);
        if i >= 2000 {
            inputs.push(x);
            outputs.push(y);
        }
    }
    (
        amplitude_at(&outputs, MOTION_HZ) / amplitude_at(&inputs, MOTION_HZ),
        amplitude_at(&outputs, tremor_hz) / amplitude_at(&inputs, tremor_hz),
    )
}

/// Steady lag (seconds) behind a 20 mm/s ramp after 2 s.
fn ramp_lag_s(mut filter: impl FnMut(f64, f64) -> f64) -> f64 {
    let speed_m_s = 0.02;
    let mut lag_m = 0.0;
    for i in 0..2000 {
        let t = f64::from(i) / RATE_HZ;
        lag_m = speed_m_s * t - filter(speed_m_s * t, t);
    }
    lag_m / speed_m_s
}

#[test]
fn default_butterworth_removes_most_of_a_10_hz_tremor_and_keeps_the_motion() {
    let mut filter = ButterworthLowPass::new(6.0, 4);
    let (motion, tremor) = amplitude_ratios(|x, t| filter.filter(x, t), 10.0);
    eprintln!("butterworth 4th order 6 Hz: 0.5 Hz ratio {motion:.4}, 10 Hz ratio {tremor:.4}");
    assert!((motion - 1.0).abs() < 0.01, "motion ratio {motion}");
    assert!(tremor < 0.15, "tremor ratio {tremor}");
    let mut at_nine = ButterworthLowPass::new(6.0, 4);
    let (_, tremor_9hz) = amplitude_ratios(|x, t| at_nine.filter(x, t), 9.0);
    eprintln!("butterworth 4th order 6 Hz: 9 Hz ratio {tremor_9hz:.4}");
    assert!(tremor_9hz < 0.25, "9 Hz tremor ratio {tremor_9hz}");
}

#[test]
fn second_order_butterworth_attenuates_less_than_fourth_order() {
    let mut second = ButterworthLowPass::new(6.0, 2);
    let (_, tremor) = amplitude_ratios(|x, t| second.filter(x, t), 10.0);
    eprintln!("butterworth 2nd order 6 Hz: 10 Hz ratio {tremor:.4}");
    // |H(10 Hz)| = 1/sqrt(1 + (10/6)^4) = 0.34 for the analogue prototype.
    assert!(tremor > 0.2 && tremor < 0.4, "tremor ratio {tremor}");
}

#[test]
fn one_euro_attenuates_a_10_hz_tremor() {
    let mut filter = OneEuroFilter::new(1.0, 5.0, 1.0);
    let (motion, tremor) = amplitude_ratios(|x, t| filter.filter(x, t), 10.0);
    eprintln!("one-euro (1 Hz, beta 5): 0.5 Hz ratio {motion:.4}, 10 Hz ratio {tremor:.4}");
    assert!(motion > 0.9, "motion ratio {motion}");
    assert!(tremor < 0.3, "tremor ratio {tremor}");
}

#[test]
fn slow_motion_lags_by_a_few_tens_of_milliseconds() {
    let mut fourth = ButterworthLowPass::new(6.0, 4);
    let lag = ramp_lag_s(|x, t| fourth.filter(x, t));
    let mut second = ButterworthLowPass::new(6.0, 2);
    let lag_second = ramp_lag_s(|x, t| second.filter(x, t));
    eprintln!(
        "ramp lag: 4th order {:.1} ms, 2nd order {:.1} ms",
        lag * 1e3,
        lag_second * 1e3
    );
    // Analogue group delays at DC: 2.613/ωc = 69 ms and √2/ωc = 37.5 ms.
    assert!((lag - 0.0693).abs() < 0.003, "lag {lag}");
    assert!((lag_second - 0.0375).abs() < 0.003, "lag {lag_second}");
}

#[test]
fn a_constant_input_comes_out_unchanged_from_the_first_sample() {
    let mut filter = TremorFilter::new(FilterConfig::default());
    for i in 0..100 {
        let out = filter.filter([0.1, -0.2, 0.3], f64::from(i) * 0.001);
        for (o, e) in out.iter().zip([0.1, -0.2, 0.3]) {
            assert!((o - e).abs() < 1e-12, "{out:?}");
        }
    }
}

#[test]
fn repeated_or_backward_timestamps_and_nan_values_keep_the_last_output() {
    for config in [
        FilterConfig::default(),
        FilterConfig::OneEuro {
            min_cutoff_hz: 1.0,
            beta: 5.0,
            derivative_cutoff_hz: 1.0,
        },
    ] {
        let mut filter = TremorFilter::new(config);
        filter.filter([0.0; 3], 0.0);
        let last = filter.filter([0.01; 3], 0.001);
        assert_eq!(filter.filter([0.05; 3], 0.001), last);
        assert_eq!(filter.filter([0.05; 3], 0.0005), last);
        assert_eq!(filter.filter([f64::NAN; 3], 0.002), last);
        assert!(
            filter
                .filter([0.02; 3], 0.003)
                .iter()
                .all(|v| v.is_finite())
        );
        filter.reset();
        assert_eq!(filter.filter([0.7; 3], 0.0), [0.7; 3]);
    }
}

proptest! {
    #[test]
    fn outputs_stay_finite_for_any_sample_stream(
        samples in proptest::collection::vec((-1.0..1.0f64, prop_oneof![Just(0.0), -0.01..0.1f64]), 1..200),
        one_euro in any::<bool>(),
    ) {
        let config = if one_euro {
            FilterConfig::OneEuro { min_cutoff_hz: 1.0, beta: 5.0, derivative_cutoff_hz: 1.0 }
        } else {
            FilterConfig::default()
        };
        let mut filter = TremorFilter::new(config);
        let mut t = 0.0;
        for (value, dt) in samples {
            t += dt;
            let out = filter.filter([value; 3], t);
            prop_assert!(out.iter().all(|v| v.is_finite()), "{out:?}");
        }
    }
}
