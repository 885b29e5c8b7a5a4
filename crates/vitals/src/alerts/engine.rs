//! The alert engine: evaluates the rules and drives each alert through its lifecycle.

use super::hysteresis::ClearCounts;
use super::liveness::Liveness;
use super::{Acknowledgement, Alert, AlertConfig, AlertError, AlertEvent, EventKind, Rule, Snooze};
use crate::tracker::Assessment;
use std::collections::{BTreeMap, VecDeque};

/// How many resolved alerts are kept for listing.
const RESOLVED_KEPT: usize = 1000;
const MIN_SNOOZE_MS: i64 = 60_000;
const MAX_SNOOZE_MS: i64 = 24 * 3600 * 1000;

/// A rule's verdict: the alert should be active with this severity and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// 1 (least urgent) to 3 (most).
    pub severity: u8,
    pub message: String,
    pub patient: Option<String>,
}

/// The alert engine. Deterministic: same inputs and `now`s, same events.
#[derive(Debug, Clone)]
pub struct AlertEngine {
    pub(super) config: AlertConfig,
    pub(super) active: BTreeMap<(Rule, String), Alert>,
    resolved: VecDeque<Alert>,
    pub(super) next_id: u64,
    pub(super) low_spo2_since: BTreeMap<String, i64>,
    /// NEWS2 aggregate of each patient's last NEWS2 page (re-notification baseline).
    pub(super) news2_paged: BTreeMap<String, u8>,
    /// Consecutive readings under the NEWS2 threshold while the alert is active, and the time
    /// of the first of them (hysteresis).
    pub(super) news2_clear: ClearCounts,
    /// The same for each patient's sustained-low-SpO2 alert.
    pub(super) spo2_clear: ClearCounts,
    pub(super) liveness: Liveness,
    events: VecDeque<AlertEvent>,
}

impl AlertEngine {
    pub fn new(config: AlertConfig) -> Self {
        AlertEngine {
            config,
            active: BTreeMap::new(),
            resolved: VecDeque::new(),
            next_id: 1,
            low_spo2_since: BTreeMap::new(),
            news2_paged: BTreeMap::new(),
            news2_clear: BTreeMap::new(),
            spo2_clear: BTreeMap::new(),
            liveness: Liveness::default(),
            events: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &AlertConfig {
        &self.config
    }

    /// A scored measurement: evaluates NEWS2 and sustained-low-SpO2, and marks the device live
    /// (not for an Observation posted over FHIR: no device sent it, none can go offline).
    pub fn handle_assessment(&mut self, assessment: &Assessment, now: i64) {
        let device = &assessment.device;
        if crate::fhir::posted_device(device).is_none() {
            self.liveness
                .heard(device, Some(&assessment.patient), now)
                .last_data_ms = now;
            self.evaluate(Rule::DeviceOffline, device, None, now);
            self.evaluate(Rule::NoData, device, None, now);
        }
        let news2 = self.news2_condition(assessment);
        self.evaluate_news2(assessment, news2, now);
        self.evaluate_low_spo2(assessment, now);
    }

    /// A heartbeat: the device is alive (it may still send no data).
    pub fn handle_heartbeat(&mut self, device: &str, patient: Option<&str>, now: i64) {
        self.liveness.heard(device, patient, now);
        self.evaluate(Rule::DeviceOffline, device, None, now);
    }

    /// A status message; `online == false` is how the device's last will arrives.
    pub fn handle_status(&mut self, device: &str, online: bool, patient: Option<&str>, now: i64) {
        let seen = self.liveness.heard(device, patient, now);
        if online {
            self.evaluate(Rule::DeviceOffline, device, None, now);
        } else {
            seen.announced_offline = true;
            let patient = seen.patient.clone();
            let condition = Condition {
                severity: 1,
                message: format!("device {device} went offline (status or last will)"),
                patient,
            };
            self.evaluate(Rule::DeviceOffline, device, Some(condition), now);
        }
    }

    /// A verdict reached outside the engine (the ECG monitor's rhythm and signal-quality
    /// alarms): `Some` raises or updates the alert for (rule, subject), `None` resolves it.
    /// The lifecycle (acknowledge, escalate, snooze, resolve) is the same as for every rule.
    pub fn handle_condition(
        &mut self,
        rule: Rule,
        subject: &str,
        condition: Option<Condition>,
        now: i64,
    ) {
        self.evaluate(rule, subject, condition, now);
    }

    /// Acknowledges an alert: stops escalation and repeat notifications at its current peak.
    pub fn acknowledge(&mut self, id: u64, by: &str, now: i64) -> Result<(), AlertError> {
        validate_actor(by)?;
        let alert = self.find_mut(id)?;
        alert.acknowledged = Some(Acknowledgement {
            by: by.to_string(),
            at_ms: now,
        });
        alert.snoozed = None;
        alert.updated_at_ms = now;
        let alert = alert.clone();
        self.emit(EventKind::Acknowledged, None, alert, now);
        Ok(())
    }

    /// Snoozes an alert for `for_ms`: notifications at or below its peak severity are muted;
    /// a worse reading still fires and ends the snooze.
    pub fn snooze(&mut self, id: u64, by: &str, for_ms: i64, now: i64) -> Result<(), AlertError> {
        validate_actor(by)?;
        if !(MIN_SNOOZE_MS..=MAX_SNOOZE_MS).contains(&for_ms) {
            return Err(AlertError::BadSnoozeDuration(for_ms));
        }
        let alert = self.find_mut(id)?;
        alert.snoozed = Some(Snooze {
            by: by.to_string(),
            until_ms: now + for_ms,
            severity: alert.peak_severity,
        });
        alert.updated_at_ms = now;
        let alert = alert.clone();
        self.emit(EventKind::Snoozed, None, alert, now);
        Ok(())
    }

    /// Runs everything due at `now`: snooze ends, escalations, offline and no-data detection.
    pub fn handle_timeout(&mut self, now: i64) {
        let escalate_after = self.config.escalate_after_ms;
        let chain_len = self.config.escalation_chain.len();
        let mut due = Vec::new();
        for alert in self.active.values_mut() {
            if alert.snoozed.as_ref().is_some_and(|s| s.until_ms <= now) {
                alert.snoozed = None;
                if alert.acknowledged.is_none() {
                    alert.last_notified_ms = now;
                    due.push((
                        EventKind::SnoozeEnded,
                        alert.escalation_level,
                        alert.clone(),
                    ));
                }
                continue;
            }
            let waiting = alert.acknowledged.is_none() && alert.snoozed.is_none();
            if waiting
                && now - alert.last_notified_ms >= escalate_after
                && alert.escalation_level + 1 < chain_len
            {
                alert.escalation_level += 1;
                alert.last_notified_ms = now;
                alert.updated_at_ms = now;
                alert.notified_role = self.config.role(alert.escalation_level);
                due.push((EventKind::Escalated, alert.escalation_level, alert.clone()));
            }
        }
        for (kind, level, alert) in due {
            let role = self.config.role(level);
            self.emit(kind, Some(role), alert, now);
        }
        self.detect_silent_devices(now);
    }

    /// The next time [`AlertEngine::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<i64> {
        let chain_len = self.config.escalation_chain.len();
        let alerts = self
            .active
            .values()
            .filter_map(|a| match (&a.snoozed, &a.acknowledged) {
                (Some(snooze), _) => Some(snooze.until_ms),
                (None, None) if a.escalation_level + 1 < chain_len => {
                    Some(a.last_notified_ms + self.config.escalate_after_ms)
                }
                _ => None,
            });
        let devices = self.liveness.devices.iter().filter_map(|(id, seen)| {
            let offline = self.active.contains_key(&(Rule::DeviceOffline, id.clone()));
            let no_data = self.active.contains_key(&(Rule::NoData, id.clone()));
            match (offline, no_data) {
                (true, _) => None,
                (false, true) => Some(seen.last_seen_ms + self.config.offline_after_ms),
                (false, false) => Some(
                    (seen.last_seen_ms + self.config.offline_after_ms)
                        .min(seen.last_data_ms + self.config.no_data_after_ms),
                ),
            }
        });
        alerts.chain(devices).min()
    }

    /// The next event to push, oldest first.
    pub fn poll_output(&mut self) -> Option<AlertEvent> {
        self.events.pop_front()
    }

    /// Active alerts, most severe first, then oldest first.
    pub fn active(&self) -> Vec<&Alert> {
        let mut alerts: Vec<&Alert> = self.active.values().collect();
        alerts.sort_by_key(|a| (std::cmp::Reverse(a.severity), a.raised_at_ms, a.id));
        alerts
    }

    /// Recently resolved alerts, newest first.
    pub fn resolved(&self) -> impl Iterator<Item = &Alert> {
        self.resolved.iter().rev()
    }

    /// An active or recently resolved alert by id.
    pub fn get(&self, id: u64) -> Option<&Alert> {
        self.active
            .values()
            .chain(self.resolved.iter())
            .find(|a| a.id == id)
    }

    pub(super) fn find_mut(&mut self, id: u64) -> Result<&mut Alert, AlertError> {
        self.active
            .values_mut()
            .find(|a| a.id == id)
            .ok_or(AlertError::NotFound(id))
    }

    fn detect_silent_devices(&mut self, now: i64) {
        let mut conditions = Vec::new();
        for (device, seen) in &self.liveness.devices {
            let silent_ms = now - seen.last_seen_ms;
            if silent_ms >= self.config.offline_after_ms {
                let message = format!("no message from device {device} for {} s", silent_ms / 1000);
                conditions.push((
                    Rule::DeviceOffline,
                    device.clone(),
                    seen.patient.clone(),
                    message,
                ));
            } else if !seen.announced_offline
                && now - seen.last_data_ms >= self.config.no_data_after_ms
            {
                let message = format!(
                    "device {device} is online but sent no measurement for {} s",
                    (now - seen.last_data_ms) / 1000
                );
                conditions.push((Rule::NoData, device.clone(), seen.patient.clone(), message));
            }
        }
        for (rule, device, patient, message) in conditions {
            if !self.active.contains_key(&(rule, device.clone())) {
                let condition = Condition {
                    severity: 1,
                    message,
                    patient,
                };
                self.evaluate(rule, &device, Some(condition), now);
            }
        }
    }

    /// Moves the alert for (rule, subject) to what `condition` says, emitting events.
    pub(super) fn evaluate(
        &mut self,
        rule: Rule,
        subject: &str,
        condition: Option<Condition>,
        now: i64,
    ) {
        let key = (rule, subject.to_string());
        match (self.active.get_mut(&key), condition) {
            (None, None) => {}
            (Some(_), None) => {
                if let Some(mut alert) = self.active.remove(&key) {
                    alert.resolved_at_ms = Some(now);
                    alert.updated_at_ms = now;
                    self.resolved.push_back(alert.clone());
                    if self.resolved.len() > RESOLVED_KEPT {
                        self.resolved.pop_front();
                    }
                    self.emit(EventKind::Resolved, None, alert, now);
                }
            }
            (None, Some(c)) => {
                let role = self.config.role(0);
                let alert = Alert {
                    id: self.next_id,
                    rule,
                    subject: subject.to_string(),
                    patient: c.patient,
                    severity: c.severity,
                    peak_severity: c.severity,
                    message: c.message,
                    raised_at_ms: now,
                    updated_at_ms: now,
                    escalation_level: 0,
                    notified_role: role.clone(),
                    last_notified_ms: now,
                    acknowledged: None,
                    snoozed: None,
                    resolved_at_ms: None,
                };
                self.next_id += 1;
                self.active.insert(key, alert.clone());
                self.emit(EventKind::Raised, Some(role), alert, now);
            }
            (Some(alert), Some(c)) => {
                if c.severity == alert.severity {
                    // Same severity: the message (e.g. the NEWS2 aggregate) is kept current,
                    // nobody is paged.
                    if c.message != alert.message {
                        alert.message = c.message;
                        alert.updated_at_ms = now;
                    }
                    return;
                }
                let (kind, notify) = if c.severity > alert.peak_severity {
                    alert.peak_severity = c.severity;
                    alert.acknowledged = None;
                    alert.snoozed = None;
                    alert.last_notified_ms = now;
                    (EventKind::Worsened, Some(alert.notified_role.clone()))
                } else if c.severity > alert.severity {
                    (EventKind::Worsened, None)
                } else {
                    (EventKind::Improved, None)
                };
                alert.severity = c.severity;
                alert.message = c.message;
                alert.updated_at_ms = now;
                let alert = alert.clone();
                self.emit(kind, notify, alert, now);
            }
        }
    }

    pub(super) fn emit(&mut self, kind: EventKind, notify: Option<String>, alert: Alert, now: i64) {
        self.events.push_back(AlertEvent {
            kind,
            at_ms: now,
            notify,
            alert,
        });
    }
}

pub(super) fn validate_actor(by: &str) -> Result<(), AlertError> {
    let printable = by.chars().all(|c| !c.is_control());
    if by.trim().is_empty() || by.chars().count() > 64 || !printable {
        return Err(AlertError::BadActor);
    }
    Ok(())
}
