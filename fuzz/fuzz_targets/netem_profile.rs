//! Fuzz target: the netem TOML profile loader must return an error on any input, never panic;
//! and whatever profile it accepts, the engine must carry packets through it without panicking
//! (absurd delays, rates, correlation times, outages and handovers included).
#![no_main]

use libfuzzer_sys::fuzz_target;
use netem::{Direction, Netem, Profile};
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(profile) = Profile::from_toml(text) else {
        return;
    };
    // A tiny handover period makes listing the gaps of a minute a long loop: bounded here by
    // looking at a short window only.
    let _ = Netem::<u64>::new(&profile, 1).interruptions(Duration::from_millis(5));
    let mut netem = Netem::new(&profile, 1);
    for i in 0..64u64 {
        let now = Duration::from_micros(i * 700);
        let direction = if i % 3 == 0 {
            Direction::Back
        } else {
            Direction::Forward
        };
        netem.send(direction, i, 60 + (i as usize * 37) % 1400, now);
        while netem.poll_output(now).is_some() {}
        let _ = netem.poll_timeout();
    }
    while netem.poll_output(Duration::MAX).is_some() {}
    let _ = netem.reliable_arrival(Direction::Forward, Duration::from_millis(50));
});
