//! Actions people take at one hub on an alert another hub owns (several hubs, one ward): the
//! hub that was asked queues the action in the journal, the hub that owns the alert's patient
//! applies it (or refuses it) in the same transaction as the alert change and its audit row,
//! and the asking hub reads back how it went. An action is applied once, by whoever owns the
//! patient when it is read: a takeover in between does not lose it.

use crate::db::{Conn, Row};
use crate::values;
use crate::{AlertStore, NewAudit, StoreError};

/// The journal migration that adds the queue (appended to the journal's list).
pub(crate) const MIGRATION_SQLITE: &str = "
CREATE TABLE alert_actions (
    id              INTEGER PRIMARY KEY,
    alert_id        INTEGER NOT NULL,
    patient         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    snooze_ms       INTEGER,
    actor           TEXT NOT NULL,
    account         TEXT,
    asked_at_hub    TEXT NOT NULL,
    asked_at_ms     INTEGER NOT NULL,
    state           TEXT NOT NULL,
    outcome         TEXT,
    settled_by_hub  TEXT,
    settled_at_ms   INTEGER
);
CREATE INDEX alert_actions_pending ON alert_actions (id) WHERE state = 'pending';
";

/// The same on PostgreSQL, where the id is an identity column.
pub(crate) const MIGRATION_POSTGRES: &str = "
CREATE TABLE alert_actions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id        BIGINT NOT NULL,
    patient         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    snooze_ms       BIGINT,
    actor           TEXT NOT NULL,
    account         TEXT,
    asked_at_hub    TEXT NOT NULL,
    asked_at_ms     BIGINT NOT NULL,
    state           TEXT NOT NULL,
    outcome         TEXT,
    settled_by_hub  TEXT,
    settled_at_ms   BIGINT
);
CREATE INDEX alert_actions_pending ON alert_actions (id) WHERE state = 'pending';
";

/// What a person asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Acknowledge,
    /// Snooze for this many milliseconds.
    Snooze(i64),
    Escalate,
}

/// An action as queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedAction {
    pub id: i64,
    pub alert_id: u64,
    /// The alert's patient (whose owner applies it).
    pub patient: String,
    pub kind: ActionKind,
    /// Who asked (as in the audit trail) and how they were authenticated.
    pub actor: String,
    pub account: Option<String>,
    /// The hub that was asked, and when.
    pub asked_at_hub: String,
    pub asked_at_ms: i64,
}

/// How a queued action went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionState {
    /// Not yet read by the patient's owner.
    Pending,
    /// Applied by `hub`.
    Applied { hub: String },
    /// Refused by `hub` (the alert was gone, or the action not allowed now), with why.
    Refused {
        hub: String,
        reason: String,
        not_found: bool,
    },
}

/// A queued action's settlement, committed with the change it caused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub action: i64,
    pub hub: String,
    pub at_ms: i64,
    /// `None`: applied; `Some((reason, not_found))`: refused.
    pub refused: Option<(String, bool)>,
}

impl ActionKind {
    fn name(self) -> &'static str {
        match self {
            ActionKind::Acknowledge => "acknowledge",
            ActionKind::Snooze(_) => "snooze",
            ActionKind::Escalate => "escalate",
        }
    }

    fn from_row(name: &str, snooze_ms: Option<i64>) -> Result<ActionKind, StoreError> {
        match (name, snooze_ms) {
            ("acknowledge", _) => Ok(ActionKind::Acknowledge),
            ("escalate", _) => Ok(ActionKind::Escalate),
            ("snooze", Some(ms)) => Ok(ActionKind::Snooze(ms)),
            _ => Err(StoreError::Corrupt(format!(
                "queued alert action {name:?} (snooze {snooze_ms:?})"
            ))),
        }
    }
}

impl AlertStore {
    /// Queues `action` (its id is ignored) with `audit` (the request, as the audit trail keeps
    /// it) in one transaction; returns the action's id.
    pub fn queue_action(
        &mut self,
        action: &QueuedAction,
        audit: NewAudit,
    ) -> Result<i64, StoreError> {
        let snooze_ms = match action.kind {
            ActionKind::Snooze(ms) => Some(ms),
            _ => None,
        };
        let tx = self.conn.transaction()?;
        let id: i64 = tx.query_value(
            "INSERT INTO alert_actions (alert_id, patient, kind, snooze_ms, actor, account,
                 asked_at_hub, asked_at_ms, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending') RETURNING id",
            &values![
                action.alert_id,
                action.patient.as_str(),
                action.kind.name(),
                snooze_ms,
                action.actor.as_str(),
                action.account.as_deref(),
                action.asked_at_hub.as_str(),
                action.asked_at_ms,
            ],
        )?;
        crate::audit_table::append(&tx, audit)?;
        tx.commit()?;
        Ok(id)
    }

    /// Up to `limit` actions not yet settled, oldest first.
    pub fn pending_actions(&self, limit: usize) -> Result<Vec<QueuedAction>, StoreError> {
        self.conn
            .query(
                "SELECT id, alert_id, patient, kind, snooze_ms, actor, account, asked_at_hub,
                     asked_at_ms
                 FROM alert_actions WHERE state = 'pending' ORDER BY id LIMIT ?1",
                &values![limit],
            )?
            .iter()
            .map(action_from_row)
            .collect()
    }

    /// How action `id` went (`None`: no such action).
    pub fn action_state(&self, id: i64) -> Result<Option<ActionState>, StoreError> {
        let Some(row) = self.conn.query_opt(
            "SELECT state, settled_by_hub, outcome FROM alert_actions WHERE id = ?1",
            &values![id],
        )?
        else {
            return Ok(None);
        };
        let state: String = row.get(0)?;
        let hub: Option<String> = row.get(1)?;
        let outcome: Option<String> = row.get(2)?;
        let hub = hub.unwrap_or_default();
        Ok(Some(match state.as_str() {
            "pending" => ActionState::Pending,
            "applied" => ActionState::Applied { hub },
            "refused" | "not_found" => ActionState::Refused {
                hub,
                reason: outcome.unwrap_or_default(),
                not_found: state == "not_found",
            },
            other => return Err(StoreError::Corrupt(format!("alert action state {other:?}"))),
        }))
    }
}

/// Writes `settlement` inside the caller's transaction; a settlement of an action already
/// settled (by a hub that owned the patient before) is refused, so the caller's transaction
/// rolls back and nothing is applied twice.
pub(crate) fn settle(tx: &Conn, settlement: &Settlement) -> Result<(), StoreError> {
    let (state, outcome) = match &settlement.refused {
        None => ("applied", None),
        Some((reason, true)) => ("not_found", Some(reason.as_str())),
        Some((reason, false)) => ("refused", Some(reason.as_str())),
    };
    let changed = tx.execute(
        "UPDATE alert_actions SET state = ?2, outcome = ?3, settled_by_hub = ?4,
             settled_at_ms = ?5
         WHERE id = ?1 AND state = 'pending'",
        &values![
            settlement.action,
            state,
            outcome,
            settlement.hub.as_str(),
            settlement.at_ms
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::AlreadySettled(settlement.action));
    }
    Ok(())
}

fn action_from_row(r: &Row) -> Result<QueuedAction, StoreError> {
    let kind: String = r.get(3)?;
    Ok(QueuedAction {
        id: r.get(0)?,
        alert_id: r.get(1)?,
        patient: r.get(2)?,
        kind: ActionKind::from_row(&kind, r.get(4)?)?,
        actor: r.get(5)?,
        account: r.get(6)?,
        asked_at_hub: r.get(7)?,
        asked_at_ms: r.get(8)?,
    })
}
