//! Restoring the engine from stored alerts after a restart: the unresolved alerts come back with
//! their ids, acknowledgements, snoozes and escalation levels, ids go on from the highest ever
//! given, and each NEWS2 alert's re-notification baseline is put back.

use super::engine::AlertEngine;
use super::{Alert, Rule};

impl AlertEngine {
    /// Takes back the unresolved `alerts` a previous run left (resolved ones are ignored) and
    /// makes the next id at least `next_id`, so no id is given twice. Each alert's escalation
    /// goes on from its stored `last_notified_ms` (wall time): one whose deadline passed while the
    /// hub was down escalates at the first [`AlertEngine::handle_timeout`].
    pub fn restore(&mut self, alerts: impl IntoIterator<Item = Alert>, next_id: u64) {
        let highest = self.adopt(alerts);
        self.next_id = self.next_id.max(next_id).max(highest.saturating_add(1));
    }

    /// Takes the unresolved `alerts` in (as [`AlertEngine::restore`]) without touching the ids
    /// this engine gives; returns the highest id among them.
    pub(super) fn adopt(&mut self, alerts: impl IntoIterator<Item = Alert>) -> u64 {
        let mut highest = 0;
        for alert in alerts {
            highest = highest.max(alert.id);
            if alert.resolved_at_ms.is_some() {
                continue;
            }
            // A NEWS2 or low-SpO2 alert resolves only after clear readings counted from now on.
            let counts = match alert.rule {
                Rule::News2 => Some(&mut self.news2_clear),
                Rule::SustainedLowSpo2 => Some(&mut self.spo2_clear),
                _ => None,
            };
            if let Some(counts) = counts {
                counts.remove(&alert.subject);
            }
            self.active
                .insert((alert.rule, alert.subject.clone()), alert);
        }
        highest
    }

    /// The NEWS2 aggregate last paged about `patient` (the re-notification baseline) while its
    /// NEWS2 alert is active; what the hub stores beside the alert.
    pub fn news2_baseline(&self, patient: &str) -> Option<u8> {
        self.news2_paged.get(patient).copied()
    }

    /// Puts back a stored re-notification baseline; ignored unless `patient` has an active
    /// NEWS2 alert (restore the alerts first).
    pub fn restore_news2_baseline(&mut self, patient: &str, aggregate: u8) {
        if self
            .active
            .contains_key(&(Rule::News2, patient.to_string()))
        {
            self.news2_paged.insert(patient.to_string(), aggregate);
        }
    }
}
