//! What happened, by whom: the audit record a role's core emits for every admission decision,
//! request, supervisor transition, control change and configuration change. The edge appends
//! each record to a hash-chained log (see `chain`) with the wall-clock time it was written.

use crate::identity::Identity;
use serde::{Deserialize, Serialize};

/// The kind of thing that happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// The role started, with its configuration (subject: a summary of it).
    Started,
    /// A peer asked to join: admitted or refused, naming the rule.
    Admission,
    /// A peer's connection ended.
    Disconnected,
    /// A person's request (enable, engage, disengage, e-stop...): granted or refused, with why.
    Request,
    /// The supervisor changed state.
    Transition,
    /// Who has control changed or was asked to change (offer, accept, decline, take over, hand
    /// back, bedside confirmation).
    Control,
    /// The configuration, policy or revocation list changed while running.
    Configuration,
    /// The role stopped.
    Stopped,
}

impl AuditAction {
    pub fn name(self) -> &'static str {
        match self {
            AuditAction::Started => "started",
            AuditAction::Admission => "admission",
            AuditAction::Disconnected => "disconnected",
            AuditAction::Request => "request",
            AuditAction::Transition => "transition",
            AuditAction::Control => "control",
            AuditAction::Configuration => "configuration",
            AuditAction::Stopped => "stopped",
        }
    }
}

/// One audited fact, as a core states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When, on the role's own clock (µs since its epoch).
    pub at_us: i64,
    /// Who acted; `None` when the role itself did (a watchdog, a start).
    pub actor: Option<Identity>,
    pub action: AuditAction,
    /// What was acted on ("engage", "ENGAGED -> HOLD", "session 3").
    pub subject: String,
    /// How it ended ("granted", "refused: <reason>", "admitted: <rule>").
    pub outcome: String,
}

impl AuditRecord {
    pub fn new(
        at_us: i64,
        actor: Option<&Identity>,
        action: AuditAction,
        subject: impl Into<String>,
        outcome: impl Into<String>,
    ) -> Self {
        Self {
            at_us,
            actor: actor.cloned(),
            action,
            subject: subject.into(),
            outcome: outcome.into(),
        }
    }
}

/// Where a role's audit records go. `push` must never block: the station's servo thread calls it
/// (the audit log's writer thread does the IO).
pub trait AuditSink: Send + Sync {
    fn push(&self, record: AuditRecord);
}
