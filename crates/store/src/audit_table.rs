//! The `audit` table in the alert journal: append (in one transaction with the link to the row
//! before), page through, read one row, count; and every row of a journal file read without
//! writing to it (for verification).

use crate::audit::{AuditRow, GENESIS, NewAudit};
use crate::{AlertStore, StoreError};
use rusqlite::{Connection, OpenFlags, Row, params};
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
    let rows = stmt.query_map([], audit_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
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
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM audit ORDER BY seq LIMIT ?1 OFFSET ?2"
        ))?;
        let rows = stmt.query_map(params![count as i64, offset as i64], audit_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every row, in seq order (for verification).
    pub fn audit_all(&self) -> Result<Vec<AuditRow>, StoreError> {
        self.audit_page(0, i64::MAX as usize)
    }

    /// The row `seq`, if there is one.
    pub fn audit_row(&self, seq: u64) -> Result<Option<AuditRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM audit WHERE seq = ?1"))?;
        let mut rows = stmt.query_map([seq as i64], audit_from_row)?;
        Ok(rows.next().transpose()?)
    }

    /// How many rows the table holds.
    pub fn audit_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }
}

/// Appends `entry` within `tx`, linked to the last row; returns the row as stored.
pub(crate) fn append(
    tx: &rusqlite::Transaction<'_>,
    entry: NewAudit,
) -> Result<AuditRow, StoreError> {
    let last: Option<(i64, String)> = tx
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (seq.max(0) as u64 + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let row = AuditRow::seal(seq, &prev, entry);
    tx.prepare_cached(&format!(
        "INSERT INTO audit ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))?
    .execute(params![
        row.seq as i64,
        row.at_ms,
        row.actor,
        row.account,
        row.action,
        row.entity_type,
        row.entity,
        row.outcome,
        row.prev_hash,
        row.hash
    ])?;
    Ok(row)
}

pub(crate) fn audit_from_row(row: &Row<'_>) -> rusqlite::Result<AuditRow> {
    let seq: i64 = row.get(0)?;
    Ok(AuditRow {
        seq: seq.max(0) as u64,
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
