//! An engine restored from stored alerts (as the hub does after a restart) carries on: same ids,
//! acknowledgements kept, escalation at the stored deadline, new ids above every old one.

use vitals::alerts::{Alert, AlertConfig, AlertEngine, Condition, EventKind, Rule};

fn condition(patient: &str) -> Option<Condition> {
    Some(Condition {
        severity: 2,
        message: format!("bradycardia of {patient}"),
        patient: Some(patient.to_string()),
    })
}

/// A first run: two alerts raised at 1 000, the first escalated once at 121 000 and the second
/// acknowledged; returns what a store would hold (every alert ever raised, resolved included).
fn first_run() -> Vec<Alert> {
    let mut engine = AlertEngine::new(AlertConfig::default());
    engine.handle_condition(Rule::Bradycardia, "a", condition("p-a"), 1_000);
    engine.handle_condition(Rule::Bradycardia, "b", condition("p-b"), 1_000);
    engine.handle_condition(Rule::Pause, "c", condition("p-c"), 1_000);
    engine.handle_condition(Rule::Pause, "c", None, 2_000);
    engine.acknowledge(2, "nurse.jo", 5_000).unwrap();
    engine.handle_timeout(121_000);
    let mut stored: Vec<Alert> = engine.active().into_iter().cloned().collect();
    stored.extend(engine.resolved().cloned());
    stored
}

#[test]
fn a_restored_engine_escalates_at_the_stored_deadline() {
    let stored = first_run();
    let a = stored.iter().find(|a| a.id == 1).unwrap();
    assert_eq!((a.escalation_level, a.last_notified_ms), (1, 121_000));

    let mut engine = AlertEngine::new(AlertConfig::default());
    engine.restore(stored, 0);
    let ids: Vec<u64> = engine.active().iter().map(|a| a.id).collect();
    assert_eq!(ids, [1, 2], "the unresolved alerts, same ids");
    assert_eq!(
        engine
            .get(2)
            .and_then(|a| a.acknowledged.clone())
            .map(|k| k.by),
        Some("nurse.jo".to_string())
    );
    // The timer goes on from the stored notification, not from the restart.
    assert_eq!(engine.poll_timeout(), Some(241_000));
    engine.handle_timeout(240_999);
    assert_eq!(engine.poll_output(), None);
    engine.handle_timeout(241_000);
    let event = engine.poll_output().unwrap();
    assert_eq!(event.kind, EventKind::Escalated);
    assert_eq!((event.alert.id, event.alert.escalation_level), (1, 2));
    assert_eq!(event.notify.as_deref(), Some("doctor"));
    assert_eq!(
        engine.poll_output(),
        None,
        "the acknowledged alert stays quiet"
    );
}

#[test]
fn a_restored_engine_never_gives_an_old_id_again() {
    let mut engine = AlertEngine::new(AlertConfig::default());
    // Alert 3 was resolved before the restart: its id is still taken.
    engine.restore(first_run(), 0);
    engine.handle_condition(Rule::Tachycardia, "d", condition("p-d"), 300_000);
    let raised = engine.poll_output().unwrap();
    assert_eq!((raised.kind, raised.alert.id), (EventKind::Raised, 4));

    let mut engine = AlertEngine::new(AlertConfig::default());
    engine.restore(Vec::new(), 17);
    engine.handle_condition(Rule::Tachycardia, "d", condition("p-d"), 300_000);
    assert_eq!(
        engine.poll_output().unwrap().alert.id,
        17,
        "the stored counter"
    );
}

#[test]
fn a_restored_alert_can_be_acknowledged_by_its_id() {
    let mut engine = AlertEngine::new(AlertConfig::default());
    engine.restore(first_run(), 0);
    engine.acknowledge(1, "dr.lee", 130_000).unwrap();
    assert_eq!(engine.poll_timeout(), None, "nothing left to escalate");
}
