//! Clinical refinements of the NEWS2 alert: a rise within the high band pages again (and the
//! message follows the score), and one better reading between bad ones does not resolve it; the
//! sustained-low-SpO2 alert resolves with the same hysteresis.

use vitals::alerts::{AlertConfig, AlertEngine, AlertEvent, EventKind, Rule};
use vitals::tracker::PatientTracker;
use vitals::{Acvpu, Measurement, Vitals};

const S: i64 = 1000;

struct Ward {
    tracker: PatientTracker,
    engine: AlertEngine,
    seq: u64,
}

impl Ward {
    /// NEWS2 rules only, with `config`'s clinical settings.
    fn with(config: AlertConfig) -> Self {
        let far = i64::MAX / 4;
        let config = AlertConfig {
            sustained_low_spo2: None,
            offline_after_ms: far,
            no_data_after_ms: far,
            ..config
        };
        Ward {
            tracker: PatientTracker::default(),
            engine: AlertEngine::new(config),
            seq: 0,
        }
    }

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
        std::iter::from_fn(|| self.engine.poll_output()).collect()
    }
}

fn kinds(events: &[AlertEvent]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind.clone()).collect()
}

/// Every parameter given, scoring `extra` on top of pulse 135 (3) + RR 26 (3) + SBP 85 (3) = 9.
fn high_plus(temperature: f64, spo2: f64, acvpu: Acvpu) -> Vitals {
    Vitals {
        heart_rate: Some(135.0),
        resp_rate: Some(26.0),
        systolic: Some(85.0),
        diastolic: Some(60.0),
        temperature: Some(temperature),
        spo2: Some(spo2),
        on_oxygen: Some(false),
        consciousness: Some(acvpu),
    }
}

/// NEWS2 0: every parameter normal.
fn normal() -> Vitals {
    Vitals {
        heart_rate: Some(70.0),
        resp_rate: Some(16.0),
        systolic: Some(120.0),
        diastolic: Some(80.0),
        temperature: Some(37.0),
        spo2: Some(97.0),
        on_oxygen: Some(false),
        consciousness: Some(Acvpu::Alert),
    }
}

#[test]
fn news2_rising_by_two_within_the_high_band_pages_again_even_if_acknowledged() {
    let mut ward = Ward::with(AlertConfig::default());
    let raised = ward.measure(high_plus(37.0, 97.0, Acvpu::Alert), 0); // 9
    assert_eq!(kinds(&raised), vec![EventKind::Raised]);
    let id = raised[0].alert.id;
    ward.engine.acknowledge(id, "nurse.jo", S).unwrap();
    std::iter::from_fn(|| ward.engine.poll_output()).for_each(drop);
    // 9 -> 10: within the rise, nobody is paged, but the message follows the score.
    assert!(
        ward.measure(high_plus(38.5, 97.0, Acvpu::Alert), 2 * S)
            .is_empty()
    );
    assert!(
        ward.engine
            .get(id)
            .unwrap()
            .message
            .starts_with("NEWS2 10 ")
    );
    // 9 -> 11: two above the last page, the nurse is paged again and must acknowledge again.
    let events = ward.measure(high_plus(39.5, 97.0, Acvpu::Alert), 3 * S);
    assert_eq!(kinds(&events), vec![EventKind::Worsened]);
    assert_eq!(events[0].notify.as_deref(), Some("nurse"));
    assert!(events[0].alert.acknowledged.is_none());
    assert!(
        events[0].alert.message.starts_with("NEWS2 11 "),
        "{events:?}"
    );
    assert_eq!(events[0].alert.id, id);
    // The baseline moved to 11: 12 pages nobody, 17 pages again.
    assert!(
        ward.measure(high_plus(39.5, 94.0, Acvpu::Alert), 4 * S)
            .is_empty()
    );
    let events = ward.measure(high_plus(39.5, 85.0, Acvpu::Voice), 5 * S);
    assert_eq!(kinds(&events), vec![EventKind::Worsened]);
    assert!(events[0].alert.message.starts_with("NEWS2 17 "));
}

#[test]
fn renotify_rise_zero_pages_once_per_band() {
    let mut ward = Ward::with(AlertConfig {
        renotify_rise: 0,
        ..AlertConfig::default()
    });
    ward.measure(high_plus(37.0, 97.0, Acvpu::Alert), 0);
    let events = ward.measure(high_plus(39.5, 85.0, Acvpu::Voice), S);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn one_better_reading_between_bad_ones_neither_resolves_nor_raises_anew() {
    let mut ward = Ward::with(AlertConfig::default());
    let id = ward.measure(high_plus(37.0, 97.0, Acvpu::Alert), 0)[0]
        .alert
        .id;
    assert!(ward.measure(normal(), S).is_empty());
    assert!(
        ward.measure(high_plus(37.0, 97.0, Acvpu::Alert), 2 * S)
            .is_empty()
    );
    assert_eq!(ward.engine.active()[0].id, id);
    // Two clear readings in a row (the count restarted after the bad one) resolve it.
    assert!(ward.measure(normal(), 3 * S).is_empty());
    let events = ward.measure(normal(), 4 * S);
    assert_eq!(kinds(&events), vec![EventKind::Resolved]);
    assert_eq!(events[0].alert.id, id);
}

#[test]
fn resolve_after_one_reading_resolves_at_once() {
    let mut ward = Ward::with(AlertConfig {
        resolve_after_readings: 1,
        ..AlertConfig::default()
    });
    ward.measure(high_plus(37.0, 97.0, Acvpu::Alert), 0);
    assert_eq!(kinds(&ward.measure(normal(), S)), vec![EventKind::Resolved]);
}

#[test]
fn resolve_after_ms_also_needs_the_clear_readings_to_last() {
    let mut ward = Ward::with(AlertConfig {
        resolve_after_ms: 5 * 60 * S,
        ..AlertConfig::default()
    });
    ward.measure(high_plus(37.0, 97.0, Acvpu::Alert), 0);
    assert!(ward.measure(normal(), S).is_empty());
    assert!(
        ward.measure(normal(), 2 * S).is_empty(),
        "two readings, but not 5 minutes"
    );
    assert!(
        ward.measure(normal(), 5 * 60 * S).is_empty(),
        "4:59 since the first clear one"
    );
    let events = ward.measure(normal(), 5 * 60 * S + S);
    assert_eq!(kinds(&events), vec![EventKind::Resolved]);
}

/// A ward with the sustained-low-SpO2 rule (NEWS2 still runs; only SpO2 events are kept).
fn spo2_ward(config: AlertConfig) -> Ward {
    let mut ward = Ward::with(config);
    ward.engine = AlertEngine::new(AlertConfig {
        sustained_low_spo2: AlertConfig::default().sustained_low_spo2,
        ..ward.engine.config().clone()
    });
    ward
}

fn spo2(ward: &mut Ward, value: f64, now: i64) -> Vec<AlertEvent> {
    let vitals = Vitals {
        spo2: Some(value),
        ..Vitals::default()
    };
    let events = ward.measure(vitals, now);
    events
        .into_iter()
        .filter(|e| e.alert.rule == Rule::SustainedLowSpo2)
        .collect()
}

/// SpO2 87 % from 0 to 30 s raises the sustained-low-SpO2 alert; returns its id.
fn low_for_30_s(ward: &mut Ward) -> u64 {
    let raised: Vec<AlertEvent> = (0..=30).flat_map(|t| spo2(ward, 87.0, t * S)).collect();
    assert_eq!(kinds(&raised), vec![EventKind::Raised]);
    raised[0].alert.id
}

#[test]
fn one_good_spo2_reading_between_low_ones_neither_resolves_nor_raises_anew() {
    let mut ward = spo2_ward(AlertConfig::default());
    let id = low_for_30_s(&mut ward);
    assert!(spo2(&mut ward, 95.0, 31 * S).is_empty(), "one good reading");
    assert!(spo2(&mut ward, 87.0, 32 * S).is_empty(), "the same alert");
    let active = ward
        .engine
        .active()
        .into_iter()
        .find(|a| a.rule == Rule::SustainedLowSpo2)
        .map(|a| a.id);
    assert_eq!(active, Some(id));
    // Two good readings in a row (the count restarted after the low one) resolve it.
    assert!(spo2(&mut ward, 95.0, 33 * S).is_empty());
    let events = spo2(&mut ward, 95.0, 34 * S);
    assert_eq!(kinds(&events), vec![EventKind::Resolved]);
    assert_eq!(events[0].alert.id, id);
}

#[test]
fn a_low_spo2_alert_also_waits_resolve_after_ms() {
    let mut ward = spo2_ward(AlertConfig {
        resolve_after_ms: 5 * 60 * S,
        ..AlertConfig::default()
    });
    low_for_30_s(&mut ward);
    assert!(spo2(&mut ward, 95.0, 31 * S).is_empty());
    assert!(spo2(&mut ward, 95.0, 32 * S).is_empty(), "two, not 5 min");
    assert!(spo2(&mut ward, 95.0, 31 * S + 5 * 60 * S - 1).is_empty());
    let events = spo2(&mut ward, 95.0, 31 * S + 5 * 60 * S);
    assert_eq!(kinds(&events), vec![EventKind::Resolved]);
}

#[test]
fn a_low_spo2_alert_resolves_at_once_with_resolve_after_one_reading() {
    let mut ward = spo2_ward(AlertConfig {
        resolve_after_readings: 1,
        ..AlertConfig::default()
    });
    low_for_30_s(&mut ward);
    let events = spo2(&mut ward, 95.0, 31 * S);
    assert_eq!(kinds(&events), vec![EventKind::Resolved]);
}
