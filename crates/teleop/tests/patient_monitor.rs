//! The patient monitor in the session: the station core sends each reading to every admitted
//! console, observers included; a console that sends vitals is closed as speaking out of turn;
//! the console core keeps the newest plausible reading with its age.

mod common;

use common::ward::{A, OBSERVER, Ward};
use std::time::Duration;
use teleop::station::peers::Admission;
use teleop::{
    ConsoleInput, ConsoleSession, ConsoleSessionConfig, Core, MonitorReading, SessionEvent,
    StationInput, StationSessionConfig,
};
use trust::{Identity, Role as TrustRole};

fn reading(hr_bpm: f64, at_us: i64) -> MonitorReading {
    MonitorReading {
        hr_bpm,
        spo2_pct: 97.0,
        rr_per_min: 14.0,
        sbp_mmhg: 124.0,
        dbp_mmhg: 78.0,
        temp_c: 36.8,
        at_us,
    }
}

fn vitals_sent(ward: &Ward) -> Vec<(Option<u64>, MonitorReading)> {
    ward.events
        .iter()
        .filter_map(|(to, event)| match event {
            SessionEvent::Vitals(r) => Some((*to, *r)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_station_sends_each_reading_to_every_console_observers_included() {
    let mut ward = Ward::new(StationSessionConfig::default());
    ward.connect_operator(A, "Dr A");
    let observer = Identity::simulated("Student", TrustRole::Observer);
    let admission = Admission::without_policy(&observer);
    ward.connect(OBSERVER, observer, admission);
    ward.events.clear();
    ward.now = Duration::from_secs(1);
    ward.input(StationInput::Monitor {
        reading: reading(72.0, 1_000_000),
    });
    ward.now = Duration::from_secs(2);
    ward.input(StationInput::Monitor {
        reading: reading(74.0, 2_000_000),
    });
    let sent = vitals_sent(&ward);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|(to, _)| to.is_none()), "to every console");
    assert_eq!(sent[1].1.hr_bpm, 74.0);
    assert!(ward.closed.is_empty(), "{:?}", ward.closed);
}

#[test]
fn a_console_that_joins_gets_the_newest_reading_at_once() {
    let mut ward = Ward::new(StationSessionConfig::default());
    ward.input(StationInput::Monitor {
        reading: reading(70.0, 1_000_000),
    });
    ward.input(StationInput::Monitor {
        reading: reading(71.0, 2_000_000),
    });
    ward.events.clear();
    ward.connect_operator(A, "Dr A");
    let sent = vitals_sent(&ward);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0], (Some(A), reading(71.0, 2_000_000)));
}

#[test]
fn a_console_sending_vitals_is_closed_as_speaking_out_of_turn() {
    let mut ward = Ward::new(StationSessionConfig::default());
    ward.connect_operator(A, "Dr A");
    ward.event(A, SessionEvent::Vitals(reading(72.0, 0)));
    assert_eq!(ward.closed.len(), 1, "{:?}", ward.closed);
    assert_eq!(ward.closed[0].0, A);
    assert!(ward.closed[0].1.contains("only a station may send"));
    assert!(vitals_sent(&ward).is_empty(), "nothing is forwarded");
}

#[test]
fn the_console_keeps_the_newest_plausible_reading_and_its_age() {
    let mut console = ConsoleSession::new(ConsoleSessionConfig::default());
    let at = |ms: u64| Duration::from_millis(ms);
    console.handle_input(ConsoleInput::Connected, at(0));
    assert_eq!(console.view(at(0)).vitals, None);
    assert_eq!(console.view(at(0)).vitals_age, None);

    let event = |r| ConsoleInput::Event {
        event: SessionEvent::Vitals(r),
    };
    console.handle_input(event(reading(72.0, 1_000_000)), at(1_000));
    console.handle_input(event(reading(75.0, 2_000_000)), at(2_000));
    // An older reading after a newer one, and an impossible one, are not shown.
    console.handle_input(event(reading(60.0, 1_500_000)), at(2_100));
    console.handle_input(event(reading(f64::NAN, 3_000_000)), at(2_200));
    console.handle_input(event(reading(900.0, 3_000_000)), at(2_300));

    let view = console.view(at(2_500));
    assert_eq!(view.vitals.map(|r| r.hr_bpm), Some(75.0));
    assert_eq!(view.vitals_age, Some(at(500)));
    let report = console.report();
    assert_eq!(report.vitals_received, 2);
    assert_eq!(report.vitals_refused, 2);
    assert_eq!(report.last_vitals.map(|r| r.at_us), Some(2_000_000));
}

#[test]
fn readings_cross_the_events_codec_and_keep_their_name() {
    let event = SessionEvent::Vitals(reading(72.0, 42));
    assert_eq!(event.name(), "vitals");
    let json = serde_json::to_string(&event).unwrap();
    assert!(json.contains("\"hr_bpm\":72.0"), "{json}");
    let back: SessionEvent = serde_json::from_str(&json).unwrap();
    assert_eq!(back, event);
}
