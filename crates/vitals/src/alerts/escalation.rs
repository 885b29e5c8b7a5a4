//! A person escalating an alert at once, without waiting for the escalation timer: the next
//! role of the chain is paged now, and its timer starts again from now.

use super::engine::{AlertEngine, validate_actor};
use super::{AlertError, EventKind};

impl AlertEngine {
    /// Pages the next role of the escalation chain about alert `id` now, on behalf of `by`
    /// (who is the audit trail's to record). An acknowledgement stays (someone is on it and
    /// wants help); a snooze ends (the alert wants attention). Refused at the end of the chain.
    pub fn escalate(&mut self, id: u64, by: &str, now: i64) -> Result<(), AlertError> {
        validate_actor(by)?;
        let current = self.find_mut(id)?;
        let (level, paged) = (current.escalation_level + 1, current.notified_role.clone());
        if level >= self.config.escalation_chain.len() {
            return Err(AlertError::EndOfChain(id, paged));
        }
        let role = self.config.role(level);
        let alert = self.find_mut(id)?;
        alert.escalation_level = level;
        alert.notified_role = role.clone();
        alert.last_notified_ms = now;
        alert.updated_at_ms = now;
        alert.snoozed = None;
        let alert = alert.clone();
        self.emit(EventKind::Escalated, Some(role), alert, now);
        Ok(())
    }
}
