//! Several hubs, one ward: an alert action asked at one hub is queued in the journal and settled
//! once by the patient's owner, in the same transaction as the change it causes; a journal
//! change fenced by a shard's lease commits only while the hub holds the lease (a hub that lost
//! it commits nothing); on SQLite and on PostgreSQL.

mod common;

use common::{Backend, on_each_backend, raised};
use store::{
    ActionKind, ActionState, AlertStore, Durability, Fence, JournalChange, LeaseRound, Leases,
    NewAudit, QueuedAction, Settlement, StoreError,
};

fn open(b: &Backend) -> (AlertStore, Leases) {
    let journal = AlertStore::connect(&b.journal, Durability::Normal).unwrap();
    (
        journal,
        Leases::open(&b.location, Durability::Normal).unwrap(),
    )
}

fn audit(outcome: &str) -> NewAudit {
    NewAudit {
        at_ms: 2_000,
        actor: "nurse-kim".into(),
        account: Some("user:nurse-kim".into()),
        action: "alert_acknowledged".into(),
        entity_type: "alert".into(),
        entity: "7".into(),
        outcome: outcome.into(),
    }
}

fn ack_of_7() -> QueuedAction {
    QueuedAction {
        id: 0,
        alert_id: 7,
        patient: "p-1".into(),
        kind: ActionKind::Acknowledge,
        actor: "nurse-kim".into(),
        account: Some("user:nurse-kim".into()),
        asked_at_hub: "hub-b".into(),
        asked_at_ms: 2_000,
    }
}

fn settlement(action: i64, refused: Option<(String, bool)>) -> Settlement {
    Settlement {
        action,
        hub: "hub-a".into(),
        at_ms: 2_100,
        refused,
    }
}

#[test]
fn a_queued_action_is_pending_until_its_owner_settles_it_once() {
    on_each_backend("actions", |b| {
        let (mut journal, _) = open(b);
        journal.record(&[&raised(7, "p-1")], &[]).unwrap();
        let id = journal.queue_action(&ack_of_7(), audit("queued")).unwrap();
        let snooze = QueuedAction {
            kind: ActionKind::Snooze(600_000),
            ..ack_of_7()
        };
        let second = journal.queue_action(&snooze, audit("queued")).unwrap();
        let pending = journal.pending_actions(10).unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[0], QueuedAction { id, ..ack_of_7() });
        assert_eq!(pending[1].kind, ActionKind::Snooze(600_000));
        assert_eq!(
            journal.action_state(id).unwrap(),
            Some(ActionState::Pending)
        );

        let mut acknowledged = raised(7, "p-1");
        acknowledged.kind = vitals::alerts::EventKind::Acknowledged;
        journal
            .commit(JournalChange {
                events: &[&acknowledged],
                audit: Some(audit("success")),
                settles: Some(settlement(id, None)),
                ..JournalChange::default()
            })
            .unwrap();
        let applied = ActionState::Applied {
            hub: "hub-a".into(),
        };
        assert_eq!(journal.action_state(id).unwrap(), Some(applied));

        // Settled twice (a former owner's late commit): refused, and none of it is written.
        let events_before = journal.event_kinds(7).unwrap();
        let again = journal.commit(JournalChange {
            events: &[&acknowledged],
            settles: Some(settlement(id, None)),
            ..JournalChange::default()
        });
        assert!(
            matches!(again, Err(StoreError::AlreadySettled(i)) if i == id),
            "{again:?}"
        );
        assert_eq!(journal.event_kinds(7).unwrap(), events_before);

        // A refusal keeps its reason; only the unsettled action is still pending.
        let gone = Some(("no alert 7".to_string(), true));
        journal
            .commit(JournalChange {
                settles: Some(settlement(second, gone)),
                ..JournalChange::default()
            })
            .unwrap();
        let refused = ActionState::Refused {
            hub: "hub-a".into(),
            reason: "no alert 7".into(),
            not_found: true,
        };
        assert_eq!(journal.action_state(second).unwrap(), Some(refused));
        assert!(journal.pending_actions(10).unwrap().is_empty());
        assert_eq!(journal.action_state(9_999).unwrap(), None);
        let trail = journal.audit_page(0, 10).unwrap();
        let outcomes: Vec<&str> = trail.iter().map(|r| r.outcome.as_str()).collect();
        assert_eq!(outcomes, ["queued", "queued", "success"]);
    });
}

fn round(claim: &[u16], now: i64) -> LeaseRound<'_> {
    LeaseRound {
        claim,
        now,
        expires_ms: now + 5_000,
        ..LeaseRound::default()
    }
}

#[test]
fn a_fenced_change_commits_only_while_the_hub_holds_the_shard() {
    on_each_backend("fence", |b| {
        let (mut journal, mut leases) = open(b);
        assert_eq!(leases.apply("hub-a", &round(&[3], 0)).unwrap(), vec![3]);
        let fence = |shards: Vec<u16>| {
            Some(Fence {
                hub: "hub-a".into(),
                shards,
            })
        };
        let first = raised(1, "p-1");
        journal
            .commit(JournalChange {
                events: &[&first],
                fence: fence(vec![3]),
                ..JournalChange::default()
            })
            .unwrap();
        // hub-a stalls past its lease; hub-b takes shard 3 over.
        let mut other = Leases::open(&b.location, Durability::Normal).unwrap();
        assert_eq!(other.apply("hub-b", &round(&[3], 6_000)).unwrap(), vec![3]);
        let late = raised(2, "p-1");
        let refused = journal.commit(JournalChange {
            events: &[&late],
            audit: Some(audit("success")),
            fence: fence(vec![3]),
            ..JournalChange::default()
        });
        match refused {
            Err(StoreError::NotOwner { hub, shards }) => {
                assert_eq!((hub.as_str(), shards), ("hub-a", vec![3]));
            }
            other => panic!("committed after losing the shard: {other:?}"),
        }
        assert!(journal.alert(2).unwrap().is_none());
        assert!(journal.audit_page(0, 10).unwrap().is_empty());
        // A shard never held is not held either.
        let never = journal.commit(JournalChange {
            events: &[&late],
            fence: fence(vec![9]),
            ..JournalChange::default()
        });
        assert!(
            matches!(never, Err(StoreError::NotOwner { .. })),
            "{never:?}"
        );
    });
}
