//! Who a request comes from once authenticated: a signed-in person (session) or a program
//! (bearer token), what they are granted, and how their actions are written to the audit trail.

use super::roles::Role;
use super::scopes::{Need, Scope, allows};
use store::NewAudit;

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A dashboard session: its cookie's hash and the CSRF token its changes must carry.
    Session { id_hash: String, csrf: String },
    /// A bearer token, by its public id.
    Token { id: String },
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account's name, or the token's.
    pub name: String,
    /// The account's role (none for a token).
    pub role: Option<Role>,
    pub grants: Vec<Scope>,
    pub credential: Credential,
}

impl Principal {
    /// Whether the caller is granted every one of `needs`.
    pub fn may(&self, needs: &[Need]) -> bool {
        allows(&self.grants, needs)
    }

    /// `user:<name>` or `token:<id>`: the audit trail's `account`.
    pub fn account(&self) -> String {
        match &self.credential {
            Credential::Session { .. } => format!("user:{}", self.name),
            Credential::Token { id } => format!("token:{id}"),
        }
    }

    /// The session's CSRF token, if the caller signed in on the dashboard.
    pub fn csrf(&self) -> Option<&str> {
        match &self.credential {
            Credential::Session { csrf, .. } => Some(csrf),
            Credential::Token { .. } => None,
        }
    }

    /// An audit row for `action` by this caller on `entity_type`/`entity`, at `at_ms`.
    pub fn audit(
        &self,
        at_ms: i64,
        action: &str,
        entity: (&str, &str),
        outcome: impl Into<String>,
    ) -> NewAudit {
        NewAudit {
            at_ms,
            actor: self.name.clone(),
            account: Some(self.account()),
            action: action.to_string(),
            entity_type: entity.0.to_string(),
            entity: entity.1.to_string(),
            outcome: outcome.into(),
        }
    }
}
