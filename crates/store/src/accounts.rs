//! People and programs of the hub, in the alert journal beside the audit trail: accounts (name,
//! role, argon2id password hash, disabled), recent failed sign-ins (for lock-out), sessions and
//! bearer tokens (only SHA-256 hashes of their secrets are stored). Every change a person makes
//! here is appended to the audit trail in the same transaction.
//!
//! [`AccountStore`] is a connection of its own to the journal, so sign-in never waits for the
//! alert engine's lock; the command-line tools open the same journal while the hub runs.

use crate::alerts::MIGRATIONS;
use crate::audit_table::{self, append};
use crate::db::{Conn, Location, Row};
use crate::migrate::migrate;
use crate::values;
use crate::{AuditRow, Durability, NewAudit, StoreError};
use serde::Serialize;
use std::path::Path;

/// The journal migration that adds accounts, sign-in failures, sessions and tokens.
pub(crate) const MIGRATION: &str = "
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_ms    INTEGER NOT NULL
);
-- Failed sign-ins by the name tried (known or not, so the answer never tells which).
CREATE TABLE sign_in_failures (
    name  TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_by_name ON sign_in_failures (name, at_ms);
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    name         TEXT NOT NULL REFERENCES users (name),
    csrf         TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
);
CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    secret_hash   TEXT NOT NULL UNIQUE,
    created_ms    INTEGER NOT NULL,
    expires_ms    INTEGER,
    revoked_ms    INTEGER
);
";

/// One account, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRow {
    pub name: String,
    pub role: String,
    #[serde(skip)]
    pub password_hash: String,
    pub disabled: bool,
    pub created_ms: i64,
}

/// Accounts, sessions and tokens in the alert journal.
pub struct AccountStore {
    pub(crate) conn: Conn,
}

impl AccountStore {
    /// Opens (creating or migrating) the SQLite journal at `path`.
    pub fn open(path: &Path, durability: Durability) -> Result<AccountStore, StoreError> {
        AccountStore::connect(&Location::Sqlite(path.to_path_buf()), durability)
    }

    /// Opens (creating or migrating) the journal at `location` (see [`Location::journal`]).
    pub fn connect(
        location: &Location,
        durability: Durability,
    ) -> Result<AccountStore, StoreError> {
        AccountStore::init(Conn::open(location, durability)?)
    }

    /// A private in-memory journal, for tests.
    pub fn open_in_memory() -> Result<AccountStore, StoreError> {
        AccountStore::init(Conn::open_in_memory()?)
    }

    /// Another process (the hub, a command) writes the same journal: every transaction takes
    /// the write lock when it starts ([`Conn::transaction`]).
    fn init(mut conn: Conn) -> Result<AccountStore, StoreError> {
        migrate(&mut conn, "alert journal", MIGRATIONS, None)?;
        Ok(AccountStore { conn })
    }

    /// Runs `change` and appends `audit` in one transaction: both are committed, or neither.
    pub(crate) fn audited<T>(
        &mut self,
        audit: NewAudit,
        change: impl FnOnce(&Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self.conn.transaction()?;
        let out = change(&tx)?;
        append(&tx, audit)?;
        tx.commit()?;
        Ok(out)
    }

    /// Appends `audit` alone (a refused or failed action).
    pub fn audit(&mut self, audit: NewAudit) -> Result<(), StoreError> {
        self.audited(audit, |_| Ok(()))
    }

    /// Every row of the audit trail, in seq order.
    pub fn audit_trail(&self) -> Result<Vec<AuditRow>, StoreError> {
        let sql = format!("SELECT {} FROM audit ORDER BY seq", audit_table::COLUMNS);
        let rows = self.conn.query(&sql, &[])?;
        rows.iter().map(audit_table::audit_from_row).collect()
    }

    /// Adds an account; false (and nothing written) if the name is taken.
    pub fn add_user(&mut self, user: &UserRow, audit: NewAudit) -> Result<bool, StoreError> {
        if self.user(&user.name)?.is_some() {
            return Ok(false);
        }
        self.audited(audit, |tx| {
            tx.execute(
                "INSERT INTO users (name, role, password_hash, disabled, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                &values![
                    user.name.as_str(),
                    user.role.as_str(),
                    user.password_hash.as_str(),
                    user.disabled,
                    user.created_ms
                ],
            )?;
            Ok(true)
        })
    }

    /// The account `name`, if there is one.
    pub fn user(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1");
        let row = self.conn.query_opt(&sql, &values![name])?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Every account, by name.
    pub fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name");
        let rows = self.conn.query(&sql, &[])?;
        rows.iter().map(user_from_row).collect()
    }

    /// Disables `name` and ends its sessions; false if there is no such account.
    pub fn disable_user(&mut self, name: &str, audit: NewAudit) -> Result<bool, StoreError> {
        self.update_user(
            name,
            audit,
            "UPDATE users SET disabled = 1 WHERE name = ?1",
            None,
        )
    }

    /// Sets `name`'s password hash and ends its sessions; false if there is no such account.
    pub fn set_password(
        &mut self,
        name: &str,
        password_hash: &str,
        audit: NewAudit,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE users SET password_hash = ?2 WHERE name = ?1";
        self.update_user(name, audit, sql, Some(password_hash))
    }

    fn update_user(
        &mut self,
        name: &str,
        audit: NewAudit,
        sql: &str,
        value: Option<&str>,
    ) -> Result<bool, StoreError> {
        if self.user(name)?.is_none() {
            return Ok(false);
        }
        self.audited(audit, |tx| {
            match value {
                Some(value) => tx.execute(sql, &values![name, value])?,
                None => tx.execute(sql, &values![name])?,
            };
            tx.execute("DELETE FROM sessions WHERE name = ?1", &values![name])?;
            Ok(true)
        })
    }

    /// Records a failed sign-in as `name` (appending `audit`) and forgets failures older than
    /// `forget_before_ms`; returns how many failures `name` has since then, this one included.
    pub fn record_failure(
        &mut self,
        name: &str,
        at_ms: i64,
        forget_before_ms: i64,
        audit: NewAudit,
    ) -> Result<u32, StoreError> {
        self.audited(audit, |tx| {
            tx.execute(
                "DELETE FROM sign_in_failures WHERE at_ms < ?1",
                &values![forget_before_ms],
            )?;
            tx.execute(
                "INSERT INTO sign_in_failures (name, at_ms) VALUES (?1, ?2)",
                &values![name, at_ms],
            )?;
            Ok(())
        })?;
        Ok(self.failures_since(name, forget_before_ms)?.len() as u32)
    }

    /// The times of `name`'s failed sign-ins at or after `since_ms`, oldest first.
    pub fn failures_since(&self, name: &str, since_ms: i64) -> Result<Vec<i64>, StoreError> {
        let rows = self.conn.query(
            "SELECT at_ms FROM sign_in_failures WHERE name = ?1 AND at_ms >= ?2 ORDER BY at_ms",
            &values![name, since_ms],
        )?;
        rows.iter().map(|r| Ok(r.get(0)?)).collect()
    }
}

const USER_COLUMNS: &str = "name, role, password_hash, disabled, created_ms";

fn user_from_row(row: &Row) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        name: row.get(0)?,
        role: row.get(1)?,
        password_hash: row.get(2)?,
        disabled: row.get(3)?,
        created_ms: row.get(4)?,
    })
}
