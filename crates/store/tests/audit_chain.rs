//! The audit trail's chain: rows appended link up and survive a reopen, and editing, deleting,
//! inserting or reordering a row makes `verify` name that row. On SQLite and on PostgreSQL.

mod common;

use common::{Backend, on_each_backend};
use store::audit::{self, action};
use store::{AlertStore, AuditRow, Durability, NewAudit, values};

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

/// Runs `test` on a journal with five audited actions, on each backend.
fn with_five_rows(name: &str, test: impl Fn(&Backend)) {
    on_each_backend(name, |b| {
        let mut journal = open(b);
        for n in 1..=5 {
            journal.append_audit(entry(n)).unwrap();
        }
        drop(journal);
        test(b)
    })
}

fn open(b: &Backend) -> AlertStore {
    AlertStore::connect(&b.journal, Durability::Normal).unwrap()
}

/// Changes the journal behind the store's back.
fn tamper(b: &Backend, sql: &str) {
    b.raw(&b.journal).execute_batch(sql).unwrap();
}

fn verify_file(b: &Backend) -> Result<usize, store::AuditBreak> {
    // As `medlink hub audit verify` reads it: without opening the store.
    audit::verify(&store::read_audit_trail_at(&b.journal).unwrap())
}

#[test]
fn appended_rows_are_linked_and_verify_after_a_reopen() {
    with_five_rows("linked", linked_on)
}

fn linked_on(b: &Backend) {
    let journal = open(b);
    let rows = journal.audit_all().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0].prev_hash, audit::GENESIS);
    assert_eq!(rows[3].prev_hash, rows[2].hash);
    assert_eq!(rows[4].actor, "nurse 5");
    assert_eq!(journal.audit_row(2).unwrap().unwrap(), rows[1]);
    assert_eq!(journal.audit_page(1, 2).unwrap(), rows[1..3]);
    assert_eq!(journal.audit_count().unwrap(), 5);
    assert_eq!(verify_file(b), Ok(5));
}

#[test]
fn an_edited_row_is_named() {
    with_five_rows("edited", |b| {
        tamper(b, "UPDATE audit SET actor = 'someone else' WHERE seq = 3");
        assert_eq!(verify_file(b).unwrap_err().seq, 3);
    })
}

#[test]
fn an_edited_row_rehashed_breaks_the_next_link() {
    with_five_rows("rehashed", |b| {
        let journal = open(b);
        let mut row: AuditRow = journal.audit_row(3).unwrap().unwrap();
        row.outcome = "refused: nothing".into();
        row.hash = row.computed_hash();
        drop(journal);
        b.raw(&b.journal)
            .execute(
                "UPDATE audit SET outcome = ?1, hash = ?2 WHERE seq = 3",
                &values![row.outcome.as_str(), row.hash.as_str()],
            )
            .unwrap();
        let broken = verify_file(b).unwrap_err();
        assert_eq!(broken.seq, 4, "{broken}");
    })
}

#[test]
fn a_deleted_row_is_named_by_the_row_after_it() {
    with_five_rows("deleted", |b| {
        tamper(b, "DELETE FROM audit WHERE seq = 2");
        assert_eq!(verify_file(b).unwrap_err().seq, 3);
    })
}

#[test]
fn a_deleted_last_row_is_not_detectable_but_the_rest_verify() {
    // What the chain cannot show alone: a truncated tail (documented in docs/hub.md).
    with_five_rows("deleted_last", |b| {
        tamper(b, "DELETE FROM audit WHERE seq = 5");
        assert_eq!(verify_file(b), Ok(4));
    })
}

#[test]
fn an_inserted_row_is_named() {
    with_five_rows("inserted", an_inserted_row_is_named_on)
}

fn an_inserted_row_is_named_on(b: &Backend) {
    let journal = open(b);
    let rows = journal.audit_all().unwrap();
    drop(journal);
    // A forged row between 2 and 3, correctly linked to 2 and hashed: row 3 no longer links.
    let forged = AuditRow::seal(3, &rows[1].hash, entry(99));
    tamper(b, "UPDATE audit SET seq = seq + 10 WHERE seq >= 3");
    tamper(b, "UPDATE audit SET seq = seq - 9 WHERE seq >= 13");
    b.raw(&b.journal)
        .execute(
            "INSERT INTO audit VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            &values![
                forged.seq,
                forged.at_ms,
                forged.actor.as_str(),
                forged.account.as_deref(),
                forged.action.as_str(),
                forged.entity_type.as_str(),
                forged.entity.as_str(),
                forged.outcome.as_str(),
                forged.prev_hash.as_str(),
                forged.hash.as_str()
            ],
        )
        .unwrap();
    // Rows now: 1, 2, forged 3, old 3 as 4 (its seq changed, so its hash no longer matches).
    assert_eq!(verify_file(b).unwrap_err().seq, 4);
}

#[test]
fn reordered_rows_are_named() {
    with_five_rows("reordered", |b| {
        tamper(
            b,
            "UPDATE audit SET seq = 100 WHERE seq = 2;
             UPDATE audit SET seq = 2 WHERE seq = 3;
             UPDATE audit SET seq = 3 WHERE seq = 100;",
        );
        assert_eq!(verify_file(b).unwrap_err().seq, 2);
    })
}

#[test]
fn rows_read_out_of_order_are_named() {
    with_five_rows("read_out", |b| {
        let mut rows = open(b).audit_all().unwrap();
        rows.swap(1, 2);
        let broken = audit::verify(&rows).unwrap_err();
        assert_eq!(broken.seq, 3, "{broken}");
    })
}
