//! Several hubs, one ward: a hub commits alert changes only for the shards whose leases it
//! holds (checked in the journal transaction), so a hub that lost a shard (stalled past its
//! lease while another took it over) neither commits nor pushes what it raised for that shard's
//! patients, while its other patients' alerts go on; and an action asked at another hub is
//! applied as the person who asked and settled once, or left queued for the new owner.

use hub::care::{Care, HubEvent};
use hub::ownership::shard_of;
use store::db::{Conn, Location};
use store::{
    ActionKind, ActionState, AlertStore, Durability, LeaseRound, Leases, NewAudit, QueuedAction,
};
use vitals::alerts::{AlertConfig, AlertEngine, EventKind};
use vitals::geo::LatLon;
use vitals::{Measurement, Vitals};

fn red_score(patient: &str, seq: u64) -> Measurement {
    Measurement {
        device: format!("d-{patient}"),
        patient: patient.into(),
        seq,
        time_ms: 1_000 * seq as i64,
        vitals: Vitals {
            heart_rate: Some(140.0),
            ..Vitals::default()
        },
    }
}

/// A red-score reading number `seq` of each of `patients` at its own time, then the alerts
/// drained into `events`.
fn red_scores_for(care: &mut Care, patients: &[&str], seq: u64, events: &mut Vec<HubEvent>) {
    for patient in patients {
        let reading = red_score(patient, seq);
        care.score_new(&reading, reading.time_ms, events).unwrap();
    }
    care.drain_alerts(events);
}

/// Two patients in different shards.
fn two_patients() -> (String, String) {
    let first = "p-1".to_string();
    let second = (2..100)
        .map(|n| format!("p-{n}"))
        .find(|p| shard_of(p) != shard_of(&first))
        .unwrap();
    (first, second)
}

fn raised(events: &[HubEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            HubEvent::Alert(a) if a.kind == EventKind::Raised => a.alert.patient.clone(),
            _ => None,
        })
        .collect()
}

struct Setup {
    care: Care,
    leases: Leases,
    dir: std::path::PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// hub-a's care picture over a journal file, holding the shards of both patients until 5 s.
fn hub_a(name: &str, patients: &[&str]) -> Setup {
    let dir = std::env::temp_dir().join(format!("medlink-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hub.alerts.db");
    let journal = AlertStore::open(&path, Durability::Normal).unwrap();
    let conn = Conn::open(&Location::Sqlite(path), Durability::Normal).unwrap();
    let mut leases = Leases::with_conn(conn);
    let shards: Vec<u16> = patients.iter().map(|p| shard_of(p)).collect();
    let round = LeaseRound {
        claim: &shards,
        now: 0,
        expires_ms: 5_000,
        ..LeaseRound::default()
    };
    assert_eq!(leases.apply("hub-a", &round).unwrap().len(), 2);
    let engine = AlertEngine::new(AlertConfig::default());
    let hospital = LatLon { lat: 0.0, lon: 0.0 };
    let care = Care::new(engine, hospital)
        .with_journal(journal)
        .fenced_as("hub-a");
    Setup { care, leases, dir }
}

/// hub-b takes `patient`'s shard over after hub-a's lease ran out.
fn taken_by_b(setup: &mut Setup, patient: &str) {
    let shard = [shard_of(patient)];
    let round = LeaseRound {
        claim: &shard,
        now: 6_000,
        expires_ms: 11_000,
        ..LeaseRound::default()
    };
    assert_eq!(setup.leases.apply("hub-b", &round).unwrap(), shard);
}

#[test]
fn alerts_of_a_shard_taken_over_are_neither_committed_nor_pushed() {
    let (kept, lost) = two_patients();
    let mut setup = hub_a("fence-care", &[&kept, &lost]);
    taken_by_b(&mut setup, &lost);
    let care = &mut setup.care;
    let mut events = Vec::new();
    red_scores_for(care, &[&kept, &lost], 7, &mut events);
    assert_eq!(raised(&events), std::slice::from_ref(&kept), "{events:?}");
    let stored: Vec<Option<String>> = care
        .journal()
        .unwrap()
        .unresolved()
        .unwrap()
        .into_iter()
        .map(|a| a.patient)
        .collect();
    assert_eq!(stored, [Some(kept)]);
}

#[test]
fn a_queued_action_is_applied_as_who_asked_or_left_for_the_new_owner() {
    let (kept, lost) = two_patients();
    let mut setup = hub_a("fence-actions", &[&kept, &lost]);
    let care = &mut setup.care;
    let mut events = Vec::new();
    red_scores_for(care, &[&kept, &lost], 3, &mut events);
    let id_of = |care: &Care, patient: &str| {
        let alerts = care.journal().unwrap().unresolved().unwrap();
        alerts
            .into_iter()
            .find(|a| a.patient.as_deref() == Some(patient))
            .unwrap()
            .id
    };
    let (kept_id, lost_id) = (id_of(care, &kept), id_of(care, &lost));
    let ack = |id: u64, patient: &str| QueuedAction {
        id: 0,
        alert_id: id,
        patient: patient.to_string(),
        kind: ActionKind::Acknowledge,
        actor: "nurse-kim".into(),
        account: Some("user:nurse-kim".into()),
        asked_at_hub: "hub-c".into(),
        asked_at_ms: 3_500,
    };
    let request = |id: u64| NewAudit {
        at_ms: 3_500,
        actor: "nurse-kim".into(),
        account: Some("user:nurse-kim".into()),
        action: "alert_acknowledged".into(),
        entity_type: "alert".into(),
        entity: id.to_string(),
        outcome: "queued".into(),
    };
    let mut other = AlertStore::open(&setup.dir.join("hub.alerts.db"), Durability::Normal).unwrap();
    let kept_action = other
        .queue_action(&ack(kept_id, &kept), request(kept_id))
        .unwrap();
    let lost_action = other
        .queue_action(&ack(lost_id, &lost), request(lost_id))
        .unwrap();
    taken_by_b(&mut setup, &lost);
    let pending = other.pending_actions(10).unwrap();
    assert_eq!(pending.len(), 2);

    let mut events = Vec::new();
    setup
        .care
        .apply_queued(&pending[0], "hub-a", 4_000, &mut events)
        .unwrap();
    let acknowledged = events.iter().any(|e| {
        matches!(e, HubEvent::Alert(a) if a.kind == EventKind::Acknowledged
            && a.alert.acknowledged.as_ref().is_some_and(|k| k.by == "nurse-kim"))
    });
    assert!(acknowledged, "{events:?}");
    let applied = ActionState::Applied {
        hub: "hub-a".into(),
    };
    assert_eq!(other.action_state(kept_action).unwrap(), Some(applied));

    let mut events = Vec::new();
    let late = setup
        .care
        .apply_queued(&pending[1], "hub-a", 7_000, &mut events);
    assert!(
        matches!(late, Err(store::StoreError::NotOwner { .. })),
        "{late:?}"
    );
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(
        other.action_state(lost_action).unwrap(),
        Some(ActionState::Pending)
    );
    let stored = other.alert(lost_id).unwrap().unwrap();
    assert!(stored.acknowledged.is_none(), "{stored:?}");
}
