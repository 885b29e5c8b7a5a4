//! Link-wide interruptions on the engine's clock: scheduled outages and periodic handover gaps.
//! Each handover gap's length is a pure function of the seed and the gap's index, so the
//! schedule is known in advance and is the same however the engine is driven.

use crate::profile::{Handover, Outage};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterruptionKind {
    /// Everything sent or in flight is lost.
    Outage,
    /// Everything sent or in flight is lost (a handover without forwarding).
    HandoverLost,
    /// Packets are held and delivered when the gap ends.
    HandoverBuffered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interruption {
    pub start: Duration,
    pub end: Duration,
    pub kind: InterruptionKind,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    outages: Vec<Interruption>,
    handover: Option<Handover>,
    seed: u64,
}

impl Schedule {
    pub fn new(outages: &[Outage], handover: Option<Handover>, seed: u64) -> Self {
        Self {
            outages: outages
                .iter()
                .map(|o| Interruption {
                    start: ms(o.start_ms),
                    end: ms(o.start_ms + o.duration_ms),
                    kind: InterruptionKind::Outage,
                })
                .collect(),
            handover,
            seed,
        }
    }

    /// The interruption under way at `t`, if any.
    pub fn at(&self, t: Duration) -> Option<Interruption> {
        let outage = self
            .outages
            .iter()
            .find(|i| i.start <= t && t < i.end)
            .copied();
        outage.or_else(|| self.handover_at(t))
    }

    /// The first interruption that overlaps `[from, to]`, if any.
    pub fn overlapping(&self, from: Duration, to: Duration) -> Option<Interruption> {
        let outage = self
            .outages
            .iter()
            .find(|i| i.start <= to && from < i.end)
            .copied();
        outage.or_else(|| {
            let h = self.handover?;
            let first = self.gap_index_at_or_before(from, &h);
            (first..)
                .map(|k| self.gap(k, &h))
                .take_while(|g| g.start <= to)
                .find(|g| from < g.end)
        })
    }

    /// Every interruption that starts before `until`, in time order (outages first on ties).
    pub fn list(&self, until: Duration) -> Vec<Interruption> {
        let mut all: Vec<Interruption> = self
            .outages
            .iter()
            .filter(|i| i.start < until)
            .copied()
            .collect();
        if let Some(h) = self.handover {
            all.extend(
                (0..)
                    .map(|k| self.gap(k, &h))
                    .take_while(|g| g.start < until),
            );
        }
        all.sort_by_key(|i| i.start);
        all
    }

    fn handover_at(&self, t: Duration) -> Option<Interruption> {
        let h = self.handover?;
        let k = self.gap_index_at_or_before(t, &h);
        let gap = self.gap(k, &h);
        (gap.start <= t && t < gap.end).then_some(gap)
    }

    fn gap_index_at_or_before(&self, t: Duration, h: &Handover) -> u64 {
        let since_first = t.as_secs_f64() * 1e3 - h.first_ms;
        if since_first <= 0.0 {
            0
        } else {
            (since_first / h.period_ms).floor() as u64
        }
    }

    fn gap(&self, k: u64, h: &Handover) -> Interruption {
        let start_ms = h.first_ms + k as f64 * h.period_ms;
        let u = unit_hash(self.seed, k);
        let gap_ms = h.gap_min_ms + u * (h.gap_max_ms - h.gap_min_ms);
        Interruption {
            start: ms(start_ms),
            end: ms(start_ms + gap_ms),
            kind: if h.buffered {
                InterruptionKind::HandoverBuffered
            } else {
                InterruptionKind::HandoverLost
            },
        }
    }
}

/// `v` milliseconds as a Duration (see `secs`).
pub(crate) fn ms(v: f64) -> Duration {
    secs(v / 1e3)
}

/// `v` seconds as a Duration: negative and NaN as zero, beyond what a Duration holds as its
/// maximum, so no profile value (however absurd) can make the engine panic.
pub(crate) fn secs(v: f64) -> Duration {
    Duration::try_from_secs_f64(v.max(0.0)).unwrap_or(Duration::MAX)
}

/// A hash of (seed, index), mapped to [0, 1).
fn unit_hash(seed: u64, index: u64) -> f64 {
    let z = crate::sample::splitmix64(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    (z >> 11) as f64 / (1u64 << 53) as f64
}
