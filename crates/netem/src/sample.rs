//! Random draws the impairment needs, from a seeded generator: delays and coin flips.

use crate::profile::Jitter;
use rand::Rng;

/// A one-way delay in ms: the base plus the jitter draw, never below zero. Normal jitter is an
/// AR(1) series over packets: `state` carries the previous standard-normal value and
/// `correlation` how much of it the next one keeps (0: independent); the spread stays `sd_ms`.
/// Heavy-tailed jitter here is an independent draw per packet (a lane with a correlation time
/// reads it from `tail::TailProcess` instead).
pub fn delay_ms(
    rng: &mut impl Rng,
    base_ms: f64,
    jitter: &Jitter,
    correlation: f64,
    state: &mut f64,
) -> f64 {
    let extra = match *jitter {
        Jitter::None => 0.0,
        Jitter::Normal { sd_ms } => {
            let fresh = standard_normal(rng);
            *state = correlation * *state + (1.0 - correlation * correlation).sqrt() * fresh;
            sd_ms * *state
        }
        Jitter::HeavyTailed { mean_ms, shape } => pareto_excess(rng, mean_ms, shape),
    };
    (base_ms + extra).max(0.0)
}

/// Box-Muller; `1 - u` keeps the logarithm finite.
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Pareto(x_m, shape) minus x_m, with x_m chosen so the mean of the excess is `mean_ms`.
fn pareto_excess(rng: &mut impl Rng, mean_ms: f64, shape: f64) -> f64 {
    let scale = mean_ms * (shape - 1.0);
    let u: f64 = 1.0 - rng.random::<f64>();
    scale * (u.powf(-1.0 / shape) - 1.0)
}

/// The same Pareto excess from an Exp(1) value instead of a uniform one (−ln U is Exp(1), so
/// `x_m·(exp(e/shape) − 1)` has the distribution `pareto_excess` draws): how the heavy tail reads
/// its time process.
pub fn pareto_excess_from_exp1(e: f64, mean_ms: f64, shape: f64) -> f64 {
    let scale = mean_ms * (shape - 1.0);
    scale * ((e / shape).exp() - 1.0)
}

/// True with probability `p`.
pub fn chance(rng: &mut impl Rng, p: f64) -> bool {
    p > 0.0 && rng.random::<f64>() < p
}

/// The SplitMix64 finaliser: a well-mixed 64-bit hash, for deriving sub-seeds.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
