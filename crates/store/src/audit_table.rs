//! The `audit` table in the alert journal: append (in one transaction with the link to the row
//! before), page through, read one row, count; and every row of a journal read without writing
//! to it (for verification).

use crate::audit::{AuditRow, GENESIS, NewAudit};
use crate::db::{Conn, Engine, Location, Row};
use crate::values;
use crate::{AlertStore, Durability, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// Every audit row of the journal at `path`, in seq order, opened read-only: nothing is created,
/// migrated or written. A journal from before the audit trail has no rows.
pub fn read_audit_trail(path: &Path) -> Result<Vec<AuditRow>, StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let has_table = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'")?
        .exists([])?;
    if !has_table {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM audit ORDER BY seq"))?;
    let rows = stmt.query_map([], |r| {
        let values = (0..10)
            .map(|i| r.get::<_, rusqlite::types::Value>(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Row(values
            .into_iter()
            .map(crate::db::sqlite_value)
            .collect()))
    })?;
    let rows = rows.collect::<Result<Vec<_>, _>>()?;
    rows.iter().map(audit_from_row).collect()
}

/// Every audit row of the journal at `location` (an SQLite file, read-only as
/// [`read_audit_trail`] reads it; on PostgreSQL a plain read that creates nothing).
pub fn read_audit_trail_at(location: &Location) -> Result<Vec<AuditRow>, StoreError> {
    if let Location::Sqlite(path) = location {
        return read_audit_trail(path);
    }
    let conn = Conn::open(location, Durability::Full)?;
    let has_table: Option<String> =
        conn.query_value("SELECT CAST(to_regclass('audit') AS TEXT)", &[])?;
    if has_table.is_none() {
        return Ok(Vec::new());
    }
    let rows = conn.query(&format!("SELECT {COLUMNS} FROM audit ORDER BY seq"), &[])?;
    rows.iter().map(audit_from_row).collect()
}

pub(crate) const COLUMNS: &str =
    "seq, at_ms, actor, account, action, entity_type, entity, outcome, prev_hash, hash";

impl AlertStore {
    /// Appends `entry` after the last row, linked to it, and commits; returns the stored row.
    pub fn append_audit(&mut self, entry: NewAudit) -> Result<AuditRow, StoreError> {
        let tx = self.conn.transaction()?;
        let row = append(&tx, entry)?;
        tx.commit()?;
        Ok(row)
    }

    /// `count` rows from the `offset`-th (0-based), in seq order.
    pub fn audit_page(&self, offset: usize, count: usize) -> Result<Vec<AuditRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM audit ORDER BY seq LIMIT ?1 OFFSET ?2");
        let rows = self.conn.query(&sql, &values![count, offset])?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Every row, in seq order (for verification).
    pub fn audit_all(&self) -> Result<Vec<AuditRow>, StoreError> {
        self.audit_page(0, i64::MAX as usize)
    }

    /// The row `seq`, if there is one.
    pub fn audit_row(&self, seq: u64) -> Result<Option<AuditRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM audit WHERE seq = ?1");
        let row = self.conn.query_opt(&sql, &values![seq])?;
        row.as_ref().map(audit_from_row).transpose()
    }

    /// How many rows the table holds.
    pub fn audit_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_value("SELECT count(*) FROM audit", &[])?)
    }
}

/// A number every medlink process takes as a PostgreSQL advisory lock (until its transaction
/// ends) before it appends to the audit trail, so two hubs never link to the same last row.
const AUDIT_LOCK: i64 = 0x6d65_646c_696e_6b02;

/// Appends `entry` within `tx`, linked to the last row; returns the row as stored.
pub(crate) fn append(tx: &Conn, entry: NewAudit) -> Result<AuditRow, StoreError> {
    if tx.engine() == Engine::Postgres {
        tx.query("SELECT pg_advisory_xact_lock(?1)", &values![AUDIT_LOCK])?;
    }
    let last = tx.query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])?;
    let (seq, prev) = match last {
        Some(row) => (row.get::<u64>(0)? + 1, row.get(1)?),
        None => (1, GENESIS.to_string()),
    };
    let row = AuditRow::seal(seq, &prev, entry);
    tx.execute(
        &format!(
            "INSERT INTO audit ({COLUMNS}) VALUES ({})",
            crate::db::marks(1, 10)
        ),
        &values![
            row.seq,
            row.at_ms,
            row.actor.as_str(),
            row.account.as_deref(),
            row.action.as_str(),
            row.entity_type.as_str(),
            row.entity.as_str(),
            row.outcome.as_str(),
            row.prev_hash.as_str(),
            row.hash.as_str()
        ],
    )?;
    Ok(row)
}

pub(crate) fn audit_from_row(row: &Row) -> Result<AuditRow, StoreError> {
    Ok(AuditRow {
        seq: row.get(0)?,
        at_ms: row.get(1)?,
        actor: row.get(2)?,
        account: row.get(3)?,
        action: row.get(4)?,
        entity_type: row.get(5)?,
        entity: row.get(6)?,
        outcome: row.get(7)?,
        prev_hash: row.get(8)?,
        hash: row.get(9)?,
    })
}
