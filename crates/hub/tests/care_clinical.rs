//! The ward core's defences against bad device input and its ambulance list, in simulated time:
//! readings stamped far in the future or long ago are refused and never freeze a patient's
//! NEWS2, a device whose sequence counter restarted is scored, ETAs count down and arrivals
//! leave the list.

use hub::care::{Care, HubEvent};
use hub::recent::Seen;
use vitals::alerts::{AlertConfig, AlertEngine, EventKind, Rule};
use vitals::geo::LatLon;
use vitals::payload::Position;
use vitals::{Measurement, Vitals};

/// Hub time in these tests: some day in 2026, ms since the Unix epoch.
const NOW: i64 = 1_795_000_000_000;
const S: i64 = 1000;
const HOSPITAL: LatLon = LatLon { lat: 0.0, lon: 0.0 };

fn ward() -> Care {
    Care::new(AlertEngine::new(AlertConfig::default()), HOSPITAL)
}

fn reading(seq: u64, time_ms: i64, heart_rate: f64) -> Measurement {
    Measurement {
        device: "d-1".into(),
        patient: "p-1".into(),
        seq,
        time_ms,
        vitals: Vitals {
            heart_rate: Some(heart_rate),
            ..Vitals::default()
        },
    }
}

fn news2_raised(care: &mut Care) -> bool {
    let mut events = Vec::new();
    care.drain_alerts(&mut events);
    events.iter().any(|e| {
        matches!(e, HubEvent::Alert(a) if a.kind == EventKind::Raised && a.alert.rule == Rule::News2)
    })
}

#[test]
fn a_reading_stamped_in_the_future_is_refused_and_does_not_freeze_news2() {
    let mut care = ward();
    let mut events = Vec::new();
    let future = care.score_new(&reading(1, NOW + 3600 * S, 70.0), NOW, &mut events);
    assert_eq!(future.map_err(|r| r.reason()), Err("future_time"));
    assert!(
        care.patients().is_empty(),
        "a refused reading changes nothing"
    );
    // The next readings, stamped now, are scored: a red score raises the NEWS2 alert.
    let red = care.score_new(&reading(2, NOW + S, 140.0), NOW + S, &mut events);
    assert_eq!(red, Ok(Seen::New));
    assert!(news2_raised(&mut care));
    let summary = &care.patients()[0];
    assert_eq!(summary.last_measurement_ms, Some(NOW + S));
    assert_eq!(summary.news2.map(|n| n.aggregate), Some(3));
}

#[test]
fn an_impossibly_old_reading_is_refused() {
    let mut care = ward();
    let mut events = Vec::new();
    let old = care.score_new(&reading(1, 0, 140.0), NOW, &mut events);
    assert_eq!(old.map_err(|r| r.reason()), Err("too_old"));
    assert!(care.patients().is_empty());
    assert!(!news2_raised(&mut care));
}

#[test]
fn a_device_whose_sequence_restarted_is_scored_after_the_reboot() {
    let mut care = ward();
    let mut events = Vec::new();
    for seq in 1..=300 {
        let t = NOW + seq as i64 * S;
        assert_eq!(
            care.score_new(&reading(seq, t, 70.0), t, &mut events),
            Ok(Seen::New)
        );
    }
    assert!(!news2_raised(&mut care));
    // Rebooted: the counter starts at 1 again, stamped after seq 300.
    let t = NOW + 400 * S;
    let rebooted = care.score_new(&reading(1, t, 140.0), t, &mut events);
    assert_eq!(rebooted, Ok(Seen::Reboot));
    assert!(
        news2_raised(&mut care),
        "the first reading after the reboot is scored"
    );
    // A redelivery of it is not scored again.
    let again = care.score_new(&reading(1, t, 140.0), t + S, &mut events);
    assert_eq!(again, Ok(Seen::Again));
}

fn position(lon: f64, speed_mps: f64) -> Position {
    Position {
        patient: "ambulance-patient-00".into(),
        lat: 0.0,
        lon,
        speed_mps,
        time_ms: NOW,
    }
}

#[test]
fn ambulance_etas_count_down_and_arrivals_leave_the_list() {
    let mut care = ward();
    // 0.01 degree of longitude at the equator: about 1112 m, at 10 m/s about 111 s.
    care.position("amb-1", position(0.01, 10.0), NOW);
    care.tick(NOW);
    let eta = care.incoming()[0].eta_s;
    assert!((eta - 111.2).abs() < 0.5, "{eta}");
    care.tick(NOW + 60 * S);
    let later = care.incoming()[0].eta_s;
    assert!((eta - 60.0 - later).abs() < 1e-6, "{later}");
    // The ETA ran out without a new position: arrived.
    care.tick(NOW + 112 * S);
    assert!(care.incoming().is_empty());
    // A position at the hospital is an arrival too.
    care.position("amb-2", position(0.01, 10.0), NOW);
    care.position("amb-2", position(0.0005, 0.0), NOW + 100 * S);
    assert!(care.incoming().is_empty());
}
