//! Profiles the loader accepts however absurd their numbers (huge delays and tail means, a
//! vanishing rate or correlation time, outages and handovers far out or packed tight): the engine
//! carries packets through every one of them without panicking or hanging, as the relay must when
//! a user hands it such a file.

use netem::{Direction, Netem, Profile};
use std::time::Duration;

/// Runs 200 packets through `toml` at 1 kHz, both ways, and drains everything.
fn carry(toml: &str) -> (u64, u64) {
    let profile = Profile::from_toml(toml).unwrap_or_else(|e| panic!("{toml}: {e}"));
    let _ = Netem::<u64>::new(&profile, 3).interruptions(Duration::from_millis(5));
    let mut netem = Netem::new(&profile, 3);
    let mut delivered = 0;
    for i in 0..200u64 {
        let now = Duration::from_millis(i);
        let direction = if i % 2 == 0 {
            Direction::Forward
        } else {
            Direction::Back
        };
        netem.send(direction, i, 1200, now);
        while netem.poll_output(now).is_some() {
            delivered += 1;
        }
        let _ = netem.poll_timeout();
    }
    while netem.poll_output(Duration::MAX).is_some() {
        delivered += 1;
    }
    let _ = netem.reliable_arrival(Direction::Forward, Duration::from_millis(10));
    (200, delivered)
}

/// `carry`, and no packet came out more than twice (once, or duplicated).
fn carry_all(toml: &str) {
    let (sent, delivered) = carry(toml);
    assert!(delivered <= 2 * sent, "{toml}");
}

#[test]
fn absurd_delays_tails_and_rates_do_not_panic_the_engine() {
    for lane in [
        "delay_ms = 1e300",
        "delay_ms = 1.7976931348623157e308",
        "jitter = { kind = \"heavy-tailed\", mean_ms = 1e300, shape = 2.000001 }",
        "jitter = { kind = \"heavy-tailed\", mean_ms = 1e300, shape = 2.5 }\njitter_correlation_ms = 20.0",
        "jitter = { kind = \"heavy-tailed\", mean_ms = 2.0, shape = 2.5 }\njitter_correlation_ms = 5e-324",
        "jitter = { kind = \"heavy-tailed\", mean_ms = 2.0, shape = 2.5 }\njitter_correlation_ms = 1e308",
        "jitter = { kind = \"heavy-tailed\", mean_ms = 2.0, shape = 1e308 }\njitter_correlation_ms = 1.0",
        "jitter = { kind = \"normal\", sd_ms = 1e300 }\njitter_correlation_ms = 5e-324",
        "rate_mbit_s = 5e-324",
        "rate_mbit_s = 1e-300\nqueue_bytes = 9223372036854775807",
        "rate_mbit_s = 1e308",
    ] {
        carry_all(&format!("[forward]\n{lane}\n"));
    }
}

#[test]
fn absurd_outages_and_handovers_do_not_panic_or_hang_the_engine() {
    for extra in [
        "[[outages]]\nstart_ms = 1e300\nduration_ms = 1e300",
        "[[outages]]\nstart_ms = 0.0\nduration_ms = 1.7976931348623157e308",
        "[handover]\nfirst_ms = 1e300\nperiod_ms = 1e300\ngap_min_ms = 0.0\ngap_max_ms = 1e299",
        "[handover]\nfirst_ms = 0.0\nperiod_ms = 1.0\ngap_min_ms = 0.0\ngap_max_ms = 0.0",
        "[handover]\nfirst_ms = 0.0\nperiod_ms = 1.0\ngap_min_ms = 0.999\ngap_max_ms = 0.999999\nbuffered = true",
        "[handover]\nfirst_ms = 1e300\nperiod_ms = 1.0\ngap_min_ms = 0.0\ngap_max_ms = 0.5",
    ] {
        carry_all(&format!("[forward]\ndelay_ms = 20.0\n{extra}\n"));
    }
}

#[test]
fn handovers_closer_than_a_millisecond_are_refused() {
    for period in ["5e-324", "1e-300", "1e-9", "0.999", "inf"] {
        let toml = format!(
            "[handover]\nfirst_ms = 0.0\nperiod_ms = {period}\ngap_min_ms = 0.0\ngap_max_ms = 0.0\n"
        );
        let err = Profile::from_toml(&toml).unwrap_err();
        assert!(
            err.to_string().contains("handover.period_ms"),
            "{period}: {err}"
        );
    }
}
