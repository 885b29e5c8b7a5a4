//! The two-direction impairment engine in the sans-IO shape: `send(direction, packet, len, now)`,
//! `poll_output(now)`, `poll_timeout()`. Generic over the packet, so the UDP relay passes bytes
//! and the simulated-time fault matrix passes decoded messages through the very same code.

use crate::lane::{Lane, LaneStats};
use crate::profile::Profile;
use crate::schedule::{Interruption, Schedule};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Direction {
    /// Client to server (console → station).
    Forward,
    /// Server to client (station → console).
    Back,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Delivery<T> {
    pub direction: Direction,
    /// When the network delivers it (the engine's clock).
    pub at: Duration,
    pub payload: T,
}

pub struct Netem<T> {
    profile: Profile,
    forward: Lane<T>,
    back: Lane<T>,
    schedule: Schedule,
}

impl<T: Clone> Netem<T> {
    /// An engine whose clock starts at zero; equal seeds give equal runs.
    pub fn new(profile: &Profile, seed: u64) -> Self {
        Self {
            forward: Lane::new(profile.forward.clone(), mix(seed, 1)),
            back: Lane::new(profile.back.clone(), mix(seed, 2)),
            schedule: Schedule::new(&profile.outages, profile.handover, mix(seed, 3)),
            profile: profile.clone(),
        }
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Hands the network a packet of `len` bytes sent at `now` in `direction`.
    pub fn send(&mut self, direction: Direction, payload: T, len: usize, now: Duration) {
        let lane = match direction {
            Direction::Forward => &mut self.forward,
            Direction::Back => &mut self.back,
        };
        lane.send(payload, len, now, &self.schedule);
    }

    /// The next packet due at or before `now`, earliest first across both directions.
    pub fn poll_output(&mut self, now: Duration) -> Option<Delivery<T>> {
        let forward_first = match (self.forward.next_delivery(), self.back.next_delivery()) {
            (Some(f), Some(b)) => f <= b,
            (f, _) => f.is_some(),
        };
        let (direction, lane) = if forward_first {
            (Direction::Forward, &mut self.forward)
        } else {
            (Direction::Back, &mut self.back)
        };
        lane.poll(now).map(|(at, payload)| Delivery {
            direction,
            at,
            payload,
        })
    }

    /// When the next packet is due, if any is in flight.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match (self.forward.next_delivery(), self.back.next_delivery()) {
            (Some(f), Some(b)) => Some(f.min(b)),
            (f, b) => f.or(b),
        }
    }

    pub fn stats(&self, direction: Direction) -> LaneStats {
        self.lane(direction).stats()
    }

    /// When a message on a reliable stream sent at `now` arrives: once the link is up again,
    /// after the direction's base delay (retransmission makes it lossless, not instant).
    pub fn reliable_arrival(&self, direction: Direction, now: Duration) -> Duration {
        let mut t = now;
        while let Some(gap) = self.schedule.at(t) {
            t = gap.end;
        }
        t.saturating_add(crate::schedule::ms(self.lane(direction).profile().delay_ms))
    }

    fn lane(&self, direction: Direction) -> &Lane<T> {
        match direction {
            Direction::Forward => &self.forward,
            Direction::Back => &self.back,
        }
    }

    /// The interruption under way at `t`, if any.
    pub fn interruption_at(&self, t: Duration) -> Option<Interruption> {
        self.schedule.at(t)
    }

    /// Every outage and handover gap that starts before `until`.
    pub fn interruptions(&self, until: Duration) -> Vec<Interruption> {
        self.schedule.list(until)
    }
}

/// Independent sub-seeds for the lanes and the schedule.
fn mix(seed: u64, stream: u64) -> u64 {
    crate::sample::splitmix64(seed.wrapping_add(stream.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
}
