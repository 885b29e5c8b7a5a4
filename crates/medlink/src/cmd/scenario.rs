//! Scripted patients for the simulators: stable residents and scripted deteriorations
//! (sepsis-like drift, hypoxia, a fall), deterministic for a seed.

use rand::Rng;
use vitals::{Acvpu, Vitals};

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

    /// Vitals at simulated time `t_s`, with measurement noise from `rng`.
    pub fn vitals_at(&self, t_s: f64, rng: &mut impl Rng) -> Vitals {
        let since = t_s - self.onset_s;
        let ramp = |seconds: f64| (since / seconds).clamp(0.0, 1.0);
        let (mut hr, mut rr, mut spo2, mut temp, mut sbp) =
            (self.baseline_hr, 15.0, 97.5, 36.8, self.baseline_sbp);
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

/// The JSON payload of docs/ingest.md for one measurement.
pub fn payload(patient: &str, seq: u64, time_ms: i64, v: &Vitals) -> String {
    serde_json::json!({
        "patient": patient, "seq": seq, "time_ms": time_ms,
        "hr": v.heart_rate, "rr": v.resp_rate, "spo2": v.spo2, "o2": v.on_oxygen,
        "temp": v.temperature, "sbp": v.systolic, "dbp": v.diastolic,
        "acvpu": v.consciousness.map(|c| c.letter()),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use vitals::SpO2Scale;
    use vitals::news2::{RiskBand, score};
    use vitals::payload::decode_vitals;

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
    fn payloads_decode_with_the_hub_decoder() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let v = SimPatient::new(Script::Sepsis, 0.0, &mut rng).vitals_at(650.0, &mut rng);
        let m = decode_vitals("w-1", payload("r-1", 9, 123, &v).as_bytes()).unwrap();
        assert_eq!(m.vitals, v);
        assert_eq!(m.seq, 9);
    }
}
