//! The NEWS2 rule: band to severity, hysteresis before resolving (`resolve_after_readings`,
//! `resolve_after_ms`) and re-notification when the score rises within the high band (`renotify_rise`).

use super::engine::{AlertEngine, Condition};
use super::hysteresis::clear_reading;
use super::{EventKind, Rule};
use crate::news2::RiskBand;
use crate::tracker::Assessment;

impl AlertEngine {
    pub(super) fn news2_condition(&self, a: &Assessment) -> Option<Condition> {
        let severity = match a.news2.band {
            band if band < self.config.news2_min_band => return None,
            RiskBand::Low => return None,
            RiskBand::LowMedium => 1,
            RiskBand::Medium => 2,
            RiskBand::High => 3,
        };
        let partial = if a.news2.complete {
            ""
        } else {
            ", some parameters missing"
        };
        Some(Condition {
            severity,
            message: format!(
                "NEWS2 {} ({}{}){}",
                a.news2.aggregate,
                a.news2.band.label(),
                if a.news2.red_score { ", red score" } else { "" },
                partial
            ),
            patient: Some(a.patient.clone()),
        })
    }

    /// NEWS2 with its two clinical refinements: hysteresis (`resolve_after_readings` clear
    /// readings in a row resolve) and re-notification within the high band (`renotify_rise`).
    pub(super) fn evaluate_news2(
        &mut self,
        a: &Assessment,
        condition: Option<Condition>,
        now: i64,
    ) {
        let patient = &a.patient;
        let key = (Rule::News2, patient.clone());
        let Some(alert) = self.active.get(&key) else {
            self.news2_clear.remove(patient);
            if condition.is_some() {
                self.news2_paged.insert(patient.clone(), a.news2.aggregate);
                self.evaluate(Rule::News2, patient, condition, now);
            }
            return;
        };
        let Some(c) = condition else {
            if clear_reading(&mut self.news2_clear, &self.config, patient, now) {
                self.news2_paged.remove(patient);
                self.evaluate(Rule::News2, patient, None, now);
            }
            return;
        };
        self.news2_clear.remove(patient);
        let (peak, rise) = (alert.peak_severity, self.config.renotify_rise);
        let paged = self.news2_paged.get(patient).copied().unwrap_or(u8::MAX);
        let risen = rise > 0 && a.news2.aggregate >= paged.saturating_add(rise);
        if c.severity == 3 && alert.severity == 3 && risen {
            self.news2_paged.insert(patient.clone(), a.news2.aggregate);
            self.renotify(&key, c, now);
        } else {
            if c.severity > peak {
                self.news2_paged.insert(patient.clone(), a.news2.aggregate);
            }
            self.evaluate(Rule::News2, patient, Some(c), now);
        }
    }

    /// Pages the current role again about an alert that got worse within its severity (as a
    /// worsening above the peak does: acknowledgement and snooze are cleared).
    fn renotify(&mut self, key: &(Rule, String), c: Condition, now: i64) {
        let Some(alert) = self.active.get_mut(key) else {
            return;
        };
        alert.message = c.message;
        alert.acknowledged = None;
        alert.snoozed = None;
        alert.last_notified_ms = now;
        alert.updated_at_ms = now;
        let (role, alert) = (alert.notified_role.clone(), alert.clone());
        self.emit(EventKind::Worsened, Some(role), alert, now);
    }
}
