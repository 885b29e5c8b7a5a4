//! Tremor filters for master positions, fed with `(value, t_s)`: a Butterworth low-pass (order 2 or
//! 4, bilinear transform re-derived from each sample's time step) and the One-Euro filter
//! (Casiez, Roussel & Vogel, CHI 2012).
//!
//! Samples whose time does not advance (a repeated or earlier timestamp) and non-finite values
//! leave the state untouched and return the previous output, so the output is never NaN.

use crate::geometry::Vec3;
use std::f64::consts::{PI, TAU};

/// The highest cut-off used, as a fraction of the sample rate (keeps the bilinear transform
/// below Nyquist when a sample arrives late).
const MAX_NORMALISED_CUTOFF: f64 = 0.45;

/// Which tremor filter, with its parameters. Frequencies in hertz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FilterConfig {
    /// Butterworth low-pass of order 2 or 4 (any order above 2 is treated as 4).
    Butterworth { cutoff_hz: f64, order: u8 },
    /// One-Euro: cut-off `min_cutoff_hz + beta·|speed|` (speed in units/s), derivative cut-off
    /// `derivative_cutoff_hz`.
    OneEuro {
        min_cutoff_hz: f64,
        beta: f64,
        derivative_cutoff_hz: f64,
    },
}

impl Default for FilterConfig {
    /// 4th-order Butterworth at 6 Hz: −18 dB on a 10 Hz tremor, ~70 ms lag on slow motion.
    fn default() -> Self {
        FilterConfig::Butterworth {
            cutoff_hz: 6.0,
            order: 4,
        }
    }
}

/// One second-order section in transposed direct form II.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Biquad {
    quality: f64,
    s1: f64,
    s2: f64,
}

impl Biquad {
    /// Settles the section at a constant input `value` (output = input, DC gain 1).
    fn settle(&mut self, value: f64, coefficients: &[f64; 5]) {
        let [_, b1, b2, a1, a2] = *coefficients;
        self.s2 = b2 * value - a2 * value;
        self.s1 = b1 * value - a1 * value + self.s2;
    }

    /// Low-pass coefficients `[b0, b1, b2, a1, a2]` for cut-off `cutoff_hz` at time step `dt_s`.
    fn coefficients(&self, cutoff_hz: f64, dt_s: f64) -> [f64; 5] {
        let k = (PI * (cutoff_hz * dt_s).min(MAX_NORMALISED_CUTOFF)).tan();
        let norm = 1.0 / (1.0 + k / self.quality + k * k);
        let b0 = k * k * norm;
        [
            b0,
            2.0 * b0,
            b0,
            2.0 * (k * k - 1.0) * norm,
            (1.0 - k / self.quality + k * k) * norm,
        ]
    }

    fn process(&mut self, input: f64, coefficients: &[f64; 5]) -> f64 {
        let [b0, b1, b2, a1, a2] = *coefficients;
        let output = b0 * input + self.s1;
        self.s1 = b1 * input - a1 * output + self.s2;
        self.s2 = b2 * input - a2 * output;
        output
    }
}

/// A scalar Butterworth low-pass fed with `(value, t_s)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ButterworthLowPass {
    cutoff_hz: f64,
    sections: [Biquad; 2],
    section_count: usize,
    /// `(t_s, output)` of the last sample.
    last: Option<(f64, f64)>,
    /// True until the sections have been settled at the first sample's value.
    needs_settle: bool,
}

impl ButterworthLowPass {
    /// `order` 2 gives one section (Q = 1/√2); 4 gives two (Q = 0.5412, 1.3066).
    pub fn new(cutoff_hz: f64, order: u8) -> ButterworthLowPass {
        let qualities: &[f64] = if order > 2 {
            &[0.541_196_100_146_197, 1.306_562_964_876_376_6]
        } else {
            &[std::f64::consts::FRAC_1_SQRT_2]
        };
        let mut sections = [Biquad::default(); 2];
        for (section, &quality) in sections.iter_mut().zip(qualities) {
            section.quality = quality;
        }
        ButterworthLowPass {
            cutoff_hz,
            sections,
            section_count: qualities.len(),
            last: None,
            needs_settle: true,
        }
    }

    /// Filters `value` taken at time `t_s` (seconds); the first sample passes through.
    pub fn filter(&mut self, value: f64, t_s: f64) -> f64 {
        let Some((last_t, last_output)) = self.last else {
            if value.is_finite() && t_s.is_finite() {
                self.last = Some((t_s, value));
            }
            return value;
        };
        let dt_s = t_s - last_t;
        if !(dt_s > 0.0 && dt_s.is_finite() && value.is_finite()) {
            return last_output;
        }
        let mut signal = value;
        let cutoff_hz = self.cutoff_hz;
        for section in &mut self.sections[..self.section_count] {
            let coefficients = section.coefficients(cutoff_hz, dt_s);
            if self.needs_settle {
                section.settle(last_output, &coefficients);
            }
            signal = section.process(signal, &coefficients);
        }
        self.needs_settle = false;
        self.last = Some((t_s, signal));
        signal
    }

    /// Forgets the history: the next sample passes through.
    pub fn reset(&mut self) {
        self.last = None;
        self.needs_settle = true;
    }
}

/// First-order smoothing factor for cut-off `cutoff_hz` at time step `dt_s`.
fn smoothing_factor(cutoff_hz: f64, dt_s: f64) -> f64 {
    let tau = 1.0 / (TAU * cutoff_hz);
    1.0 / (1.0 + tau / dt_s)
}

/// What the One-Euro filter keeps of its last sample.
#[derive(Debug, Clone, Copy, PartialEq)]
struct OneEuroSample {
    t_s: f64,
    raw: f64,
    filtered: f64,
    derivative: f64,
}

/// A scalar One-Euro filter fed with `(value, t_s)`.
#[derive(Debug, Clone, PartialEq)]
pub struct OneEuroFilter {
    min_cutoff_hz: f64,
    beta: f64,
    derivative_cutoff_hz: f64,
    /// The last sample: its time, raw value, filtered value and filtered derivative.
    last: Option<OneEuroSample>,
}

impl OneEuroFilter {
    pub fn new(min_cutoff_hz: f64, beta: f64, derivative_cutoff_hz: f64) -> OneEuroFilter {
        OneEuroFilter {
            min_cutoff_hz,
            beta,
            derivative_cutoff_hz,
            last: None,
        }
    }

    /// Filters `value` taken at time `t_s` (seconds); the first sample passes through.
    pub fn filter(&mut self, value: f64, t_s: f64) -> f64 {
        let Some(last) = self.last else {
            if value.is_finite() && t_s.is_finite() {
                self.last = Some(OneEuroSample {
                    t_s,
                    raw: value,
                    filtered: value,
                    derivative: 0.0,
                });
            }
            return value;
        };
        let dt_s = t_s - last.t_s;
        if !(dt_s > 0.0 && dt_s.is_finite() && value.is_finite()) {
            return last.filtered;
        }
        // As in Casiez's reference code, the speed comes from consecutive raw values.
        let raw_derivative = (value - last.raw) / dt_s;
        let a_d = smoothing_factor(self.derivative_cutoff_hz, dt_s);
        let derivative = last.derivative + a_d * (raw_derivative - last.derivative);
        let cutoff_hz = self.min_cutoff_hz + self.beta * derivative.abs();
        let a = smoothing_factor(cutoff_hz, dt_s);
        let filtered = last.filtered + a * (value - last.filtered);
        self.last = Some(OneEuroSample {
            t_s,
            raw: value,
            filtered,
            derivative,
        });
        filtered
    }

    /// Forgets the history: the next sample passes through.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// A scalar filter of either kind.
#[derive(Debug, Clone, PartialEq)]
enum AxisFilter {
    Butterworth(ButterworthLowPass),
    OneEuro(OneEuroFilter),
}

impl AxisFilter {
    fn new(config: &FilterConfig) -> AxisFilter {
        match *config {
            FilterConfig::Butterworth { cutoff_hz, order } => {
                AxisFilter::Butterworth(ButterworthLowPass::new(cutoff_hz, order))
            }
            FilterConfig::OneEuro {
                min_cutoff_hz,
                beta,
                derivative_cutoff_hz,
            } => AxisFilter::OneEuro(OneEuroFilter::new(
                min_cutoff_hz,
                beta,
                derivative_cutoff_hz,
            )),
        }
    }

    fn filter(&mut self, value: f64, t_s: f64) -> f64 {
        match self {
            AxisFilter::Butterworth(f) => f.filter(value, t_s),
            AxisFilter::OneEuro(f) => f.filter(value, t_s),
        }
    }

    fn reset(&mut self) {
        match self {
            AxisFilter::Butterworth(f) => f.reset(),
            AxisFilter::OneEuro(f) => f.reset(),
        }
    }
}

/// The tremor filter for a 3-D position (metres), one filter per axis.
#[derive(Debug, Clone, PartialEq)]
pub struct TremorFilter {
    axes: [AxisFilter; 3],
}

impl TremorFilter {
    pub fn new(config: FilterConfig) -> TremorFilter {
        TremorFilter {
            axes: std::array::from_fn(|_| AxisFilter::new(&config)),
        }
    }

    /// Filters the position sampled at `t_s` (seconds).
    pub fn filter(&mut self, position: Vec3, t_s: f64) -> Vec3 {
        std::array::from_fn(|axis| self.axes[axis].filter(position[axis], t_s))
    }

    /// Forgets the history: the next sample passes through (use at engage and clutch release).
    pub fn reset(&mut self) {
        self.axes.iter_mut().for_each(AxisFilter::reset);
    }
}

#[cfg(test)]
mod tests;
