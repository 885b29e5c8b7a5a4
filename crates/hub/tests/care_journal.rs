//! The care picture's alert journal: an alert change is committed before the hub hands it on,
//! with the NEWS2 re-notification baseline; readings replayed at start feed the tracker and are
//! not scored again.

use hub::care::{Care, HubEvent};
use hub::recent::Seen;
use store::AlertStore;
use vitals::alerts::{AlertConfig, AlertEngine, EventKind};
use vitals::geo::LatLon;
use vitals::{Measurement, Vitals};

fn red_score(seq: u64) -> Measurement {
    Measurement {
        device: "d-1".into(),
        patient: "p-1".into(),
        seq,
        time_ms: 1_000 * seq as i64,
        vitals: Vitals {
            heart_rate: Some(140.0),
            ..Vitals::default()
        },
    }
}

#[test]
fn an_alert_is_in_the_journal_before_it_is_handed_on() {
    let hospital = LatLon { lat: 0.0, lon: 0.0 };
    let journal = AlertStore::open_in_memory().unwrap();
    let engine = AlertEngine::new(AlertConfig::default());
    let mut care = Care::new(engine, hospital).with_journal(journal);
    let mut events = Vec::new();
    care.score_new(&red_score(1), 1_000, &mut events).unwrap();
    care.drain_alerts(&mut events);
    let raised: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            HubEvent::Alert(a) if a.kind == EventKind::Raised => Some(a.alert.id),
            _ => None,
        })
        .collect();
    assert_eq!(raised, [1]);
    let journal = care.journal().unwrap();
    let stored: Vec<u64> = journal.unresolved().unwrap().iter().map(|a| a.id).collect();
    assert_eq!(stored, raised);
    assert_eq!(journal.event_kinds(1).unwrap(), ["raised"]);
    let baseline = journal.news2_baselines().unwrap();
    assert_eq!(baseline, [("p-1".to_string(), 3)], "the NEWS2 paged");
}

#[test]
fn replayed_readings_feed_the_tracker_and_are_not_scored_again() {
    let hospital = LatLon { lat: 0.0, lon: 0.0 };
    let mut care = Care::new(AlertEngine::new(AlertConfig::default()), hospital);
    care.replay(&red_score(1));
    assert!(
        care.tracker
            .summary("p-1")
            .is_some_and(|s| s.news2.is_some())
    );
    let mut events = Vec::new();
    let seen = care.score_new(&red_score(1), 1_005, &mut events);
    assert_eq!(seen.map(Seen::is_new), Ok(false));
    care.drain_alerts(&mut events);
    assert!(events.is_empty(), "{events:?}");
}
