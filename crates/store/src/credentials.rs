//! Sessions and bearer tokens in the alert journal. A session is found by the SHA-256 of its
//! cookie, a token by the SHA-256 of its secret: neither secret is ever stored.

use crate::accounts::AccountStore;
use crate::db::{Conn, Row};
use crate::values;
use crate::{NewAudit, StoreError};
use serde::Serialize;

/// One signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 (hex) of the cookie's value.
    pub id_hash: String,
    /// The account.
    pub name: String,
    /// The CSRF token the session's state-changing requests must carry.
    pub csrf: String,
    pub created_ms: i64,
    pub last_seen_ms: i64,
}

/// One bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRow {
    /// A short public id, to list and revoke it by.
    pub id: String,
    /// Who or what uses it (a program's name).
    pub name: String,
    /// The scopes it grants, space-separated.
    pub scopes: String,
    /// SHA-256 (hex) of its secret.
    #[serde(skip)]
    pub secret_hash: String,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
}

impl AccountStore {
    /// Stores a new session, appending `audit` (the sign-in) and forgetting `name`'s failures.
    pub fn start_session(
        &mut self,
        session: &SessionRow,
        audit: NewAudit,
    ) -> Result<(), StoreError> {
        self.audited(audit, |tx| {
            tx.execute(
                "INSERT INTO sessions (id_hash, name, csrf, created_ms, last_seen_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                &values![
                    session.id_hash.as_str(),
                    session.name.as_str(),
                    session.csrf.as_str(),
                    session.created_ms,
                    session.last_seen_ms
                ],
            )?;
            tx.execute(
                "DELETE FROM sign_in_failures WHERE name = ?1",
                &values![session.name.as_str()],
            )?;
            Ok(())
        })
    }

    /// The session whose cookie hashes to `id_hash`.
    pub fn session(&self, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = self.conn.query_opt(
            "SELECT id_hash, name, csrf, created_ms, last_seen_ms FROM sessions
             WHERE id_hash = ?1",
            &values![id_hash],
        )?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Notes that the session was used at `at_ms`.
    pub fn touch_session(&mut self, id_hash: &str, at_ms: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sessions SET last_seen_ms = ?2 WHERE id_hash = ?1",
            &values![id_hash, at_ms],
        )?;
        Ok(())
    }

    /// Ends a session, appending `audit` (sign-out) when given; false if there was none.
    pub fn end_session(
        &mut self,
        id_hash: &str,
        audit: Option<NewAudit>,
    ) -> Result<bool, StoreError> {
        let delete = |tx: &Conn| {
            Ok(tx.execute("DELETE FROM sessions WHERE id_hash = ?1", &values![id_hash])? > 0)
        };
        match audit {
            Some(audit) => self.audited(audit, delete),
            None => {
                let tx = self.conn.transaction()?;
                let ended = delete(&tx)?;
                tx.commit()?;
                Ok(ended)
            }
        }
    }

    /// Stores a new token, appending `audit`; false (nothing written) if its id is taken.
    pub fn add_token(&mut self, token: &TokenRow, audit: NewAudit) -> Result<bool, StoreError> {
        if self.token(&token.id)?.is_some() {
            return Ok(false);
        }
        self.audited(audit, |tx| {
            tx.execute(
                &format!(
                    "INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ),
                &values![
                    token.id.as_str(),
                    token.name.as_str(),
                    token.scopes.as_str(),
                    token.secret_hash.as_str(),
                    token.created_ms,
                    token.expires_ms,
                    token.revoked_ms
                ],
            )?;
            Ok(true)
        })
    }

    /// The token `id`.
    pub fn token(&self, id: &str) -> Result<Option<TokenRow>, StoreError> {
        self.token_where("id", id)
    }

    /// The token whose secret hashes to `secret_hash`.
    pub fn token_by_secret_hash(&self, secret_hash: &str) -> Result<Option<TokenRow>, StoreError> {
        self.token_where("secret_hash", secret_hash)
    }

    fn token_where(&self, column: &str, value: &str) -> Result<Option<TokenRow>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE {column} = ?1");
        let row = self.conn.query_opt(&sql, &values![value])?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Every token, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_ms, id");
        let rows = self.conn.query(&sql, &[])?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes token `id` at `at_ms`, appending `audit`; false if there is no such token or it
    /// was revoked already.
    pub fn revoke_token(
        &mut self,
        id: &str,
        at_ms: i64,
        audit: NewAudit,
    ) -> Result<bool, StoreError> {
        match self.token(id)? {
            Some(token) if token.revoked_ms.is_none() => self.audited(audit, |tx| {
                tx.execute(
                    "UPDATE tokens SET revoked_ms = ?2 WHERE id = ?1",
                    &values![id, at_ms],
                )?;
                Ok(true)
            }),
            _ => Ok(false),
        }
    }
}

const TOKEN_COLUMNS: &str = "id, name, scopes, secret_hash, created_ms, expires_ms, revoked_ms";

fn session_from_row(row: &Row) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        id_hash: row.get(0)?,
        name: row.get(1)?,
        csrf: row.get(2)?,
        created_ms: row.get(3)?,
        last_seen_ms: row.get(4)?,
    })
}

fn token_from_row(row: &Row) -> Result<TokenRow, StoreError> {
    Ok(TokenRow {
        id: row.get(0)?,
        name: row.get(1)?,
        scopes: row.get(2)?,
        secret_hash: row.get(3)?,
        created_ms: row.get(4)?,
        expires_ms: row.get(5)?,
        revoked_ms: row.get(6)?,
    })
}
