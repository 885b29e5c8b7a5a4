//! NTP-style clock synchronisation from ping/pong echoes: each exchange gives the round-trip time
//! and the peer's clock offset; the estimate uses the exchange with the smallest round trip among
//! the recent ones, whose offset error is bounded by half of that round trip.

use crate::ClockPong;

/// How many recent exchanges the estimate looks at.
const WINDOW: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSample {
    /// Peer clock minus local clock (µs).
    pub offset_us: i64,
    /// Round trip minus the peer's processing time (µs).
    pub rtt_us: i64,
}

impl ClockSample {
    /// From a pong with t1/t4 on the local clock and t2/t3 on the peer's; `None` if inconsistent.
    pub fn from_exchange(pong: &ClockPong, t4_us: i64) -> Option<Self> {
        let rtt_us = (t4_us - pong.t1_us) - (pong.t3_us - pong.t2_us);
        if rtt_us < 0 || pong.t3_us < pong.t2_us {
            return None;
        }
        let offset_us = ((pong.t2_us - pong.t1_us) + (pong.t3_us - t4_us)) / 2;
        Some(Self { offset_us, rtt_us })
    }
}

/// Keeps the recent samples without allocating after construction.
#[derive(Debug, Clone)]
pub struct ClockSync {
    samples: [Option<ClockSample>; WINDOW],
    next: usize,
    latest: Option<ClockSample>,
    accepted: u64,
    rejected: u64,
}

impl Default for ClockSync {
    fn default() -> Self {
        Self::new()
    }
}

impl ClockSync {
    pub fn new() -> Self {
        Self {
            samples: [None; WINDOW],
            next: 0,
            latest: None,
            accepted: 0,
            rejected: 0,
        }
    }

    /// Adds the exchange completed by `pong` arriving at local time `t4_us`.
    pub fn on_pong(&mut self, pong: &ClockPong, t4_us: i64) -> Option<ClockSample> {
        let Some(sample) = ClockSample::from_exchange(pong, t4_us) else {
            self.rejected += 1;
            return None;
        };
        self.samples[self.next] = Some(sample);
        self.next = (self.next + 1) % WINDOW;
        self.latest = Some(sample);
        self.accepted += 1;
        Some(sample)
    }

    /// The best current estimate: the recent sample with the smallest round trip.
    pub fn estimate(&self) -> Option<ClockSample> {
        self.samples
            .iter()
            .flatten()
            .min_by_key(|s| s.rtt_us)
            .copied()
    }

    /// The most recent round trip, which follows changes in network delay at once.
    pub fn latest(&self) -> Option<ClockSample> {
        self.latest
    }

    /// Converts a time on the peer's clock to the local clock, if synchronised.
    pub fn to_local_us(&self, peer_time_us: i64) -> Option<i64> {
        self.estimate().map(|s| peer_time_us - s.offset_us)
    }

    pub fn counts(&self) -> (u64, u64) {
        (self.accepted, self.rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// With a true offset and asymmetric path delays, the error is at most half the asymmetry.
        #[test]
        fn offset_error_is_bounded_by_half_the_path_asymmetry(
            offset in -10_000_000i64..10_000_000, up in 0i64..50_000, down in 0i64..50_000, hold in 0i64..1_000, t1 in 0i64..1_000_000_000
        ) {
            let t2 = t1 + up + offset;
            let t3 = t2 + hold;
            let t4 = t3 - offset + down;
            let s = ClockSample::from_exchange(&ClockPong { id: 1, t1_us: t1, t2_us: t2, t3_us: t3 }, t4).unwrap();
            prop_assert_eq!(s.rtt_us, up + down);
            prop_assert!((s.offset_us - offset).abs() <= (up - down).abs() / 2 + 1);
        }
    }

    #[test]
    fn the_estimate_prefers_the_quickest_exchange() {
        let mut sync = ClockSync::new();
        let offset = 5_000;
        for (i, (up, down)) in [(9_000, 1_000), (500, 500), (3_000, 100)]
            .into_iter()
            .enumerate()
        {
            let t1 = i as i64 * 100_000;
            let t2 = t1 + up + offset;
            let pong = ClockPong {
                id: i as u64,
                t1_us: t1,
                t2_us: t2,
                t3_us: t2,
            };
            sync.on_pong(&pong, t2 - offset + down);
        }
        assert_eq!(
            sync.estimate(),
            Some(ClockSample {
                offset_us: offset,
                rtt_us: 1_000
            })
        );
        assert_eq!(sync.to_local_us(offset + 42), Some(42));
    }

    #[test]
    fn inconsistent_exchanges_are_rejected() {
        let mut sync = ClockSync::new();
        assert!(
            sync.on_pong(
                &ClockPong {
                    id: 1,
                    t1_us: 100,
                    t2_us: 50,
                    t3_us: 10
                },
                90
            )
            .is_none()
        );
        assert_eq!(sync.counts(), (0, 1));
        assert_eq!(sync.estimate(), None);
    }
}
