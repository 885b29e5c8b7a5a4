//! The alert journal: each alert's latest state survives a reopen, resolved alerts are not
//! handed back but keep their ids taken, every event is kept, NEWS2 baselines are kept and
//! removed, and a newer schema is refused; on SQLite and on PostgreSQL.

mod common;

use common::{news2_alert as alert, on_each_backend};
use store::{AlertStore, Durability, StoreError};
use vitals::alerts::{Acknowledgement, Alert, AlertEvent, EventKind, Snooze};

fn event(kind: EventKind, alert: &Alert) -> AlertEvent {
    AlertEvent {
        kind,
        at_ms: alert.updated_at_ms,
        notify: None,
        alert: alert.clone(),
    }
}

fn open(b: &common::Backend) -> AlertStore {
    AlertStore::connect(&b.journal, Durability::Normal).unwrap()
}

#[test]
fn alert_state_survives_a_reopen() {
    on_each_backend("reopen", alert_state_survives_a_reopen_on)
}

fn alert_state_survives_a_reopen_on(b: &common::Backend) {
    let mut escalated = alert(1, "p-1");
    let mut acked = alert(2, "p-2");
    let mut snoozed = alert(3, "p-3");
    {
        let mut journal = AlertStore::connect(&b.journal, Durability::Full).unwrap();
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
    let journal = AlertStore::connect(&b.journal, Durability::Full).unwrap();
    assert_eq!(journal.unresolved().unwrap(), [escalated, acked, snoozed]);
    assert_eq!(journal.event_kinds(1).unwrap(), ["raised", "escalated"]);
    assert_eq!(journal.next_id().unwrap(), 4);
}

#[test]
fn a_resolved_alert_is_not_handed_back_but_its_id_stays_taken() {
    on_each_backend("resolved", a_resolved_alert_is_not_handed_back_on)
}

fn a_resolved_alert_is_not_handed_back_on(b: &common::Backend) {
    let mut journal = open(b);
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
    on_each_backend("newer", |b| {
        drop(open(b));
        b.set_version(&b.journal, "alert journal", 99);
        match AlertStore::connect(&b.journal, Durability::Normal) {
            Err(StoreError::NewerSchema { found: 99, .. }) => {}
            Err(other) => panic!("wrong error: {other}"),
            Ok(_) => panic!("a newer journal was opened"),
        }
    })
}

#[test]
fn news2_baselines_are_kept_and_removed() {
    on_each_backend("baselines", news2_baselines_are_kept_and_removed_on)
}

fn news2_baselines_are_kept_and_removed_on(b: &common::Backend) {
    let mut journal = open(b);
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
    on_each_backend("migrate", a_version_1_journal_is_migrated_on)
}

fn a_version_1_journal_is_migrated_on(b: &common::Backend) {
    let raised = alert(1, "p-1");
    {
        let mut journal = open(b);
        journal
            .record(&[&event(EventKind::Raised, &raised)], &[])
            .unwrap();
    }
    // Back to what the first version of the journal had.
    b.journal_back_to(1);
    let mut journal = open(b);
    assert_eq!(journal.unresolved().unwrap(), [raised]);
    journal.record(&[], &[("p-1", Some(9))]).unwrap();
    assert_eq!(journal.news2_baselines().unwrap(), [("p-1".to_string(), 9)]);
}

#[test]
fn an_audited_change_commits_the_alert_and_its_audit_row_together() {
    on_each_backend("audited", an_audited_change_commits_together_on)
}

fn an_audited_change_commits_together_on(b: &common::Backend) {
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
        let mut journal = open(b);
        let event = event(EventKind::Acknowledged, &acked);
        journal.record_audited(&[&event], &[], Some(entry)).unwrap();
    }
    let journal = open(b);
    assert_eq!(journal.alert(1).unwrap(), Some(acked));
    let rows = journal.audit_all().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].actor.as_str(), rows[0].entity.as_str()),
        ("nurse.jo", "1")
    );
}
