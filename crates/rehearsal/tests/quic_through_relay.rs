//! The real session through the real relay: a station and a console on loopback, QUIC with
//! mutual TLS passing through `link::relay` under a profile, real clock sync over it. Few and
//! short, since these run in wall-clock time; the fault matrix covers the rest in simulated time.

use console::ConsoleConfig;
use link::relay::{Relay, RelayConfig};
use netem::Profile;
use rehearsal::matrix::{ASYMMETRIC_PROFILES, matrix_profile};
use station::{StationConfig, StationHandle};
use std::convert::Infallible;
use std::time::Instant;
use teleop::NoTap;

struct Run {
    report: console::ConsoleReport,
    station: station::StationReport,
    relay: link::relay::RelayStats,
}

/// A station and a console through the relay under `profile` for `duration_s`. With
/// `shared_epoch` both run on one clock zero (as the demo does), so the station knows every
/// command's true age and reports it; clock sync still goes through the relay as ever.
fn run_through(profile: Profile, duration_s: f64, shared_epoch: bool) -> Run {
    let pki = tempfile::tempdir().unwrap();
    link::pki::init(pki.path(), &["localhost".into()], false).unwrap();
    let epoch = shared_epoch.then(Instant::now);
    let station = StationHandle::start(
        &StationConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            pki_dir: pki.path().to_owned(),
            record_dir: None,
            shared_epoch: epoch,
            ..StationConfig::default()
        },
        no_tap,
    )
    .unwrap();
    let relay = Relay::start(&RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        forward: station.local_addr(),
        profile,
        seed: 1,
    })
    .unwrap();
    let report = console::run(
        &ConsoleConfig {
            station: relay.local_addr(),
            pki_dir: pki.path().to_owned(),
            duration_s: Some(duration_s),
            record_dir: None,
            shared_epoch: epoch,
            ..ConsoleConfig::default()
        },
        no_tap,
    )
    .unwrap();
    Run {
        report,
        station: station.shutdown(),
        relay: relay.stop(),
    }
}

/// No recording: the tap that records nothing, whatever the core's configuration.
fn no_tap<C>(_config: &C) -> Result<NoTap, Infallible> {
    Ok(NoTap)
}

fn named(name: &str) -> Profile {
    matrix_profile(name).unwrap().unwrap()
}

#[test]
fn a_session_through_the_5g_embb_relay_is_delayed_and_safe() {
    let run = run_through(named("5g-embb"), 3.0, false);
    assert_eq!(
        run.station.unsafe_applied, 0,
        "{:?}",
        run.station.first_unsafe
    );
    assert!(run.station.commands_applied > 1_000, "{:?}", run.station);
    // Every command crossed the relay, which holds each one for 15 ms +- 3 ms.
    assert!(run.relay.forward.sent >= run.station.commands_received);
    assert!(
        run.station.latency_us.p50 > 5_000.0,
        "{:?}",
        run.station.latency_us
    );
    assert!(run.report.rtt_us.p50 > 10_000.0, "{:?}", run.report.rtt_us);
}

#[test]
fn a_session_through_an_outage_holds_disengages_and_is_re_engaged() {
    // The cut is 3-5 s on the relay clock; QUIC probes back after it with backoff, then the
    // scripted operator waits 0.5 s: 12 s leaves room for all of it on a loaded machine.
    let run = run_through(named("outage"), 12.0, false);
    let s = &run.station;
    assert_eq!(s.unsafe_applied, 0, "{:?}", s.first_unsafe);
    let reasons: Vec<&str> = s.transitions.iter().map(|t| t.reason.as_ref()).collect();
    assert!(
        reasons.contains(&"no valid command within the survival time"),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"no valid command within the disengage time"),
        "{reasons:?}"
    );
    let engaged = s.transitions.iter().filter(|t| t.to == "ENGAGED").count();
    assert!(engaged >= 2, "re-engaged after the outage: {reasons:?}");
    assert!(run.relay.forward.lost_interrupted + run.relay.back.lost_interrupted > 0);
}

/// The case, for real: the two directions differ by 25-55 ms, clock sync runs over the
/// relay from round trips alone, and no command truly older than 100 ms reaches the arm.
fn asymmetric_session_is_judged_on_the_bound(name: &str) {
    let run = run_through(named(name), 4.0, true);
    let s = &run.station;
    eprintln!(
        "{name}: applied {} dropped {:?}; age at apply max: true {:?} bound {:.1} estimate {:.1} ms; one-way p50 (estimate) {:.1} ms; RTT p50 {:.1} ms",
        s.commands_applied,
        s.commands_dropped,
        s.true_age_at_apply_us.map(|p| p.max / 1e3),
        s.age_at_apply_us.max / 1e3,
        s.estimated_age_at_apply_us.max / 1e3,
        s.latency_us.p50 / 1e3,
        run.report.rtt_us.p50 / 1e3,
    );
    assert_eq!(s.unsafe_applied, 0, "{name}: {:?}", s.first_unsafe);
    assert!(s.commands_applied > 0, "{name}: {s:?}");
    let truth = s
        .true_age_at_apply_us
        .expect("a shared epoch makes the station report true ages");
    assert!(truth.max < 100_000.0, "{name}: {truth:?}");
    // The station judged the bound, which is never below the truth.
    assert!(s.age_at_apply_us.max >= truth.max, "{name}: {s:?}");
}

#[test]
fn through_the_bufferbloat_relay_no_truly_stale_command_is_applied() {
    assert!(ASYMMETRIC_PROFILES.contains(&"bufferbloat"));
    asymmetric_session_is_judged_on_the_bound("bufferbloat");
}

#[test]
fn through_the_asymmetric_long_haul_relay_no_truly_stale_command_is_applied() {
    assert!(ASYMMETRIC_PROFILES.contains(&"longhaul-asymmetric"));
    asymmetric_session_is_judged_on_the_bound("longhaul-asymmetric");
}
