//! Simulated patients for the simulators and the station's patient monitor: stable patients and
//! scripted deteriorations (sepsis-like drift, hypoxia, a fall), deterministic for a seed: the
//! random numbers come from the caller's generator and the time is an argument.

use crate::{Acvpu, Vitals};
use rand::Rng;

/// The period of the slow wander of every sign around a patient's baseline, s.
const WANDER_PERIOD_S: f64 = 600.0;

/// What happens to a simulated patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Stable,
    /// Over ten minutes: pulse, breathing and temperature up, blood pressure and SpO2 down,
    /// new confusion at the end.
    Sepsis,
    /// Over two minutes SpO2 falls to 84 %, breathing and pulse rise.
    Hypoxia,
    /// A fall: pulse jumps, blood pressure drops, responds to voice only for five minutes.
    Fall,
}

impl Script {
    /// The script of the `index`-th resident: most are stable, some deteriorate.
    pub fn for_resident(index: usize) -> Script {
        match index % 8 {
            1 => Script::Sepsis,
            3 => Script::Hypoxia,
            5 => Script::Fall,
            _ => Script::Stable,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Script::Stable => "stable",
            Script::Sepsis => "sepsis-like drift",
            Script::Hypoxia => "hypoxia",
            Script::Fall => "fall",
        }
    }
}

/// A simulated patient: script, onset time (s) and personal baseline offsets.
#[derive(Debug, Clone)]
pub struct SimPatient {
    pub script: Script,
    pub onset_s: f64,
    pub baseline_hr: f64,
    pub baseline_sbp: f64,
}

impl SimPatient {
    pub fn new(script: Script, onset_s: f64, rng: &mut impl Rng) -> Self {
        SimPatient {
            script,
            onset_s,
            baseline_hr: rng.random_range(62.0..82.0),
            baseline_sbp: rng.random_range(115.0..140.0),
        }
    }

    /// Vitals at simulated time `t_s`: the script, a slow physiological wander around the
    /// baseline (a period of ten minutes, its phase set by the baseline so patients differ) and
    /// measurement noise from `rng`.
    pub fn vitals_at(&self, t_s: f64, rng: &mut impl Rng) -> Vitals {
        let since = t_s - self.onset_s;
        let ramp = |seconds: f64| (since / seconds).clamp(0.0, 1.0);
        let wander = (std::f64::consts::TAU * t_s / WANDER_PERIOD_S + self.baseline_hr).sin();
        let (mut hr, mut rr, mut spo2, mut temp, mut sbp) = (
            self.baseline_hr + 3.0 * wander,
            15.0 + wander,
            97.5 + 0.4 * wander,
            36.8 + 0.1 * wander,
            self.baseline_sbp + 4.0 * wander,
        );
        let mut acvpu = Acvpu::Alert;
        match self.script {
            Script::Stable => {}
            Script::Sepsis => {
                let p = ramp(600.0);
                hr += 50.0 * p;
                rr += 11.0 * p;
                temp += 2.5 * p;
                sbp -= 35.0 * p;
                spo2 -= 4.0 * p;
                if p > 0.9 {
                    acvpu = Acvpu::Confusion;
                }
            }
            Script::Hypoxia => {
                let p = ramp(120.0);
                spo2 -= 13.5 * p;
                rr += 9.0 * p;
                hr += 25.0 * p;
            }
            Script::Fall => {
                if (0.0..300.0).contains(&since) {
                    hr += 35.0;
                    sbp -= 30.0;
                    acvpu = Acvpu::Voice;
                }
            }
        }
        let mut noisy = |v: f64, spread: f64| v + rng.random_range(-spread..=spread);
        Vitals {
            heart_rate: Some(noisy(hr, 2.0).round()),
            resp_rate: Some(noisy(rr, 1.0).round()),
            spo2: Some(noisy(spo2, 0.5).round().min(100.0)),
            on_oxygen: Some(false),
            temperature: Some((noisy(temp, 0.1) * 10.0).round() / 10.0),
            systolic: Some(noisy(sbp, 3.0).round()),
            diastolic: Some(noisy(sbp * 0.62, 2.0).round()),
            consciousness: Some(acvpu),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SpO2Scale;
    use crate::news2::{RiskBand, score};
    use rand::SeedableRng;

    fn band_at(script: Script, t: f64) -> RiskBand {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let patient = SimPatient::new(script, 0.0, &mut rng);
        score(&patient.vitals_at(t, &mut rng), SpO2Scale::Scale1).band
    }

    #[test]
    fn stable_residents_stay_low_and_deteriorations_reach_their_band() {
        assert_eq!(band_at(Script::Stable, 1000.0), RiskBand::Low);
        assert_eq!(band_at(Script::Sepsis, 0.0), RiskBand::Low);
        assert_eq!(band_at(Script::Sepsis, 700.0), RiskBand::High);
        assert!(band_at(Script::Hypoxia, 200.0) >= RiskBand::Medium);
        assert!(band_at(Script::Fall, 10.0) >= RiskBand::LowMedium);
        assert_eq!(band_at(Script::Fall, 400.0), RiskBand::Low);
    }

    #[test]
    fn a_stable_patient_wanders_slowly_around_the_baseline() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let patient = SimPatient::new(Script::Stable, 0.0, &mut rng);
        let mean_hr = |from_s: f64, rng: &mut rand::rngs::StdRng| {
            let sum: f64 = (0..60)
                .map(|i| {
                    patient
                        .vitals_at(from_s + i as f64, rng)
                        .heart_rate
                        .unwrap_or(0.0)
                })
                .sum();
            sum / 60.0
        };
        let means: Vec<f64> = (0..10)
            .map(|m| mean_hr(60.0 * m as f64, &mut rng))
            .collect();
        let (lo, hi) = means
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &m| (lo.min(m), hi.max(m)));
        assert!(hi - lo > 2.0, "the minute means move: {means:?}");
        assert!(
            means
                .iter()
                .all(|m| (patient.baseline_hr - 5.0..=patient.baseline_hr + 5.0).contains(m))
        );
    }
}
