//! Small streaming filters designed for any sampling rate: biquads and a moving sum.

use std::f64::consts::PI;

/// A second-order IIR section (transposed direct form II).
#[derive(Debug, Clone)]
pub struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    state: [f32; 2],
}

impl Biquad {
    /// Butterworth low-pass (Q = 1/√2) at `cutoff_hz`, clamped below Nyquist.
    pub fn low_pass(cutoff_hz: f64, sample_rate_hz: f64) -> Self {
        let (cos, alpha) = Self::prewarp(cutoff_hz, sample_rate_hz);
        let b1 = 1.0 - cos;
        Self::normalised(
            [b1 / 2.0, b1, b1 / 2.0],
            [1.0 + alpha, -2.0 * cos, 1.0 - alpha],
        )
    }

    /// Butterworth high-pass (Q = 1/√2) at `cutoff_hz`, clamped below Nyquist.
    pub fn high_pass(cutoff_hz: f64, sample_rate_hz: f64) -> Self {
        let (cos, alpha) = Self::prewarp(cutoff_hz, sample_rate_hz);
        let b1 = -(1.0 + cos);
        Self::normalised(
            [-b1 / 2.0, b1, -b1 / 2.0],
            [1.0 + alpha, -2.0 * cos, 1.0 - alpha],
        )
    }

    fn prewarp(cutoff_hz: f64, sample_rate_hz: f64) -> (f64, f64) {
        let cutoff = cutoff_hz.clamp(1e-3, 0.45 * sample_rate_hz);
        let omega = 2.0 * PI * cutoff / sample_rate_hz;
        (
            omega.cos(),
            omega.sin() / (2.0 * std::f64::consts::FRAC_1_SQRT_2),
        )
    }

    fn normalised(b: [f64; 3], a: [f64; 3]) -> Self {
        Biquad {
            b: [
                (b[0] / a[0]) as f32,
                (b[1] / a[0]) as f32,
                (b[2] / a[0]) as f32,
            ],
            a: [(a[1] / a[0]) as f32, (a[2] / a[0]) as f32],
            state: [0.0; 2],
        }
    }

    #[inline]
    pub fn step(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.state[0];
        self.state[0] = self.b[1] * x - self.a[0] * y + self.state[1];
        self.state[1] = self.b[2] * x - self.a[1] * y;
        y
    }

    /// Complex response at `frequency_hz` as (real, imaginary).
    fn response(&self, frequency_hz: f64, sample_rate_hz: f64) -> (f64, f64) {
        let w = 2.0 * PI * frequency_hz / sample_rate_hz;
        let z1 = (w.cos(), -w.sin());
        let z2 = ((2.0 * w).cos(), -(2.0 * w).sin());
        let b = self.b.map(f64::from);
        let a = self.a.map(f64::from);
        let num = (b[0] + b[1] * z1.0 + b[2] * z2.0, b[1] * z1.1 + b[2] * z2.1);
        let den = (1.0 + a[0] * z1.0 + a[1] * z2.0, a[0] * z1.1 + a[1] * z2.1);
        let norm = den.0 * den.0 + den.1 * den.1;
        (
            (num.0 * den.0 + num.1 * den.1) / norm,
            (num.1 * den.0 - num.0 * den.1) / norm,
        )
    }
}

/// A cascade of biquads.
#[derive(Debug, Clone)]
pub struct Cascade {
    sections: Vec<Biquad>,
}

impl Cascade {
    pub fn new(sections: Vec<Biquad>) -> Self {
        Cascade { sections }
    }

    #[inline]
    pub fn step(&mut self, x: f32) -> f32 {
        self.sections.iter_mut().fold(x, |value, s| s.step(value))
    }

    /// Group delay in samples at `frequency_hz`, from the phase slope of the cascade.
    pub fn group_delay(&self, frequency_hz: f64, sample_rate_hz: f64) -> f64 {
        let phase = |f: f64| -> f64 {
            self.sections
                .iter()
                .map(|s| {
                    let (re, im) = s.response(f, sample_rate_hz);
                    im.atan2(re)
                })
                .sum()
        };
        let step = 0.01;
        let mut difference = phase(frequency_hz + step) - phase(frequency_hz - step);
        while difference > PI {
            difference -= 2.0 * PI;
        }
        while difference < -PI {
            difference += 2.0 * PI;
        }
        let omega_step = 2.0 * PI * (2.0 * step) / sample_rate_hz;
        -difference / omega_step
    }
}

/// Running sum of the last `length` values.
#[derive(Debug, Clone)]
pub struct MovingSum {
    buffer: Vec<f32>,
    position: usize,
    sum: f64,
}

impl MovingSum {
    pub fn new(length: usize) -> Self {
        MovingSum {
            buffer: vec![0.0; length.max(1)],
            position: 0,
            sum: 0.0,
        }
    }

    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    #[inline]
    pub fn step(&mut self, x: f32) -> f32 {
        let old = std::mem::replace(&mut self.buffer[self.position], x);
        self.position = (self.position + 1) % self.buffer.len();
        self.sum += f64::from(x) - f64::from(old);
        self.sum as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gain_at(filter: &mut Cascade, frequency: f64, rate: f64) -> f64 {
        let n = (rate * 4.0) as usize;
        let mut peak = 0.0f64;
        for i in 0..n {
            let x = (2.0 * PI * frequency * i as f64 / rate).sin() as f32;
            let y = filter.step(x);
            if i > n / 2 {
                peak = peak.max(f64::from(y.abs()));
            }
        }
        peak
    }

    #[test]
    fn band_pass_keeps_qrs_band_and_rejects_mains_and_drift() {
        for rate in [250.0, 360.0, 1000.0] {
            let design = || {
                Cascade::new(vec![
                    Biquad::high_pass(5.0, rate),
                    Biquad::low_pass(15.0, rate),
                ])
            };
            assert!(gain_at(&mut design(), 10.0, rate) > 0.7);
            assert!(gain_at(&mut design(), 0.3, rate) < 0.05);
            assert!(gain_at(&mut design(), 60.0, rate) < 0.1);
        }
    }

    #[test]
    fn group_delay_is_positive_and_scales_with_rate() {
        let delay = |rate| {
            Cascade::new(vec![
                Biquad::high_pass(5.0, rate),
                Biquad::low_pass(15.0, rate),
            ])
            .group_delay(10.0, rate)
        };
        let (slow, fast) = (delay(250.0), delay(1000.0));
        assert!(slow > 0.0);
        assert!((fast / slow - 4.0).abs() < 0.2, "{slow} {fast}");
    }

    #[test]
    fn moving_sum_sums_the_window() {
        let mut sum = MovingSum::new(3);
        let out: Vec<f32> = [1.0, 2.0, 3.0, 4.0].iter().map(|&x| sum.step(x)).collect();
        assert_eq!(out, vec![1.0, 3.0, 6.0, 9.0]);
    }
}
