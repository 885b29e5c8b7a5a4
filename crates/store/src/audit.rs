//! The hub's audit trail: one hash-chained row per action a person took (alert acknowledged or
//! snoozed, SpO2 scale changed), kept in the alert journal's `audit` table, with the pure check
//! that walks the chain and names the first row whose hash or link is wrong.
//!
//! Each row's `hash` is the SHA-256 (hex) of a canonical encoding of the row without its hash:
//! every field as its byte length (8 bytes, big-endian) then its UTF-8 bytes, an absent field as
//! the length `u64::MAX`. `prev_hash` is the hash of the row before, 64 zeros for the first.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an audited action was.
pub mod action {
    pub const ALERT_ACKNOWLEDGED: &str = "alert_acknowledged";
    pub const ALERT_SNOOZED: &str = "alert_snoozed";
    pub const ALERT_ESCALATED: &str = "alert_escalated";
    pub const SPO2_SCALE_CHANGED: &str = "spo2_scale_changed";
    pub const SIGNED_IN: &str = "signed_in";
    pub const SIGN_IN_FAILED: &str = "sign_in_failed";
    pub const ACCOUNT_LOCKED: &str = "account_locked";
    pub const SIGNED_OUT: &str = "signed_out";
    pub const USER_ADDED: &str = "user_added";
    pub const USER_DISABLED: &str = "user_disabled";
    pub const PASSWORD_CHANGED: &str = "password_changed";
    pub const TOKEN_ISSUED: &str = "token_issued";
    pub const TOKEN_REVOKED: &str = "token_revoked";
    pub const DEVICE_REGISTERED: &str = "device_registered";
    pub const DEVICE_REMOVED: &str = "device_removed";
}

/// An action to append: the chain fields are added by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAudit {
    /// Wall time of the action, ms since the Unix epoch (UTC).
    pub at_ms: i64,
    /// Who: the signed-in person's account name or the token's name (for a command run on the
    /// hub's machine, `cli:<login>`; for a failed sign-in, the name tried).
    pub actor: String,
    /// How they were authenticated: `user:<name>` (a session) or `token:<id>`; none for a
    /// command-line action or a failed sign-in.
    pub account: Option<String>,
    /// One of [`action`].
    pub action: String,
    /// What kind of thing was acted on: "alert", "patient", "user", "token" or "device".
    pub entity_type: String,
    /// Its id.
    pub entity: String,
    /// "success", or "refused: <why>".
    pub outcome: String,
}

/// One stored row of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    /// 1, 2, 3, ... in the order appended.
    pub seq: u64,
    pub at_ms: i64,
    pub actor: String,
    pub account: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity: String,
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    /// The row `entry` becomes when appended as `seq` after a row whose hash is `prev_hash`.
    pub fn seal(seq: u64, prev_hash: &str, entry: NewAudit) -> AuditRow {
        let mut row = AuditRow {
            seq,
            at_ms: entry.at_ms,
            actor: entry.actor,
            account: entry.account,
            action: entry.action,
            entity_type: entry.entity_type,
            entity: entry.entity,
            outcome: entry.outcome,
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        row.hash = row.computed_hash();
        row
    }

    /// The SHA-256 (hex) of the canonical encoding of every field but `hash`.
    pub fn computed_hash(&self) -> String {
        let (seq, at) = (self.seq.to_string(), self.at_ms.to_string());
        let fields = [
            Some(seq.as_str()),
            Some(at.as_str()),
            Some(self.actor.as_str()),
            self.account.as_deref(),
            Some(self.action.as_str()),
            Some(self.entity_type.as_str()),
            Some(self.entity.as_str()),
            Some(self.outcome.as_str()),
            Some(self.prev_hash.as_str()),
        ];
        let mut hasher = Sha256::new();
        for field in fields {
            match field {
                Some(text) => {
                    hasher.update((text.len() as u64).to_be_bytes());
                    hasher.update(text.as_bytes());
                }
                None => hasher.update(u64::MAX.to_be_bytes()),
            }
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The first row found wrong, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit row {seq}: {reason}")]
pub struct AuditBreak {
    /// The row's stored `seq` (what the table says, even when that is the thing wrong).
    pub seq: u64,
    pub reason: String,
}

/// Walks `rows` (in stored order) and names the first one out of sequence, not linked to the
/// row before, or whose hash is not that of its contents. `Ok(n)`: all `n` rows hold together.
pub fn verify(rows: &[AuditRow]) -> Result<usize, AuditBreak> {
    let mut prev = GENESIS.to_string();
    for (expected, row) in (1..).zip(rows) {
        let broken = |reason: String| AuditBreak {
            seq: row.seq,
            reason,
        };
        if row.seq != expected {
            return Err(broken(format!("seq {} where {expected} belongs", row.seq)));
        }
        if row.prev_hash != prev {
            return Err(broken("prev_hash is not the hash of the row before".into()));
        }
        if row.computed_hash() != row.hash {
            return Err(broken("hash does not match the row's contents".into()));
        }
        prev = row.hash.clone();
    }
    Ok(rows.len())
}
