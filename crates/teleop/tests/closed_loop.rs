//! The whole control chain in simulated time, without sockets: the console session core sends
//! commands over a constant-delay emulated link to the station session core, which sends its
//! state back, each side on its own clock with clock sync through the link. Deterministic, so the
//! tracking figure and the safety audit are checked exactly.

use netem::{LaneProfile, Profile};
use robot::script::{MasterInput, SurgicalScript};
use std::time::Duration;
use teleop::NoTap;
use teleop::StationReport;
use teleop::sim::{SimConfig, SimPair};

/// A link that only delays: `one_way` both ways, no jitter, no loss.
fn constant_delay(one_way: Duration) -> Profile {
    let lane = LaneProfile {
        delay_ms: one_way.as_secs_f64() * 1e3,
        ..LaneProfile::default()
    };
    Profile {
        name: "constant".into(),
        description: "constant one-way delay".into(),
        source: "test".into(),
        forward: lane.clone(),
        back: lane,
        outages: Vec::new(),
        handover: None,
    }
}

/// Runs `duration_s` of the suturing script over a fixed one-way delay, with servo ticks that
/// wander by `tick_jitter`, returning the station's report and the pair.
fn run(
    duration_s: f64,
    one_way: Duration,
    tick_jitter: Duration,
) -> (StationReport, SimPair<NoTap, NoTap>) {
    let per_stitch = SurgicalScript::suturing_stitches(7, 1).duration_s();
    let script = SurgicalScript::suturing_stitches(7, (duration_s / per_stitch).ceil() as usize);
    let config = SimConfig {
        tick_jitter,
        ..SimConfig::new(constant_delay(one_way), 7)
    };
    let mut pair = SimPair::new(&config, Box::new(script), duration_s, NoTap, NoTap).unwrap();
    while pair.step() {}
    let report = pair.station.core().report(pair.now(), false);
    (report, pair)
}

#[test]
fn the_scripted_procedure_tracks_within_a_millimetre_and_nothing_unsafe_is_applied() {
    let (report, pair) = run(8.0, Duration::from_micros(300), Duration::ZERO);
    assert_eq!(report.unsafe_applied, 0, "{:?}", report.first_unsafe);
    // One command per millisecond once following. The first milliseconds go to the hello, clock
    // sync (a round trip: under 2 ms here), enable and engage (measured: ENGAGED at 7 ms), and
    // the console sends no command before it follows, so none is dropped as unsynchronised.
    assert!(pair.commands_sent() > 7_900, "{}", pair.commands_sent());
    assert!(report.commands_applied > 7_000, "{report:?}");
    assert_eq!(report.commands_dropped.get("unsynchronised"), None);
    assert!(
        report.tracking_rms_mm < 1.0,
        "RMS {} mm",
        report.tracking_rms_mm
    );
    assert!(
        report.tracking_max_mm < 2.0,
        "max {} mm",
        report.tracking_max_mm
    );
    // Every applied command was judged on a clock-sync bound, and was truly young.
    let truth = report.true_age_at_apply_us.unwrap();
    assert_eq!(truth.count as u64, report.commands_applied);
    assert!(truth.max < 5_000.0, "{truth:?}");
    assert!(report.age_at_apply_us.max >= truth.max, "{report:?}");
}

#[test]
fn a_jittery_servo_clock_breaks_no_rule() {
    // Ticks between 0.2 and 1.8 ms apart.
    let (report, _) = run(
        8.0,
        Duration::from_micros(300),
        Duration::from_micros(1_600),
    );
    assert_eq!(report.unsafe_applied, 0, "{:?}", report.first_unsafe);
    assert!(report.commands_applied > 7_000, "{report:?}");
    assert!(
        report.tracking_rms_mm < 1.0,
        "RMS {} mm",
        report.tracking_rms_mm
    );
}
