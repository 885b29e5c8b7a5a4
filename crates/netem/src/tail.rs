//! The heavy tail as a process of time: an Exp(1) value E(t) that drifts with the departure time,
//! so a Pareto excess drawn from it has the profile's marginal at any packet rate and its spikes
//! come per unit of time, not per packet.
//!
//! E(t) = (z1(t)² + z2(t)²) / 2, where z1 and z2 are independent standard-normal processes: fresh
//! N(0, 1) values at the epoch boundaries k·τ (τ = `jitter_correlation_ms`), and between
//! boundaries k and k+1, at the fraction `a` of the epoch,
//! z(t) = ((1 − a)·z_k + a·z_{k+1}) / sqrt((1 − a)² + a²): unit variance at every t, continuous.
//! A sum of two squared independent standard normals is χ²(2), so E(t) is exactly Exp(1) at every
//! t, and the excess x_m·(exp(E/shape) − 1) is exactly the lane's Pareto.

use crate::sample::standard_normal;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::time::Duration;

/// Two standard-normal processes of time on a shared epoch grid, seeded; reads no clock.
pub struct TailProcess {
    epoch_ms: f64,
    /// The boundary the current epoch starts at (its index k), once the process has begun.
    epoch: Option<u64>,
    /// z1, z2 at boundary k.
    at_start: [f64; 2],
    /// z1, z2 at boundary k + 1.
    at_end: [f64; 2],
    rng: StdRng,
}

impl TailProcess {
    /// A process with boundaries every `epoch_ms` (> 0) from t = 0, drawn from `seed`.
    pub fn new(epoch_ms: f64, seed: u64) -> Self {
        Self {
            epoch_ms,
            epoch: None,
            at_start: [0.0; 2],
            at_end: [0.0; 2],
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// E(t), Exp(1) distributed at every t. Times must not go back beyond the current epoch's
    /// start (a lane's departures do not); an earlier t is read as that start.
    pub fn exp1_at(&mut self, t: Duration) -> f64 {
        let [z1, z2] = self.normals_at(t);
        (z1 * z1 + z2 * z2) / 2.0
    }

    /// (z1(t), z2(t)), each standard normal at every t.
    pub fn normals_at(&mut self, t: Duration) -> [f64; 2] {
        let t_ms = t.as_secs_f64() * 1e3;
        let k = (t_ms / self.epoch_ms).floor() as u64;
        self.advance_to(k);
        let start = self.epoch.unwrap_or(k);
        let a = ((t_ms - start as f64 * self.epoch_ms) / self.epoch_ms).clamp(0.0, 1.0);
        let norm = ((1.0 - a).powi(2) + a * a).sqrt();
        [0, 1].map(|i| ((1.0 - a) * self.at_start[i] + a * self.at_end[i]) / norm)
    }

    /// Moves the current epoch to `k`, drawing the boundaries passed. Values two or more
    /// boundaries on are independent of the ones held, so after a longer gap two fresh pairs are
    /// the same in distribution as drawing every boundary in between.
    fn advance_to(&mut self, k: u64) {
        match self.epoch {
            Some(current) if k <= current => return,
            Some(current) if k == current + 1 => {
                self.at_start = self.at_end;
                self.at_end = self.draw_pair();
            }
            _ => {
                self.at_start = self.draw_pair();
                self.at_end = self.draw_pair();
            }
        }
        self.epoch = Some(k);
    }

    fn draw_pair(&mut self) -> [f64; 2] {
        [
            standard_normal(&mut self.rng),
            standard_normal(&mut self.rng),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_ms(ms: f64) -> Duration {
        Duration::from_secs_f64(ms / 1e3)
    }

    #[test]
    fn e_has_the_mean_and_variance_of_exp1_over_many_epochs() {
        let mut process = TailProcess::new(20.0, 7);
        // Sampled at 7 ms, off the 20 ms grid, so every phase of an epoch is visited.
        let values: Vec<f64> = (0..400_000)
            .map(|i| process.exp1_at(at_ms(i as f64 * 7.0)))
            .collect();
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (n - 1.0);
        assert!((mean - 1.0).abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
        // Exp(1): P(E > 3) = e^-3.
        let above = values.iter().filter(|e| **e > 3.0).count() as f64 / n;
        assert!(
            (above / (-3f64).exp() - 1.0).abs() < 0.06,
            "P(E > 3) {above}"
        );
    }

    #[test]
    fn z_is_continuous_at_the_boundaries_and_moves_within_an_epoch() {
        let mut process = TailProcess::new(20.0, 3);
        for k in 1..200u32 {
            let boundary = f64::from(k) * 20.0;
            let before = process.normals_at(at_ms(boundary - 1e-6));
            let at = process.normals_at(at_ms(boundary));
            for i in 0..2 {
                assert!((before[i] - at[i]).abs() < 1e-5, "k {k}: {before:?} {at:?}");
            }
        }
        let mut fresh = TailProcess::new(20.0, 3);
        let start = fresh.normals_at(at_ms(0.0));
        let middle = fresh.normals_at(at_ms(10.0));
        assert_ne!(start, middle);
    }

    #[test]
    fn equal_seeds_give_equal_processes_and_a_long_gap_gives_fresh_values() {
        let times: Vec<Duration> = [0.0, 5.0, 19.0, 21.0, 60.0, 5000.0, 5003.0]
            .iter()
            .map(|ms| at_ms(*ms))
            .collect();
        let mut a = TailProcess::new(20.0, 11);
        let mut b = TailProcess::new(20.0, 11);
        for t in &times {
            assert_eq!(a.exp1_at(*t).to_bits(), b.exp1_at(*t).to_bits());
        }
        let mut c = TailProcess::new(20.0, 12);
        assert_ne!(a.exp1_at(at_ms(6000.0)), c.exp1_at(at_ms(6000.0)));
    }
}
