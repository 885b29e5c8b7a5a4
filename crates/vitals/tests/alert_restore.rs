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

/// Every parameter given: pulse 135 (3) + RR 26 (3) + SBP 85 (3) = 9, plus 2 with a fever.
fn high(fever: bool) -> vitals::Measurement {
    vitals::Measurement {
        device: "d".into(),
        patient: "p".into(),
        seq: 1 + fever as u64,
        time_ms: 1_000 + 1_000 * fever as i64,
        vitals: vitals::Vitals {
            heart_rate: Some(135.0),
            resp_rate: Some(26.0),
            systolic: Some(85.0),
            diastolic: Some(60.0),
            temperature: Some(if fever { 39.5 } else { 37.0 }),
            spo2: Some(97.0),
            on_oxygen: Some(false),
            consciousness: Some(vitals::Acvpu::Alert),
        },
    }
}

/// Raises a NEWS2 9 alert, restarts (alerts and, when `keep_baseline`, the baseline restored;
/// the tracker replays the reading), then scores 11: the events of that reading.
fn rise_after_restart(keep_baseline: bool) -> Vec<vitals::alerts::AlertEvent> {
    let mut tracker = vitals::tracker::PatientTracker::default();
    let mut engine = AlertEngine::new(AlertConfig::default());
    engine.handle_assessment(&tracker.observe(&high(false)), 1_000);
    let stored: Vec<Alert> = engine.active().into_iter().cloned().collect();
    let baseline = engine.news2_baseline("p");
    assert_eq!(baseline, Some(9));

    let mut tracker = vitals::tracker::PatientTracker::default();
    tracker.observe(&high(false));
    let mut engine = AlertEngine::new(AlertConfig::default());
    engine.restore(stored, 0);
    if let (true, Some(aggregate)) = (keep_baseline, baseline) {
        engine.restore_news2_baseline("p", aggregate);
    }
    engine.handle_assessment(&tracker.observe(&high(true)), 2_000);
    std::iter::from_fn(|| engine.poll_output())
        .filter(|e| e.alert.rule == Rule::News2)
        .collect()
}

#[test]
fn a_restored_news2_baseline_re_notifies_on_a_rise() {
    let events = rise_after_restart(true);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, EventKind::Worsened);
    assert_eq!(events[0].notify.as_deref(), Some("nurse"));
    // The control: without the baseline the rise pages nobody.
    assert!(rise_after_restart(false).is_empty());
}
