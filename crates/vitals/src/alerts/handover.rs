//! Handing patients between engines when several hubs share a ward (each patient's alerts have
//! one owner at a time): the engine that gains a patient takes its unresolved alerts and NEWS2
//! baseline from the journal ([`AlertEngine::take_over`]); the one that loses it forgets them
//! without a word ([`AlertEngine::hand_over`]), so nothing is raised, resolved or escalated
//! twice. Alert ids come from blocks each hub reserves in the shared store
//! ([`AlertEngine::continue_ids_at`]), so two hubs never give the same id.

use super::Alert;
use super::engine::AlertEngine;

impl AlertEngine {
    /// Takes in the unresolved `alerts` of patients this engine now owns, with their ids,
    /// acknowledgements, snoozes and escalation levels (deadlines are wall times: escalation goes
    /// on); the ids this engine gives are left as they are.
    pub fn take_over(&mut self, alerts: impl IntoIterator<Item = Alert>) {
        self.adopt(alerts);
    }

    /// Forgets, silently, every alert, NEWS2 and low-SpO2 state and device liveness that
    /// `leaves` says belongs to a patient this engine no longer owns (`leaves(patient)`; device
    /// alerts and devices by the patient they are registered to). Returns how many alerts went.
    pub fn hand_over(&mut self, leaves: impl Fn(&str) -> bool) -> usize {
        let gone = |patient: &Option<String>| patient.as_deref().is_some_and(&leaves);
        let before = self.active.len();
        self.active
            .retain(|(_, subject), a| !gone(&a.patient) && !leaves(subject));
        let forgotten = before - self.active.len();
        self.news2_paged.retain(|p, _| !leaves(p));
        self.news2_clear.retain(|p, _| !leaves(p));
        self.spo2_clear.retain(|p, _| !leaves(p));
        self.low_spo2_since.retain(|p, _| !leaves(p));
        self.liveness.devices.retain(|_, seen| !gone(&seen.patient));
        forgotten
    }

    /// The id the next alert gets.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Gives the next ids from `start` on (the start of a block reserved in the shared store).
    pub fn continue_ids_at(&mut self, start: u64) {
        self.next_id = start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{AlertConfig, EventKind};

    fn offline(engine: &mut AlertEngine, device: &str, patient: &str) {
        engine.handle_heartbeat(device, Some(patient), 0);
        engine.handle_timeout(AlertConfig::default().offline_after_ms + 1);
    }

    #[test]
    fn an_alert_handed_over_is_raised_once_and_escalates_on_the_new_owner() {
        let config = AlertConfig::default();
        let mut old = AlertEngine::new(config.clone());
        offline(&mut old, "d-1", "p-1");
        offline(&mut old, "d-2", "p-2");
        let raised: Vec<Alert> = std::iter::from_fn(|| old.poll_output())
            .filter(|e| e.kind == EventKind::Raised)
            .map(|e| e.alert)
            .collect();
        assert_eq!(raised.len(), 2);
        assert_eq!(old.hand_over(|p| p == "p-1"), 1);
        assert_eq!(old.active().len(), 1);
        // The old owner no longer watches d-1: silence raises nothing more.
        old.handle_timeout(10 * config.offline_after_ms);
        assert!(std::iter::from_fn(|| old.poll_output()).all(|e| e.alert.subject != "d-1"));

        let mut new = AlertEngine::new(config.clone());
        new.continue_ids_at(1_000);
        new.take_over(raised.into_iter().filter(|a| a.subject == "d-1"));
        assert_eq!(new.next_id(), 1_000);
        // The device is still offline: the same alert stays, nothing is raised again, and it
        // escalates when its (wall-time) deadline passes.
        new.handle_status("d-1", false, Some("p-1"), 100);
        let later = config.offline_after_ms + 1 + config.escalate_after_ms;
        new.handle_timeout(later);
        let events: Vec<_> = std::iter::from_fn(|| new.poll_output()).collect();
        assert!(
            events.iter().all(|e| e.kind != EventKind::Raised),
            "{events:?}"
        );
        assert!(
            events.iter().any(|e| e.kind == EventKind::Escalated),
            "{events:?}"
        );
    }
}
