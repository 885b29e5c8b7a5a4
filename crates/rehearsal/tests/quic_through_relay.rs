//! The real session through the real relay: a station and a console on loopback, QUIC with
//! mutual TLS passing through `link::relay` under a profile. Few and short, since these run in
//! wall-clock time; the fault matrix covers the rest in simulated time.

use console::ConsoleConfig;
use link::relay::{Relay, RelayConfig};
use netem::named_profile;
use station::{StationConfig, StationHandle};

struct Run {
    report: console::ConsoleReport,
    station: station::StationReport,
    relay: link::relay::RelayStats,
}

fn run_through(profile: &str, duration_s: f64) -> Run {
    let pki = tempfile::tempdir().unwrap();
    link::pki::init(pki.path(), &["localhost".into()], false).unwrap();
    let station = StationHandle::start(&StationConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        pki_dir: pki.path().to_owned(),
        ..StationConfig::default()
    })
    .unwrap();
    let relay = Relay::start(&RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        forward: station.local_addr(),
        profile: named_profile(profile).unwrap(),
        seed: 1,
    })
    .unwrap();
    let report = console::run(&ConsoleConfig {
        station: relay.local_addr(),
        pki_dir: pki.path().to_owned(),
        duration_s: Some(duration_s),
        ..ConsoleConfig::default()
    })
    .unwrap();
    Run {
        report,
        station: station.shutdown(),
        relay: relay.stop(),
    }
}

#[test]
fn a_session_through_the_5g_embb_relay_is_delayed_and_safe() {
    let run = run_through("5g-embb", 3.0);
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
    let run = run_through("outage", 12.0);
    let s = &run.station;
    assert_eq!(s.unsafe_applied, 0, "{:?}", s.first_unsafe);
    let reasons: Vec<&str> = s.transitions.iter().map(|t| t.reason.as_str()).collect();
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
