//! The sustained-low-SpO2 rule: SpO2 under `threshold` for `for_ms` raises (severity from how far
//! under), and an active alert resolves only with the NEWS2 rule's hysteresis
//! (`resolve_after_readings`, `resolve_after_ms`; see [`super::hysteresis`]).

use super::Rule;
use super::engine::{AlertEngine, Condition};
use super::hysteresis::clear_reading;
use crate::tracker::Assessment;

impl AlertEngine {
    pub(super) fn evaluate_low_spo2(&mut self, a: &Assessment, now: i64) {
        let (Some(rule), Some(spo2)) = (&self.config.sustained_low_spo2, a.new_spo2) else {
            return;
        };
        let (threshold, for_ms) = (rule.threshold, rule.for_ms);
        let patient = &a.patient;
        let active = self
            .active
            .contains_key(&(Rule::SustainedLowSpo2, patient.clone()));
        if spo2 >= threshold {
            if !active {
                self.spo2_clear.remove(patient);
                self.low_spo2_since.remove(patient);
            } else if clear_reading(&mut self.spo2_clear, &self.config, patient, now) {
                self.low_spo2_since.remove(patient);
                self.evaluate(Rule::SustainedLowSpo2, patient, None, now);
            }
            // Otherwise the alert stays, and so does when SpO2 first went low: a low reading
            // before it resolves updates the same alert.
            return;
        }
        self.spo2_clear.remove(patient);
        let since = *self.low_spo2_since.entry(patient.clone()).or_insert(now);
        if now - since >= for_ms {
            let severity = (1.0 + ((threshold - spo2) / 5.0).floor()).clamp(1.0, 3.0) as u8;
            let condition = Condition {
                severity,
                message: format!(
                    "SpO2 {spo2:.0} % under {threshold:.0} % for {} s",
                    (now - since) / 1000
                ),
                patient: Some(patient.clone()),
            };
            self.evaluate(Rule::SustainedLowSpo2, patient, Some(condition), now);
        }
    }
}
