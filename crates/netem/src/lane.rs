//! One direction of the emulated link: loss, bandwidth cap with a bounded queue, delay and
//! jitter, order keeping or reordering, duplication. Packets wait in a time-ordered heap until
//! their delivery time.

use crate::profile::{Jitter, LaneProfile, Loss};
use crate::sample;
use crate::schedule::{InterruptionKind, Schedule, ms, secs};
use crate::tail::TailProcess;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Duration;

/// What happened to the packets of one direction so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LaneStats {
    pub sent: u64,
    pub delivered: u64,
    /// Lost by the random loss model.
    pub lost: u64,
    /// Lost to an outage or a handover gap.
    pub lost_interrupted: u64,
    /// Dropped because the bottleneck queue was full.
    pub dropped_queue_full: u64,
    pub duplicated: u64,
    /// Held by a buffered handover gap and delivered after it.
    pub held_by_handover: u64,
}

struct Scheduled<T> {
    at: Duration,
    order: u64,
    payload: T,
}

impl<T> PartialEq for Scheduled<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl<T> Eq for Scheduled<T> {}
impl<T> PartialOrd for Scheduled<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Scheduled<T> {
    /// Reversed, so the max-heap pops the earliest delivery (and the earliest sent on ties).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.order).cmp(&(self.at, self.order))
    }
}

pub struct Lane<T> {
    profile: LaneProfile,
    rng: StdRng,
    in_bad_state: bool,
    jitter_state: f64,
    last_jitter_at: Option<Duration>,
    /// Heavy-tailed jitter with a correlation time: the tail's process of time (own RNG stream,
    /// so the network's spikes do not depend on how many packets are sent).
    tail: Option<TailProcess>,
    link_free_at: Duration,
    last_release: Duration,
    order: u64,
    queue: BinaryHeap<Scheduled<T>>,
    stats: LaneStats,
}

impl<T: Clone> Lane<T> {
    pub fn new(profile: LaneProfile, seed: u64) -> Self {
        let tail = match profile.jitter {
            Jitter::HeavyTailed { .. } if profile.jitter_correlation_ms > 0.0 => Some(
                TailProcess::new(profile.jitter_correlation_ms, sample::splitmix64(!seed)),
            ),
            _ => None,
        };
        Self {
            profile,
            rng: StdRng::seed_from_u64(seed),
            in_bad_state: false,
            jitter_state: 0.0,
            last_jitter_at: None,
            tail,
            link_free_at: Duration::ZERO,
            last_release: Duration::ZERO,
            order: 0,
            queue: BinaryHeap::new(),
            stats: LaneStats::default(),
        }
    }

    pub fn profile(&self) -> &LaneProfile {
        &self.profile
    }

    pub fn stats(&self) -> LaneStats {
        self.stats
    }

    /// Takes a packet of `len` bytes sent at `now`; it is delivered later, or lost.
    pub fn send(&mut self, payload: T, len: usize, now: Duration, schedule: &Schedule) {
        self.stats.sent += 1;
        let mut sent_at = now;
        if let Some(gap) = schedule.at(now) {
            if gap.kind != InterruptionKind::HandoverBuffered {
                self.stats.lost_interrupted += 1;
                return;
            }
            self.stats.held_by_handover += 1;
            sent_at = gap.end;
        }
        if self.draw_loss() {
            self.stats.lost += 1;
            return;
        }
        let Some(departs_at) = self.serialise(len, sent_at) else {
            self.stats.dropped_queue_full += 1;
            return;
        };
        let copies = if sample::chance(&mut self.rng, self.profile.duplicate) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let release = self.release_time(departs_at);
            let cut = schedule
                .overlapping(sent_at, release)
                .is_some_and(|i| i.kind != InterruptionKind::HandoverBuffered);
            if cut {
                self.stats.lost_interrupted += 1;
                return;
            }
            self.order += 1;
            self.queue.push(Scheduled {
                at: release,
                order: self.order,
                payload: payload.clone(),
            });
        }
    }

    /// The next packet due at or before `now`.
    pub fn poll(&mut self, now: Duration) -> Option<(Duration, T)> {
        if self.queue.peek()?.at > now {
            return None;
        }
        let due = self.queue.pop()?;
        self.stats.delivered += 1;
        Some((due.at, due.payload))
    }

    pub fn next_delivery(&self) -> Option<Duration> {
        self.queue.peek().map(|s| s.at)
    }

    fn draw_loss(&mut self) -> bool {
        match self.profile.loss {
            Loss::None => false,
            Loss::Bernoulli { p } => sample::chance(&mut self.rng, p),
            Loss::GilbertElliott {
                p,
                r,
                loss_good,
                loss_bad,
            } => {
                let flip = if self.in_bad_state { r } else { p };
                if sample::chance(&mut self.rng, flip) {
                    self.in_bad_state = !self.in_bad_state;
                }
                let loss = if self.in_bad_state {
                    loss_bad
                } else {
                    loss_good
                };
                sample::chance(&mut self.rng, loss)
            }
        }
    }

    /// When the packet has left the bottleneck, or None when the queue is full.
    fn serialise(&mut self, len: usize, now: Duration) -> Option<Duration> {
        let rate = self.profile.rate_mbit_s;
        if rate <= 0.0 {
            return Some(now);
        }
        let bytes_per_s = rate * 1e6 / 8.0;
        let backlog_bytes = self.link_free_at.saturating_sub(now).as_secs_f64() * bytes_per_s;
        if backlog_bytes + len as f64 > self.profile.queue_bytes as f64 {
            return None;
        }
        let departs = self
            .link_free_at
            .max(now)
            .saturating_add(secs(len as f64 / bytes_per_s));
        self.link_free_at = departs;
        Some(departs)
    }

    fn release_time(&mut self, departs_at: Duration) -> Duration {
        let tau_ms = self.profile.jitter_correlation_ms;
        let correlation = match self.last_jitter_at {
            Some(last) if tau_ms > 0.0 => {
                (-(departs_at.saturating_sub(last)).as_secs_f64() * 1e3 / tau_ms).exp()
            }
            _ => 0.0,
        };
        self.last_jitter_at = Some(departs_at);
        let delay = match (&mut self.tail, self.profile.jitter) {
            (Some(tail), Jitter::HeavyTailed { mean_ms, shape }) => {
                let excess =
                    sample::pareto_excess_from_exp1(tail.exp1_at(departs_at), mean_ms, shape);
                (self.profile.delay_ms + excess).max(0.0)
            }
            _ => sample::delay_ms(
                &mut self.rng,
                self.profile.delay_ms,
                &self.profile.jitter,
                correlation,
                &mut self.jitter_state,
            ),
        };
        let mut release = departs_at.saturating_add(ms(delay));
        if !sample::chance(&mut self.rng, self.profile.reorder) {
            release = release.max(self.last_release);
        }
        self.last_release = self.last_release.max(release);
        release
    }
}
