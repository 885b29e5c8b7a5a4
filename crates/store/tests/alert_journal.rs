//! The alert journal: each alert's latest state survives a reopen, resolved alerts are not
//! handed back but keep their ids taken, every event is kept, NEWS2 baselines are kept and
//! removed, and a newer schema is refused.

use store::{AlertStore, Durability, StoreError};
use vitals::alerts::{Acknowledgement, Alert, AlertEvent, EventKind, Rule, Snooze};

fn alert(id: u64, subject: &str) -> Alert {
    Alert {
        id,
        rule: Rule::News2,
        subject: subject.to_string(),
        patient: Some(subject.to_string()),
        severity: 1,
        peak_severity: 1,
        message: "NEWS2 5 (low-medium)".into(),
        raised_at_ms: 1_000,
        updated_at_ms: 1_000,
        escalation_level: 0,
        notified_role: "nurse".into(),
        last_notified_ms: 1_000,
        acknowledged: None,
        snoozed: None,
        resolved_at_ms: None,
    }
}

fn event(kind: EventKind, alert: &Alert) -> AlertEvent {
    AlertEvent {
        kind,
        at_ms: alert.updated_at_ms,
        notify: None,
        alert: alert.clone(),
    }
}

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("medlink-alerts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("alerts.db")
}

#[test]
fn alert_state_survives_a_reopen() {
    let path = temp_db("reopen");
    let mut escalated = alert(1, "p-1");
    let mut acked = alert(2, "p-2");
    let mut snoozed = alert(3, "p-3");
    {
        let mut journal = AlertStore::open(&path, Durability::Full).unwrap();
        journal
            .record(
                &[
                    &event(EventKind::Raised, &escalated),
                    &event(EventKind::Raised, &acked),
                    &event(EventKind::Raised, &snoozed),
                ],
                &[],
            )
            .unwrap();
        escalated.escalation_level = 2;
        escalated.notified_role = "doctor".into();
        escalated.last_notified_ms = 241_000;
        escalated.updated_at_ms = 241_000;
        acked.acknowledged = Some(Acknowledgement {
            by: "nurse.jo".into(),
            at_ms: 5_000,
        });
        snoozed.snoozed = Some(Snooze {
            by: "nurse.al".into(),
            until_ms: 900_000,
            severity: 1,
        });
        journal
            .record(
                &[
                    &event(EventKind::Escalated, &escalated),
                    &event(EventKind::Acknowledged, &acked),
                    &event(EventKind::Snoozed, &snoozed),
                ],
                &[],
            )
            .unwrap();
    }
    let journal = AlertStore::open(&path, Durability::Full).unwrap();
    assert_eq!(journal.unresolved().unwrap(), [escalated, acked, snoozed]);
    assert_eq!(journal.event_kinds(1).unwrap(), ["raised", "escalated"]);
    assert_eq!(journal.next_id().unwrap(), 4);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn a_resolved_alert_is_not_handed_back_but_its_id_stays_taken() {
    let mut journal = AlertStore::open_in_memory().unwrap();
    assert_eq!(journal.next_id().unwrap(), 1);
    let open = alert(4, "p-1");
    let mut resolved = alert(9, "p-2");
    journal
        .record(&[&event(EventKind::Raised, &open)], &[])
        .unwrap();
    resolved.resolved_at_ms = Some(2_000);
    journal
        .record(&[&event(EventKind::Resolved, &resolved)], &[])
        .unwrap();
    assert_eq!(journal.unresolved().unwrap(), [open]);
    assert_eq!(journal.alert(9).unwrap(), Some(resolved));
    assert_eq!(journal.next_id().unwrap(), 10);
}

#[test]
fn a_journal_from_a_newer_program_is_refused() {
    let path = temp_db("newer");
    drop(AlertStore::open(&path, Durability::Normal).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    match AlertStore::open(&path, Durability::Normal) {
        Err(StoreError::NewerSchema { found: 99, .. }) => {}
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a newer journal was opened"),
    }
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn news2_baselines_are_kept_and_removed() {
    let mut journal = AlertStore::open_in_memory().unwrap();
    let raised = alert(1, "p-1");
    let raised_event = event(EventKind::Raised, &raised);
    journal
        .record(&[&raised_event], &[("p-1", Some(9)), ("p-2", Some(7))])
        .unwrap();
    journal.record(&[], &[("p-1", Some(11))]).unwrap();
    journal.record(&[], &[("p-2", None)]).unwrap();
    assert_eq!(
        journal.news2_baselines().unwrap(),
        [("p-1".to_string(), 11)]
    );
}

#[test]
fn a_version_1_journal_is_migrated_keeping_its_alerts() {
    let path = temp_db("migrate");
    let open = alert(1, "p-1");
    {
        let mut journal = AlertStore::open(&path, Durability::Normal).unwrap();
        journal
            .record(&[&event(EventKind::Raised, &open)], &[])
            .unwrap();
    }
    // Back to what the first version of the journal had.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE news2_baselines; DROP TABLE audit; DROP TABLE users;
         DROP TABLE sign_in_failures; DROP TABLE sessions; DROP TABLE tokens;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let mut journal = AlertStore::open(&path, Durability::Normal).unwrap();
    assert_eq!(journal.unresolved().unwrap(), [open]);
    journal.record(&[], &[("p-1", Some(9))]).unwrap();
    assert_eq!(journal.news2_baselines().unwrap(), [("p-1".to_string(), 9)]);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn an_audited_change_commits_the_alert_and_its_audit_row_together() {
    let path = temp_db("audited");
    let mut acked = alert(1, "p-1");
    acked.acknowledged = Some(Acknowledgement {
        by: "nurse.jo".into(),
        at_ms: 2_000,
    });
    let entry = store::NewAudit {
        at_ms: 2_000,
        actor: "nurse.jo".into(),
        account: None,
        action: store::audit::action::ALERT_ACKNOWLEDGED.into(),
        entity_type: "alert".into(),
        entity: "1".into(),
        outcome: "success".into(),
    };
    {
        let mut journal = AlertStore::open(&path, Durability::Normal).unwrap();
        let event = event(EventKind::Acknowledged, &acked);
        journal.record_audited(&[&event], &[], Some(entry)).unwrap();
    }
    let journal = AlertStore::open(&path, Durability::Normal).unwrap();
    assert_eq!(journal.alert(1).unwrap(), Some(acked));
    let rows = journal.audit_all().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].actor.as_str(), rows[0].entity.as_str()),
        ("nurse.jo", "1")
    );
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
