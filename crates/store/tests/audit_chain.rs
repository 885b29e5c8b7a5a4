//! The audit trail's chain: rows appended link up and survive a reopen, and editing, deleting,
//! inserting or reordering a row makes `verify` name that row.

use rusqlite::Connection;
use store::audit::{self, action};
use store::{AlertStore, AuditRow, Durability, NewAudit};

fn entry(n: i64) -> NewAudit {
    NewAudit {
        at_ms: 1_000 + n,
        actor: format!("nurse {n}"),
        account: None,
        action: action::ALERT_ACKNOWLEDGED.into(),
        entity_type: "alert".into(),
        entity: n.to_string(),
        outcome: "success".into(),
    }
}

/// A journal file with five audited actions, and the path to tamper with it.
fn five_rows(name: &str) -> (Cleanup, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("medlink-audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hub.alerts.db");
    let mut journal = AlertStore::open(&path, Durability::Normal).unwrap();
    for n in 1..=5 {
        journal.append_audit(entry(n)).unwrap();
    }
    (Cleanup(dir), path)
}

/// Removes a test's directory when the test ends.
struct Cleanup(std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn verify_file(path: &std::path::Path) -> Result<usize, store::AuditBreak> {
    let journal = AlertStore::open(path, Durability::Normal).unwrap();
    audit::verify(&journal.audit_all().unwrap())
}

#[test]
fn appended_rows_are_linked_and_verify_after_a_reopen() {
    let (_dir, path) = five_rows("linked");
    let journal = AlertStore::open(&path, Durability::Normal).unwrap();
    let rows = journal.audit_all().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0].prev_hash, audit::GENESIS);
    assert_eq!(rows[3].prev_hash, rows[2].hash);
    assert_eq!(rows[4].actor, "nurse 5");
    assert_eq!(journal.audit_row(2).unwrap().unwrap(), rows[1]);
    assert_eq!(journal.audit_page(1, 2).unwrap(), rows[1..3]);
    assert_eq!(journal.audit_count().unwrap(), 5);
    assert_eq!(verify_file(&path), Ok(5));
}

#[test]
fn an_edited_row_is_named() {
    let (_dir, path) = five_rows("edited");
    let conn = Connection::open(&path).unwrap();
    conn.execute("UPDATE audit SET actor = 'someone else' WHERE seq = 3", [])
        .unwrap();
    drop(conn);
    assert_eq!(verify_file(&path).unwrap_err().seq, 3);
}

#[test]
fn an_edited_row_rehashed_breaks_the_next_link() {
    let (_dir, path) = five_rows("rehashed");
    let journal = AlertStore::open(&path, Durability::Normal).unwrap();
    let mut row: AuditRow = journal.audit_row(3).unwrap().unwrap();
    row.outcome = "refused: nothing".into();
    row.hash = row.computed_hash();
    drop(journal);
    let conn = Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE audit SET outcome = ?1, hash = ?2 WHERE seq = 3",
        [&row.outcome, &row.hash],
    )
    .unwrap();
    drop(conn);
    let broken = verify_file(&path).unwrap_err();
    assert_eq!(broken.seq, 4, "{broken}");
}

#[test]
fn a_deleted_row_is_named_by_the_row_after_it() {
    let (_dir, path) = five_rows("deleted");
    let conn = Connection::open(&path).unwrap();
    conn.execute("DELETE FROM audit WHERE seq = 2", []).unwrap();
    drop(conn);
    assert_eq!(verify_file(&path).unwrap_err().seq, 3);
}

#[test]
fn a_deleted_last_row_is_not_detectable_but_the_rest_verify() {
    // What the chain cannot show alone: a truncated tail (documented in docs/hub.md).
    let (_dir, path) = five_rows("deleted_last");
    let conn = Connection::open(&path).unwrap();
    conn.execute("DELETE FROM audit WHERE seq = 5", []).unwrap();
    drop(conn);
    assert_eq!(verify_file(&path), Ok(4));
}

#[test]
fn an_inserted_row_is_named() {
    let (_dir, path) = five_rows("inserted");
    let journal = AlertStore::open(&path, Durability::Normal).unwrap();
    let rows = journal.audit_all().unwrap();
    drop(journal);
    // A forged row between 2 and 3, correctly linked to 2 and hashed: row 3 no longer links.
    let forged = AuditRow::seal(3, &rows[1].hash, entry(99));
    let conn = Connection::open(&path).unwrap();
    conn.execute("UPDATE audit SET seq = seq + 10 WHERE seq >= 3", [])
        .unwrap();
    conn.execute("UPDATE audit SET seq = seq - 9 WHERE seq >= 13", [])
        .unwrap();
    conn.execute(
        "INSERT INTO audit VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        rusqlite::params![
            forged.seq as i64,
            forged.at_ms,
            forged.actor,
            forged.account,
            forged.action,
            forged.entity_type,
            forged.entity,
            forged.outcome,
            forged.prev_hash,
            forged.hash
        ],
    )
    .unwrap();
    drop(conn);
    // Rows now: 1, 2, forged 3, old 3 as 4 (its seq changed, so its hash no longer matches).
    assert_eq!(verify_file(&path).unwrap_err().seq, 4);
}

#[test]
fn reordered_rows_are_named() {
    let (_dir, path) = five_rows("reordered");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "UPDATE audit SET seq = 100 WHERE seq = 2;
         UPDATE audit SET seq = 2 WHERE seq = 3;
         UPDATE audit SET seq = 3 WHERE seq = 100;",
    )
    .unwrap();
    drop(conn);
    assert_eq!(verify_file(&path).unwrap_err().seq, 2);
}

#[test]
fn rows_read_out_of_order_are_named() {
    let (_dir, path) = five_rows("read_out");
    let journal = AlertStore::open(&path, Durability::Normal).unwrap();
    let mut rows = journal.audit_all().unwrap();
    rows.swap(1, 2);
    let broken = audit::verify(&rows).unwrap_err();
    assert_eq!(broken.seq, 3, "{broken}");
}
