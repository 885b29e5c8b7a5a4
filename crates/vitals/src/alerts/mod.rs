//! Alert rules and their lifecycle: raise, worsen, acknowledge, escalate, snooze, resolve.
//!
//! The engine is sans-IO in the shape of quinn-proto: feed it assessments and device events with
//! `now`, call [`AlertEngine::handle_timeout`] at [`AlertEngine::poll_timeout`], and drain
//! [`AlertEngine::poll_output`] for the events to push to people.

mod config;
mod engine;
mod escalation;
mod handover;
mod hysteresis;
mod liveness;
mod news2_rule;
mod restore;
mod spo2_rule;

pub use config::{AlertConfig, SustainedLowSpo2};
pub use engine::{AlertEngine, Condition};

use serde::{Deserialize, Serialize};

/// Which rule an alert comes from. One active alert per (rule, subject): no duplicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// NEWS2 band at or above the configured minimum; subject = patient.
    News2,
    /// SpO2 under a threshold for a sustained time; subject = patient.
    SustainedLowSpo2,
    /// Last will, `offline` status, or no message for a while; subject = device.
    DeviceOffline,
    /// The device is alive but sends no measurements; subject = device.
    NoData,
    /// ECG heart rate under the bradycardia limit; subject = the ECG stream (`{device}.ecg.{lead}`).
    Bradycardia,
    /// ECG heart rate over the tachycardia limit; subject = the ECG stream.
    Tachycardia,
    /// No heartbeat in the ECG for more than the pause limit (asystole); subject = the ECG stream.
    Pause,
    /// An irregularly irregular rhythm suggestive of atrial fibrillation; subject = the ECG stream.
    IrregularRhythm,
    /// The ECG signal is unusable (lead off, flat line, saturation, heavy noise); subject = the
    /// ECG stream. Rhythm alerts of that stream are held back while it is active.
    CheckElectrodes,
}

/// Who acknowledged an alert and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Acknowledgement {
    pub by: String,
    pub at_ms: i64,
}

/// A snooze: notifications at or below `severity` are muted until `until_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snooze {
    pub by: String,
    pub until_ms: i64,
    pub severity: u8,
}

/// One alert. `severity` is ordered within a rule (1 = least urgent, 3 = most).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: u64,
    pub rule: Rule,
    pub subject: String,
    pub patient: Option<String>,
    pub severity: u8,
    /// Highest severity since the alert was raised; only going above it notifies again.
    pub peak_severity: u8,
    pub message: String,
    pub raised_at_ms: i64,
    pub updated_at_ms: i64,
    /// Index into the escalation chain of the role notified last.
    pub escalation_level: usize,
    pub notified_role: String,
    pub last_notified_ms: i64,
    pub acknowledged: Option<Acknowledgement>,
    pub snoozed: Option<Snooze>,
    pub resolved_at_ms: Option<i64>,
}

/// What happened to an alert; the ones with `notify` set page someone.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum EventKind {
    Raised,
    Worsened,
    Improved,
    Escalated,
    SnoozeEnded,
    Acknowledged,
    Snoozed,
    Resolved,
}

/// An alert event for push to clients, with the role to page (if any).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertEvent {
    pub kind: EventKind,
    pub at_ms: i64,
    /// The role paged by this event, or `None` for a state change that pages nobody.
    pub notify: Option<String>,
    pub alert: Alert,
}

/// Errors of the acknowledge, snooze and escalate commands (they come from users).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    #[error("no active alert with id {0}")]
    NotFound(u64),
    #[error("snooze duration {0} ms is outside 1 minute..=24 hours")]
    BadSnoozeDuration(i64),
    #[error("the name of who acts must be 1-64 printable characters")]
    BadActor,
    #[error("alert {0} is already with {1}, the end of the escalation chain")]
    EndOfChain(u64, String),
}
