//! Keeps the latest value of each vital sign per patient and scores NEWS2 over the fresh ones.
//!
//! Wearables report some parameters often and others rarely, so NEWS2 is computed over the
//! latest value of each parameter that is not older than `fresh_for_ms` (device time).

use crate::model::{Acvpu, Measurement, SpO2Scale, Vitals};
use crate::news2::{self, News2};
use serde::Serialize;
use std::collections::HashMap;

/// A value with the device time it was measured at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
struct Timed<T> {
    value: T,
    time_ms: i64,
}

#[derive(Debug, Clone, Default)]
struct LatestVitals {
    heart_rate: Option<Timed<f64>>,
    resp_rate: Option<Timed<f64>>,
    spo2: Option<Timed<f64>>,
    on_oxygen: Option<Timed<bool>>,
    temperature: Option<Timed<f64>>,
    systolic: Option<Timed<f64>>,
    diastolic: Option<Timed<f64>>,
    consciousness: Option<Timed<Acvpu>>,
}

fn merge<T: Copy>(slot: &mut Option<Timed<T>>, value: Option<T>, time_ms: i64) {
    if let Some(value) = value
        && slot.is_none_or(|old| old.time_ms <= time_ms)
    {
        *slot = Some(Timed { value, time_ms });
    }
}

fn fresh<T: Copy>(slot: Option<Timed<T>>, since_ms: i64) -> Option<T> {
    slot.filter(|t| t.time_ms >= since_ms).map(|t| t.value)
}

impl LatestVitals {
    fn merge(&mut self, v: &Vitals, t: i64) {
        merge(&mut self.heart_rate, v.heart_rate, t);
        merge(&mut self.resp_rate, v.resp_rate, t);
        merge(&mut self.spo2, v.spo2, t);
        merge(&mut self.on_oxygen, v.on_oxygen, t);
        merge(&mut self.temperature, v.temperature, t);
        merge(&mut self.systolic, v.systolic, t);
        merge(&mut self.diastolic, v.diastolic, t);
        merge(&mut self.consciousness, v.consciousness, t);
    }

    fn fresh_since(&self, since_ms: i64) -> Vitals {
        Vitals {
            heart_rate: fresh(self.heart_rate, since_ms),
            resp_rate: fresh(self.resp_rate, since_ms),
            spo2: fresh(self.spo2, since_ms),
            on_oxygen: fresh(self.on_oxygen, since_ms),
            temperature: fresh(self.temperature, since_ms),
            systolic: fresh(self.systolic, since_ms),
            diastolic: fresh(self.diastolic, since_ms),
            consciousness: fresh(self.consciousness, since_ms),
        }
    }
}

/// What the hub knows about one patient right now.
#[derive(Debug, Clone, Serialize)]
pub struct PatientSummary {
    pub patient: String,
    pub scale: u8,
    pub vitals: Vitals,
    pub news2: Option<News2>,
    pub last_measurement_ms: Option<i64>,
}

#[derive(Debug, Clone, Default)]
struct PatientState {
    latest: LatestVitals,
    scale: SpO2Scale,
    news2: Option<News2>,
    last_measurement_ms: Option<i64>,
}

/// The result of scoring one measurement: the patient's NEWS2 and the values it was scored on.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub patient: String,
    pub device: String,
    pub news2: News2,
    pub vitals: Vitals,
    /// SpO2 carried by this very measurement (the sustained-low rule looks at new readings only).
    pub new_spo2: Option<f64>,
}

/// Latest vitals and NEWS2 per patient.
#[derive(Debug, Clone)]
pub struct PatientTracker {
    patients: HashMap<String, PatientState>,
    fresh_for_ms: i64,
}

/// Default freshness window: a parameter older than this does not count towards NEWS2.
pub const DEFAULT_FRESH_FOR_MS: i64 = 15 * 60 * 1000;

impl Default for PatientTracker {
    fn default() -> Self {
        PatientTracker::new(DEFAULT_FRESH_FOR_MS)
    }
}

impl PatientTracker {
    pub fn new(fresh_for_ms: i64) -> Self {
        PatientTracker {
            patients: HashMap::new(),
            fresh_for_ms,
        }
    }

    /// Sets a patient's SpO2 scale (a clinician's decision; the caller audits it).
    pub fn set_scale(&mut self, patient: &str, scale: SpO2Scale) {
        self.patients.entry(patient.to_string()).or_default().scale = scale;
    }

    /// The patient's SpO2 scale (Scale 1 unless set).
    pub fn scale(&self, patient: &str) -> SpO2Scale {
        self.patients
            .get(patient)
            .map(|p| p.scale)
            .unwrap_or_default()
    }

    /// Merges a measurement into the patient's latest values and scores NEWS2.
    pub fn observe(&mut self, m: &Measurement) -> Assessment {
        let state = self.patients.entry(m.patient.clone()).or_default();
        state.latest.merge(&m.vitals, m.time_ms);
        let newest = state
            .last_measurement_ms
            .map_or(m.time_ms, |t| t.max(m.time_ms));
        state.last_measurement_ms = Some(newest);
        let vitals = state.latest.fresh_since(newest - self.fresh_for_ms);
        let result = news2::score(&vitals, state.scale);
        state.news2 = Some(result);
        Assessment {
            patient: m.patient.clone(),
            device: m.device.clone(),
            news2: result,
            vitals,
            new_spo2: m.vitals.spo2,
        }
    }

    /// A summary of one patient, if the hub has heard of them.
    pub fn summary(&self, patient: &str) -> Option<PatientSummary> {
        self.patients.get(patient).map(|state| PatientSummary {
            patient: patient.to_string(),
            scale: state.scale.number(),
            vitals: state
                .latest
                .fresh_since(state.last_measurement_ms.unwrap_or(i64::MIN) - self.fresh_for_ms),
            news2: state.news2,
            last_measurement_ms: state.last_measurement_ms,
        })
    }

    /// Summaries of every patient, sorted by id.
    pub fn summaries(&self) -> Vec<PatientSummary> {
        let mut ids: Vec<&String> = self.patients.keys().collect();
        ids.sort();
        ids.into_iter().filter_map(|id| self.summary(id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::news2::RiskBand;

    fn measurement(seq: u64, time_ms: i64, vitals: Vitals) -> Measurement {
        Measurement {
            device: "d".into(),
            patient: "p".into(),
            seq,
            time_ms,
            vitals,
        }
    }

    #[test]
    fn merges_parameters_from_separate_measurements() {
        let mut tracker = PatientTracker::default();
        tracker.observe(&measurement(
            1,
            0,
            Vitals {
                heart_rate: Some(135.0),
                ..Vitals::default()
            },
        ));
        let a = tracker.observe(&measurement(
            2,
            10,
            Vitals {
                resp_rate: Some(26.0),
                ..Vitals::default()
            },
        ));
        assert_eq!(a.news2.aggregate, 6);
        assert_eq!(a.news2.band, RiskBand::Medium);
    }

    #[test]
    fn stale_parameters_stop_counting() {
        let mut tracker = PatientTracker::new(1000);
        tracker.observe(&measurement(
            1,
            0,
            Vitals {
                heart_rate: Some(135.0),
                ..Vitals::default()
            },
        ));
        let a = tracker.observe(&measurement(
            2,
            5000,
            Vitals {
                resp_rate: Some(16.0),
                ..Vitals::default()
            },
        ));
        assert_eq!(a.news2.aggregate, 0);
        assert_eq!(a.vitals.heart_rate, None);
    }

    #[test]
    fn scale_2_changes_the_spo2_score() {
        let mut tracker = PatientTracker::default();
        let v = Vitals {
            spo2: Some(88.0),
            on_oxygen: Some(false),
            ..Vitals::default()
        };
        assert_eq!(
            tracker.observe(&measurement(1, 0, v)).news2.sub_scores.spo2,
            Some(3)
        );
        tracker.set_scale("p", SpO2Scale::Scale2);
        assert_eq!(
            tracker.observe(&measurement(2, 1, v)).news2.sub_scores.spo2,
            Some(0)
        );
    }
}
