//! The alert lifecycle in simulated time: raise, no repeats, acknowledge, escalation, directional
//! snooze, resolve, device offline (last will and silence) and no data.

use vitals::alerts::{AlertConfig, AlertEngine, AlertEvent, EventKind, Rule};
use vitals::tracker::PatientTracker;
use vitals::{Measurement, Vitals};

const S: i64 = 1000;

struct Ward {
    tracker: PatientTracker,
    engine: AlertEngine,
    seq: u64,
}

impl Ward {
    /// NEWS2 rules only: device timeouts far away so they stay out of the way.
    fn new() -> Self {
        let far = i64::MAX / 4;
        Ward::with(AlertConfig {
            sustained_low_spo2: None,
            offline_after_ms: far,
            no_data_after_ms: far,
            ..AlertConfig::default()
        })
    }

    fn with(config: AlertConfig) -> Self {
        Ward {
            tracker: PatientTracker::default(),
            engine: AlertEngine::new(config),
            seq: 0,
        }
    }

    /// Feeds one measurement of patient `p` from device `d` at `now` and returns the events.
    fn measure(&mut self, vitals: Vitals, now: i64) -> Vec<AlertEvent> {
        self.seq += 1;
        let m = Measurement {
            device: "d".into(),
            patient: "p".into(),
            seq: self.seq,
            time_ms: now,
            vitals,
        };
        let assessment = self.tracker.observe(&m);
        self.engine.handle_assessment(&assessment, now);
        self.drain()
    }

    fn tick(&mut self, now: i64) -> Vec<AlertEvent> {
        self.engine.handle_timeout(now);
        self.drain()
    }

    fn drain(&mut self) -> Vec<AlertEvent> {
        std::iter::from_fn(|| self.engine.poll_output()).collect()
    }
}

fn kinds(events: &[AlertEvent]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind.clone()).collect()
}

/// Pulse alone: 60 -> NEWS2 0, 95 -> 1 (low), 120 -> 2, 135 -> 3 (red score: low-medium).
fn pulse(bpm: f64) -> Vitals {
    Vitals {
        heart_rate: Some(bpm),
        ..Vitals::default()
    }
}

/// Pulse 135 (3) + RR 22 (2) = 5 (medium); + RR 26 (3) = 6; with SBP 85 (3) = 9 (high).
fn medium() -> Vitals {
    Vitals {
        heart_rate: Some(135.0),
        resp_rate: Some(22.0),
        ..Vitals::default()
    }
}
fn high() -> Vitals {
    Vitals {
        heart_rate: Some(135.0),
        resp_rate: Some(26.0),
        systolic: Some(85.0),
        ..Vitals::default()
    }
}

#[test]
fn red_score_raises_once_and_pages_the_first_role() {
    let mut ward = Ward::new();
    assert!(ward.measure(pulse(60.0), 0).is_empty());
    let events = ward.measure(pulse(135.0), S);
    assert_eq!(kinds(&events), vec![EventKind::Raised]);
    assert_eq!(events[0].notify.as_deref(), Some("nurse"));
    assert_eq!(events[0].alert.rule, Rule::News2);
    // The same condition again: no repeat.
    assert!(ward.measure(pulse(136.0), 2 * S).is_empty());
    assert_eq!(ward.engine.active().len(), 1);
}

#[test]
fn unacknowledged_alerts_climb_the_escalation_chain_on_time() {
    let mut ward = Ward::new();
    ward.measure(pulse(135.0), 0);
    assert_eq!(ward.engine.poll_timeout(), Some(120 * S));
    assert!(
        ward.tick(120 * S - 1)
            .iter()
            .all(|e| e.kind != EventKind::Escalated)
    );
    let events = ward.tick(120 * S);
    assert_eq!(kinds(&events), vec![EventKind::Escalated]);
    assert_eq!(events[0].notify.as_deref(), Some("charge_nurse"));
    let roles: Vec<String> = [240, 360, 480, 600]
        .iter()
        .flat_map(|t| ward.tick(t * S))
        .filter(|e| e.kind == EventKind::Escalated)
        .filter_map(|e| e.notify)
        .collect();
    // The chain ends at its last role: no further pages after it.
    assert_eq!(roles, vec!["doctor", "rapid_response_team"]);
}

#[test]
fn acknowledge_stops_escalation_and_records_who() {
    let mut ward = Ward::new();
    let id = ward.measure(pulse(135.0), 0)[0].alert.id;
    ward.engine.acknowledge(id, "nurse.jo", 10 * S).unwrap();
    let events = ward.drain();
    assert_eq!(kinds(&events), vec![EventKind::Acknowledged]);
    assert_eq!(
        events[0].alert.acknowledged.as_ref().unwrap().by,
        "nurse.jo"
    );
    assert!(
        ward.tick(1000 * S)
            .iter()
            .all(|e| e.kind != EventKind::Escalated)
    );
    // Still the same or better: no new page after the acknowledgement.
    assert!(ward.measure(pulse(140.0), 1001 * S).is_empty());
    assert!(ward.engine.acknowledge(999, "x", 0).is_err());
    assert!(ward.engine.acknowledge(id, "", 0).is_err());
}

#[test]
fn snooze_is_directional_a_worse_reading_still_fires() {
    let mut ward = Ward::new();
    let id = ward.measure(medium(), 0)[0].alert.id;
    ward.engine.snooze(id, "nurse.jo", 15 * 60 * S, S).unwrap();
    assert_eq!(kinds(&ward.drain()), vec![EventKind::Snoozed]);
    // Improvement and return to the snoozed severity: nobody is paged.
    let quiet: Vec<AlertEvent> = [
        ward.measure(pulse(135.0), 2 * S),
        ward.measure(medium(), 3 * S),
    ]
    .concat();
    assert!(quiet.iter().all(|e| e.notify.is_none()), "{quiet:?}");
    // No escalation while snoozed.
    assert!(ward.tick(600 * S).is_empty());
    // Worse than what was snoozed: fires at once and ends the snooze.
    let events = ward.measure(high(), 601 * S);
    assert_eq!(kinds(&events), vec![EventKind::Worsened]);
    assert!(events[0].notify.is_some());
    assert!(events[0].alert.snoozed.is_none());
}

#[test]
fn an_expired_snooze_pages_again_if_unacknowledged() {
    let mut ward = Ward::new();
    let id = ward.measure(medium(), 0)[0].alert.id;
    ward.engine.snooze(id, "nurse.jo", 60 * S, 0).unwrap();
    ward.drain();
    assert_eq!(ward.engine.poll_timeout(), Some(60 * S));
    let events = ward.tick(60 * S);
    assert_eq!(kinds(&events), vec![EventKind::SnoozeEnded]);
    assert_eq!(events[0].notify.as_deref(), Some("nurse"));
    assert!(
        ward.engine.snooze(id, "x", 5, 0).is_err(),
        "a 5 ms snooze is refused"
    );
}

#[test]
fn resolves_when_the_condition_clears_and_can_raise_anew() {
    let mut ward = Ward::new();
    let first = ward.measure(pulse(135.0), 0)[0].alert.id;
    // Hysteresis: `resolve_after_readings` (2) clear readings in a row.
    assert!(ward.measure(pulse(70.0), S).is_empty());
    let events = ward.measure(pulse(70.0), 2 * S);
    assert_eq!(kinds(&events), vec![EventKind::Resolved]);
    assert_eq!(events[0].alert.resolved_at_ms, Some(2 * S));
    assert!(ward.engine.active().is_empty());
    let again = ward.measure(pulse(135.0), 3 * S);
    assert_eq!(kinds(&again), vec![EventKind::Raised]);
    assert_ne!(again[0].alert.id, first);
}

#[test]
fn last_will_and_silence_raise_device_offline_and_data_resolves_it() {
    let mut ward = Ward::with(AlertConfig::default());
    ward.measure(pulse(70.0), 0);
    ward.engine.handle_status("d", false, None, S);
    let events = ward.drain();
    assert_eq!(kinds(&events), vec![EventKind::Raised]);
    assert_eq!(events[0].alert.rule, Rule::DeviceOffline);
    assert_eq!(events[0].alert.patient.as_deref(), Some("p"));
    assert_eq!(
        kinds(&ward.measure(pulse(70.0), 2 * S)),
        vec![EventKind::Resolved]
    );
    // Silence for the offline timeout (30 s) raises it again.
    assert!(
        ward.tick(32 * S)
            .iter()
            .any(|e| e.alert.rule == Rule::DeviceOffline)
    );
}

#[test]
fn heartbeats_without_measurements_raise_no_data() {
    let mut ward = Ward::with(AlertConfig::default());
    ward.measure(pulse(70.0), 0);
    for t in (10..=130).step_by(10) {
        ward.engine.handle_heartbeat("d", None, t * S);
        let events = ward.tick(t * S);
        assert!(events.iter().all(|e| e.alert.rule != Rule::DeviceOffline));
        if t >= 120 {
            assert!(
                ward.engine.active().iter().any(|a| a.rule == Rule::NoData),
                "at {t} s"
            );
        }
    }
    assert!(
        ward.measure(pulse(70.0), 131 * S)
            .iter()
            .any(|e| e.kind == EventKind::Resolved)
    );
}

#[test]
fn sustained_low_spo2_needs_the_whole_duration() {
    let mut ward = Ward::with(AlertConfig::default());
    let low = Vitals {
        spo2: Some(87.0),
        ..Vitals::default()
    };
    let events: Vec<AlertEvent> = (0..=30)
        .flat_map(|t| ward.measure(low, t * S))
        .filter(|e| e.alert.rule == Rule::SustainedLowSpo2)
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].at_ms, 30 * S);
    let good = Vitals {
        spo2: Some(95.0),
        ..Vitals::default()
    };
    // Resolved after `resolve_after_readings` (2) good readings in a row.
    let resolved = |events: Vec<AlertEvent>| {
        events
            .iter()
            .any(|e| e.alert.rule == Rule::SustainedLowSpo2 && e.kind == EventKind::Resolved)
    };
    assert!(!resolved(ward.measure(good, 31 * S)));
    assert!(resolved(ward.measure(good, 32 * S)));
}

#[test]
fn the_engine_is_deterministic() {
    let run = || {
        let mut ward = Ward::new();
        let mut all = ward.measure(high(), 0);
        all.extend(ward.tick(500 * S));
        all.extend(ward.measure(pulse(70.0), 501 * S));
        all
    };
    assert_eq!(run(), run());
}

#[test]
fn a_person_escalates_at_once_up_to_the_end_of_the_chain() {
    let mut ward = Ward::new();
    let id = ward.measure(pulse(135.0), 0)[0].alert.id;
    ward.engine.snooze(id, "nurse.jo", 60 * S, S).unwrap();
    ward.engine.escalate(id, "nurse.jo", 10 * S).unwrap();
    let events = ward.drain();
    assert_eq!(
        kinds(&events),
        vec![EventKind::Snoozed, EventKind::Escalated]
    );
    let escalated = &events[1];
    assert_eq!(escalated.notify.as_deref(), Some("charge_nurse"));
    assert_eq!(escalated.alert.notified_role, "charge_nurse");
    assert_eq!(escalated.alert.escalation_level, 1);
    assert!(
        escalated.alert.snoozed.is_none(),
        "escalating ends a snooze"
    );
    // The timer starts again from the escalation: the next page is 120 s after it.
    assert!(ward.tick(129 * S).is_empty());
    assert_eq!(kinds(&ward.tick(130 * S)), vec![EventKind::Escalated]);
    // An acknowledged alert can still be escalated (someone is on it and wants help).
    ward.engine.acknowledge(id, "dr.lee", 131 * S).unwrap();
    ward.engine.escalate(id, "dr.lee", 132 * S).unwrap();
    let last = ward.drain().pop().unwrap();
    assert_eq!(last.notify.as_deref(), Some("rapid_response_team"));
    assert_eq!(last.alert.acknowledged.as_ref().unwrap().by, "dr.lee");
    // At the end of the chain there is nobody left to page.
    let refused = ward.engine.escalate(id, "dr.lee", 133 * S).unwrap_err();
    assert!(
        refused.to_string().contains("end of the escalation chain"),
        "{refused}"
    );
    assert!(ward.drain().is_empty());
    assert!(ward.engine.escalate(999, "dr.lee", 133 * S).is_err());
    assert!(ward.engine.escalate(id, "", 133 * S).is_err());
}
