//! A profile's one-way delays measured in virtual time: equal packets sent at a fixed rate
//! through one direction of the engine, with the statistics `medlink netem profiles` prints and
//! the tests check (percentiles, and late episodes per second: how often the network stalls).

use crate::engine::{Direction, Netem};
use crate::profile::Profile;
use crate::schedule::ms;
use serde::Serialize;
use std::time::Duration;

/// What to send: `rate_hz` packets of `len` bytes per second for `duration_s` simulated seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeLoad {
    pub rate_hz: f64,
    pub duration_s: f64,
    pub len: usize,
}

/// Sends the load in `direction` and returns, per delivered packet in sending order, (sequence
/// number, one-way delay in ms); a duplicate's second copy is left out. Nothing for a rate that
/// is not a positive number or a duration that is not finite; memory grows with the packets.
pub fn one_way_delays(
    profile: &Profile,
    direction: Direction,
    load: ProbeLoad,
    seed: u64,
) -> Vec<(u64, f64)> {
    let valid = load.rate_hz.is_finite() && load.rate_hz > 0.0 && load.duration_s.is_finite();
    if !valid {
        return Vec::new();
    }
    let mut netem = Netem::new(profile, seed);
    let packets = (load.rate_hz * load.duration_s).round().max(0.0) as u64;
    let mut delays: Vec<Option<f64>> = vec![None; packets as usize];
    let mut drain = |netem: &mut Netem<u64>, now: Duration| {
        while let Some(d) = netem.poll_output(now) {
            let sent = ms(d.payload as f64 * 1e3 / load.rate_hz);
            let slot = &mut delays[d.payload as usize];
            slot.get_or_insert(d.at.saturating_sub(sent).as_secs_f64() * 1e3);
        }
    };
    for seq in 0..packets {
        let now = ms(seq as f64 * 1e3 / load.rate_hz);
        netem.send(direction, seq, load.len, now);
        drain(&mut netem, now);
    }
    drain(&mut netem, Duration::MAX);
    delays
        .into_iter()
        .enumerate()
        .filter_map(|(seq, d)| d.map(|d| (seq as u64, d)))
        .collect()
}

/// The delay statistics of one probe run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DelayStats {
    pub rate_hz: f64,
    pub delivered: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The threshold of a late packet (ms of one-way delay).
    pub late_over_ms: f64,
    /// Runs of consecutive late packets (in sending order, lost ones skipped) per second.
    pub late_episodes_per_s: f64,
}

impl DelayStats {
    /// Statistics of `delays` (as `one_way_delays` returns them) over `duration_s` seconds.
    pub fn of(delays: &[(u64, f64)], rate_hz: f64, duration_s: f64, late_over_ms: f64) -> Self {
        let mut sorted: Vec<f64> = delays.iter().map(|(_, d)| *d).collect();
        sorted.sort_by(f64::total_cmp);
        let percentile = |q: f64| {
            if sorted.is_empty() {
                f64::NAN
            } else {
                sorted[((sorted.len() - 1) as f64 * q).round() as usize]
            }
        };
        let mut episodes = 0u64;
        let mut previous_late = false;
        for (_, d) in delays {
            let late = *d > late_over_ms;
            episodes += u64::from(late && !previous_late);
            previous_late = late;
        }
        Self {
            rate_hz,
            delivered: delays.len(),
            mean_ms: sorted.iter().sum::<f64>() / sorted.len().max(1) as f64,
            p50_ms: percentile(0.5),
            p99_ms: percentile(0.99),
            max_ms: sorted.last().copied().unwrap_or(f64::NAN),
            late_over_ms,
            late_episodes_per_s: episodes as f64 / duration_s,
        }
    }
}

/// The probe `medlink netem profiles` runs: `direction` of `profile` at `rate_hz`, 100-byte
/// packets for `duration_s`, late meaning more than 30 ms over the lane's base delay.
pub fn probe(
    profile: &Profile,
    direction: Direction,
    rate_hz: f64,
    duration_s: f64,
    seed: u64,
) -> DelayStats {
    let load = ProbeLoad {
        rate_hz,
        duration_s,
        len: 100,
    };
    let lane = match direction {
        Direction::Forward => &profile.forward,
        Direction::Back => &profile.back,
    };
    let delays = one_way_delays(profile, direction, load, seed);
    DelayStats::of(&delays, rate_hz, duration_s, lane.delay_ms + LATE_MS)
}

/// How far over the base delay a packet counts as late in `probe` (ms).
pub const LATE_MS: f64 = 30.0;
