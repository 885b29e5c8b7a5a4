//! NTP-style clock synchronisation from ping/pong echoes, as a bound and as an estimate.
//!
//! One exchange stamps t1 (local send), t2 (peer receive), t3 (peer send) and t4 (local
//! receive). Whatever the two path delays, the offset θ = peer clock − local clock lay inside
//! [t3 − t4, t2 − t1] during the exchange: a bound, not a guess, and one that stays valid when
//! local stamps are late for receives or early for sends (both only widen it). Clocks drift
//! apart by at most `max_drift_ppm`, so a sample's interval is widened by that rate for the time
//! since it was taken, and the intervals of the recent samples are intersected. An independent
//! disciplined time source (PTP, GNSS-disciplined chrony on both sites) can add its own bound.
//!
//! From the bound, `earliest_issue_us` gives the earliest local time a message stamped on the
//! peer's clock can have been sent, so `now − earliest` is an upper bound of its age, however
//! asymmetric the network. The midpoint estimate (`estimate`, `to_local_us`) is kept for display
//! and statistics: its error is up to half the path asymmetry, in either direction.
//!
//! Nothing here allocates.

use crate::ClockPong;

/// How many recent exchanges the estimate and the bound look at.
const WINDOW: usize = 32;

/// Both crystals within ±50 ppm: their rates differ by at most 100 ppm.
pub const DEFAULT_MAX_DRIFT_PPM: f64 = 100.0;

/// One completed exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSample {
    /// Peer clock minus local clock (µs): the midpoint of `[lo_us, hi_us]`.
    pub offset_us: i64,
    /// Round trip minus the peer's processing time (µs): `hi_us − lo_us`.
    pub rtt_us: i64,
    /// The offset was at least this during the exchange: t3 − t4 (µs).
    pub lo_us: i64,
    /// The offset was at most this during the exchange: t2 − t1 (µs).
    pub hi_us: i64,
    /// Local send time of the ping (µs, local clock).
    pub t1_us: i64,
    /// Local receive time of the pong (µs, local clock).
    pub t4_us: i64,
}

impl ClockSample {
    /// From a pong with t1/t4 on the local clock and t2/t3 on the peer's; `None` if inconsistent
    /// (negative round trip, the peer answering before it received, or stamps that overflow).
    pub fn from_exchange(pong: &ClockPong, t4_us: i64) -> Option<Self> {
        let hi_us = pong.t2_us.checked_sub(pong.t1_us)?;
        let lo_us = pong.t3_us.checked_sub(t4_us)?;
        let rtt_us = hi_us.checked_sub(lo_us)?;
        if rtt_us < 0 || pong.t3_us < pong.t2_us {
            return None;
        }
        // Inside [lo, hi], so it fits; i128 keeps the sum from overflowing.
        let offset_us = ((i128::from(hi_us) + i128::from(lo_us)) / 2) as i64;
        Some(Self {
            offset_us,
            rtt_us,
            lo_us,
            hi_us,
            t1_us: pong.t1_us,
            t4_us,
        })
    }
}

/// What is known of θ = peer clock − local clock at a given local time (µs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetBounds {
    /// θ is at least this.
    pub lo_us: i64,
    /// θ is at most this.
    pub hi_us: i64,
    /// The midpoint of the quickest recent exchange (as `estimate`), moved inside `[lo, hi]`;
    /// with only an external bound, its centre.
    pub estimate_us: i64,
}

/// An independent source's statement: θ ∈ [lo, hi] as of local time `at_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ExternalBound {
    lo_us: i64,
    hi_us: i64,
    at_us: i64,
}

/// Keeps the recent samples without allocating after construction.
#[derive(Debug, Clone)]
pub struct ClockSync {
    samples: [Option<ClockSample>; WINDOW],
    next: usize,
    latest: Option<ClockSample>,
    external: Option<ExternalBound>,
    /// How much the two clocks' rates may differ, in parts per million.
    max_drift_ppm: f64,
    accepted: u64,
    rejected: u64,
    inconsistent: u64,
}

impl Default for ClockSync {
    fn default() -> Self {
        Self::new()
    }
}

impl ClockSync {
    /// With the default drift allowance, `DEFAULT_MAX_DRIFT_PPM` (100 ppm).
    pub fn new() -> Self {
        Self::with_max_drift_ppm(DEFAULT_MAX_DRIFT_PPM)
    }

    /// `ppm`: the most the two clocks' rates may differ, in parts per million (the sum of both
    /// crystals' tolerances). A negative or NaN value is a configuration error and is taken as
    /// the default rather than as a narrower bound.
    pub fn with_max_drift_ppm(ppm: f64) -> Self {
        let ppm = if ppm >= 0.0 {
            ppm
        } else {
            DEFAULT_MAX_DRIFT_PPM
        };
        Self {
            samples: [None; WINDOW],
            next: 0,
            latest: None,
            external: None,
            max_drift_ppm: ppm,
            accepted: 0,
            rejected: 0,
            inconsistent: 0,
        }
    }

    /// Adds the exchange completed by `pong` arriving at local time `t4_us`.
    ///
    /// A sample whose interval does not meet what the earlier ones say (the peer's clock was
    /// stepped, or a clock drifted faster than allowed) replaces them: the window starts again
    /// from it, and `inconsistent_bounds` counts the event.
    pub fn on_pong(&mut self, pong: &ClockPong, t4_us: i64) -> Option<ClockSample> {
        let Some(sample) = ClockSample::from_exchange(pong, t4_us) else {
            self.rejected += 1;
            return None;
        };
        let own = self.widened(&sample, t4_us);
        if let Some(earlier) = self.ntp_intersection(t4_us)
            && intersect(earlier, own).is_none()
        {
            self.samples = [None; WINDOW];
            self.next = 0;
            self.inconsistent += 1;
        }
        self.samples[self.next] = Some(sample);
        self.next = (self.next + 1) % WINDOW;
        self.latest = Some(sample);
        self.accepted += 1;
        self.count_external_conflict(t4_us);
        Some(sample)
    }

    /// An independent, disciplined time source says θ ∈ [offset − error, offset + error] as of
    /// local time `at_us`. It replaces any earlier such statement, is widened by the drift
    /// allowance since `at_us`, and is intersected with the exchanges' bound. Usable alone,
    /// before any pong. Should it contradict the exchanges, the bound becomes the span of both
    /// (either may be the wrong one) and `inconsistent_bounds` counts it.
    pub fn set_external_bound(&mut self, offset_us: i64, error_us: i64, at_us: i64) {
        let error_us = error_us.saturating_abs();
        self.external = Some(ExternalBound {
            lo_us: offset_us.saturating_sub(error_us),
            hi_us: offset_us.saturating_add(error_us),
            at_us,
        });
        self.count_external_conflict(at_us);
    }

    /// θ at local time `now_us`: the intersection of the recent exchanges' intervals and the
    /// external bound, each widened by the drift allowance for the time since it was taken
    /// (±ceil(ppm·1e-6·elapsed) µs, plus 1 µs for the stamps' rounding). `None` before any
    /// exchange or external bound.
    pub fn offset_bounds(&self, now_us: i64) -> Option<OffsetBounds> {
        let ntp = self.ntp_bounds(now_us);
        let (lo_us, hi_us) = match (ntp, self.external_bounds(now_us)) {
            (Some(n), Some(e)) => intersect(n, e).unwrap_or((n.0.min(e.0), n.1.max(e.1))),
            (Some(b), None) | (None, Some(b)) => b,
            (None, None) => return None,
        };
        let centre = ((i128::from(lo_us) + i128::from(hi_us)) / 2) as i64;
        let estimate_us = self
            .estimate()
            .map_or(centre, |s| s.offset_us)
            .clamp(lo_us, hi_us);
        Some(OffsetBounds {
            lo_us,
            hi_us,
            estimate_us,
        })
    }

    /// The earliest local time at which a message stamped `peer_time_us` on the peer's clock can
    /// have been sent, judged at local time `now_us`: `peer_time_us − hi`, less the drift the
    /// offset may have had between the sending and now. So `now_us − earliest` is an upper bound
    /// of the message's age. `None` when nothing is known of the offset.
    pub fn earliest_issue_us(&self, peer_time_us: i64, now_us: i64) -> Option<i64> {
        let bounds = self.offset_bounds(now_us)?;
        let earliest = peer_time_us.saturating_sub(bounds.hi_us);
        // θ(sent) ≤ θ(now) + drift·(now − sent): solved for the earliest `sent`.
        let age = elapsed(earliest, now_us);
        if age <= 0.0 {
            return Some(earliest);
        }
        let rate = self.max_drift_ppm / 1e6;
        if rate >= 1.0 {
            return Some(i64::MIN);
        }
        let extra = (rate / (1.0 - rate) * age).ceil() as i64;
        Some(earliest.saturating_sub(extra))
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

    /// Converts a time on the peer's clock to the local clock with the midpoint estimate, if
    /// synchronised. An estimate, not a bound: use `earliest_issue_us` to judge ages.
    pub fn to_local_us(&self, peer_time_us: i64) -> Option<i64> {
        self.estimate()
            .map(|s| peer_time_us.saturating_sub(s.offset_us))
    }

    /// (accepted, rejected) exchanges.
    pub fn counts(&self) -> (u64, u64) {
        (self.accepted, self.rejected)
    }

    /// How many times the sources of the bound contradicted each other: an exchange that did not
    /// meet the earlier ones (the window restarted from it), or an external bound disjoint from
    /// the exchanges'.
    pub fn inconsistent_bounds(&self) -> u64 {
        self.inconsistent
    }

    /// The drift allowance, in parts per million.
    pub fn max_drift_ppm(&self) -> f64 {
        self.max_drift_ppm
    }

    fn count_external_conflict(&mut self, now_us: i64) {
        let Some(external) = self.external_bounds(now_us) else {
            return;
        };
        if let Some(ntp) = self.ntp_intersection(now_us)
            && intersect(ntp, external).is_none()
        {
            self.inconsistent += 1;
        }
    }

    /// The external bound widened for drift between when it was said and `now_us`.
    fn external_bounds(&self, now_us: i64) -> Option<(i64, i64)> {
        let e = self.external?;
        let w = self.allowance_us(elapsed(e.at_us, now_us).abs());
        Some((e.lo_us.saturating_sub(w), e.hi_us.saturating_add(w)))
    }

    /// The exchanges' bound at `now_us`; if their intervals do not meet (possible only when
    /// asked about a time before the latest exchange), the latest exchange's alone.
    fn ntp_bounds(&self, now_us: i64) -> Option<(i64, i64)> {
        let latest = self.latest?;
        self.ntp_intersection(now_us)
            .or_else(|| Some(self.widened(&latest, now_us)))
    }

    /// The intersection of the window's widened intervals; `None` if there are none or they do
    /// not meet.
    fn ntp_intersection(&self, now_us: i64) -> Option<(i64, i64)> {
        let mut samples = self.samples.iter().flatten();
        let first = self.widened(samples.next()?, now_us);
        samples.try_fold(first, |acc, s| intersect(acc, self.widened(s, now_us)))
    }

    /// A sample's interval widened for drift from any moment of its exchange to `now_us`.
    fn widened(&self, s: &ClockSample, now_us: i64) -> (i64, i64) {
        // θ lay under hi at the peer's receive and over lo at its send, both within [t1, t4].
        let span = elapsed(s.t1_us, now_us).max(elapsed(now_us, s.t4_us));
        let w = self.allowance_us(span);
        (s.lo_us.saturating_sub(w), s.hi_us.saturating_add(w))
    }

    /// ±ceil(drift · elapsed) + 1 µs for the stamps' rounding.
    fn allowance_us(&self, elapsed_us: f64) -> i64 {
        // A float-to-integer cast saturates; NaN (only for 0 · ∞) counts as no drift.
        let drift = (self.max_drift_ppm * elapsed_us.max(0.0) / 1e6).ceil();
        (drift as i64).saturating_add(1)
    }
}

/// `to − from` in µs, without overflow.
fn elapsed(from_us: i64, to_us: i64) -> f64 {
    (i128::from(to_us) - i128::from(from_us)) as f64
}

fn intersect(a: (i64, i64), b: (i64, i64)) -> Option<(i64, i64)> {
    let lo = a.0.max(b.0);
    let hi = a.1.min(b.1);
    (lo <= hi).then_some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pong(t1_us: i64, t2_us: i64, t3_us: i64) -> ClockPong {
        ClockPong {
            id: 1,
            t1_us,
            t2_us,
            t3_us,
        }
    }

    /// Simulated clocks on a continuous time line (the local clock's µs): the peer's clock reads
    /// `t + theta0 + rate·t`. Stamps are truncated to whole µs like a real clock's.
    #[derive(Debug, Clone, Copy)]
    struct World {
        theta0: f64,
        rate: f64,
    }

    impl World {
        fn theta(&self, t: f64) -> f64 {
            self.theta0 + self.rate * t
        }
        fn peer(&self, t: f64) -> f64 {
            t + self.theta(t)
        }
        /// One exchange whose ping is stamped at local time `start`. Each side stamps a receive
        /// `late_rx` after it happened and a send `early_tx` before it happens.
        fn exchange(&self, start: f64, e: &Exchange) -> (ClockPong, i64) {
            let sent = start + e.early_tx;
            let arrive = sent + e.up;
            let t2_at = arrive + e.late_rx;
            let t3_at = t2_at + e.hold;
            let back = t3_at + e.early_tx + e.down;
            let p = pong(
                start.floor() as i64,
                self.peer(t2_at).floor() as i64,
                self.peer(t3_at).floor() as i64,
            );
            (p, (back + e.late_rx).floor() as i64)
        }
        /// How long after its start the next exchange may begin.
        fn duration(e: &Exchange) -> f64 {
            2.0 * (e.early_tx + e.late_rx) + e.up + e.hold + e.down
        }
    }

    #[derive(Debug, Clone, Copy)]
    struct Exchange {
        up: f64,
        down: f64,
        hold: f64,
        /// Then the next exchange starts this much later.
        gap: f64,
        late_rx: f64,
        early_tx: f64,
    }

    fn delay() -> impl Strategy<Value = f64> {
        // The extremes (no delay at all on one path) are where a bound is tight.
        prop_oneof![1 => Just(0.0), 4 => 0.0..80_000.0f64]
    }

    fn exchange() -> impl Strategy<Value = Exchange> {
        (
            delay(),
            delay(),
            prop_oneof![1 => Just(0.0), 2 => 0.0..2_000.0f64, 1 => 0.0..2_000_000.0f64],
            prop_oneof![1 => Just(0.0), 1 => 0.0..100_000.0f64, 2 => 0.0..3_000_000.0f64],
            prop_oneof![1 => Just(0.0), 1 => 0.0..500.0f64],
            prop_oneof![1 => Just(0.0), 1 => 0.0..500.0f64],
        )
            .prop_map(|(up, down, hold, gap, late_rx, early_tx)| Exchange {
                up,
                down,
                hold,
                gap,
                late_rx,
                early_tx,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// With a true offset and asymmetric path delays, the error is at most half the asymmetry.
        #[test]
        fn offset_error_is_bounded_by_half_the_path_asymmetry(
            offset in -10_000_000i64..10_000_000, up in 0i64..50_000, down in 0i64..50_000, hold in 0i64..1_000, t1 in 0i64..1_000_000_000
        ) {
            let t2 = t1 + up + offset;
            let t3 = t2 + hold;
            let t4 = t3 - offset + down;
            let s = ClockSample::from_exchange(&pong(t1, t2, t3), t4).unwrap();
            prop_assert_eq!(s.rtt_us, up + down);
            prop_assert!((s.offset_us - offset).abs() <= (up - down).abs() / 2 + 1);
        }

        /// Whatever the offset, its drift (within the allowance), the delays, holds and stamping
        /// errors, the true offset is inside the bound, and the age bound is never below the
        /// true age of a message the peer sent.
        #[test]
        fn the_true_offset_is_always_inside_the_bounds(
            theta0 in -1e10..1e10f64,
            drift_ppm in prop_oneof![1 => Just(-100.0), 1 => Just(100.0), 3 => -100.0..100.0f64],
            start in 0.0..1e9f64,
            exchanges in prop::collection::vec(exchange(), 1..50),
            external in prop::option::of((-1.0..1.0f64, 0.0..50_000.0f64, 0.0..5e6f64)),
            ages in prop::collection::vec(0.0..300_000.0f64, 1..8),
            // Messages sent before the latest exchange are where drift since the sending counts.
            wait in prop_oneof![Just(0.0), 0.0..100_000.0f64, 0.0..5e6f64],
        ) {
            let world = World { theta0, rate: drift_ppm * 1e-6 };
            let mut sync = ClockSync::with_max_drift_ppm(100.0);
            let mut t = start;
            for e in &exchanges {
                let (p, t4) = world.exchange(t, e);
                // With drift, an exchange without delays can show a round trip of −1 µs or
                // less; it is refused, which loses a sample but never widens the bound wrongly.
                sync.on_pong(&p, t4);
                t += World::duration(e) + e.gap;
            }
            if let Some((where_in, error, after)) = external {
                // A truthful source: the offset lies within `error` of what it says.
                let at = t + after;
                let said = world.theta(at) + where_in * error;
                sync.set_external_bound(said.round() as i64, error.ceil() as i64 + 1, at.floor() as i64);
                t = at;
            }
            let now = t + wait;
            let now_us = now.ceil() as i64;
            let Some(b) = sync.offset_bounds(now_us) else {
                prop_assert_eq!(sync.counts().0, 0);
                return Ok(());
            };
            let theta = world.theta(now_us as f64);
            prop_assert!(b.lo_us as f64 <= theta && theta <= b.hi_us as f64, "{theta} outside {b:?}");
            prop_assert!(b.lo_us <= b.estimate_us && b.estimate_us <= b.hi_us);
            prop_assert_eq!(sync.inconsistent_bounds(), 0, "truthful sources never disagree");
            for age in ages {
                let sent = now_us as f64 - age;
                let stamp = world.peer(sent).floor() as i64;
                let earliest = sync.earliest_issue_us(stamp, now_us).unwrap();
                prop_assert!((now_us - earliest) as f64 >= age, "age bound {} below {age}", now_us - earliest);
            }
        }

        /// The bound is never wider than the quickest recent round trip plus the drift allowance.
        #[test]
        fn the_bound_is_no_wider_than_the_quickest_round_trip_plus_drift(
            theta0 in -1e10..1e10f64,
            exchanges in prop::collection::vec(exchange(), 1..WINDOW),
            wait in 0.0..5e6f64,
        ) {
            let world = World { theta0, rate: 0.0 };
            let mut sync = ClockSync::new();
            let mut t = 1e6;
            let mut quickest: Option<ClockSample> = None;
            for e in &exchanges {
                let (p, t4) = world.exchange(t, e);
                if let Some(s) = sync.on_pong(&p, t4)
                    && quickest.is_none_or(|q| s.rtt_us < q.rtt_us)
                {
                    quickest = Some(s);
                }
                t += World::duration(e) + e.gap;
            }
            let Some(q) = quickest else { return Ok(()) };
            let now_us = (t + wait) as i64;
            let b = sync.offset_bounds(now_us).unwrap();
            let allowance = (100e-6 * (now_us - q.t1_us) as f64).ceil() as i64 + 1;
            prop_assert!(b.hi_us - b.lo_us <= q.rtt_us + 2 * allowance, "{b:?} vs {q:?}");
        }

        /// Garbage from the network (any stamps, any times) never panics or overflows.
        #[test]
        fn any_stamps_are_handled_without_overflow(
            stamps in prop::collection::vec(any::<(i64, i64, i64, i64)>(), 0..8),
            external in prop::option::of(any::<(i64, i64, i64)>()),
            now in any::<i64>(),
            peer in any::<i64>(),
            ppm in prop_oneof![Just(f64::INFINITY), Just(f64::NAN), Just(-1.0), 0.0..1e7f64],
        ) {
            let mut sync = ClockSync::with_max_drift_ppm(ppm);
            for (t1, t2, t3, t4) in stamps {
                sync.on_pong(&pong(t1, t2, t3), t4);
            }
            if let Some((offset, error, at)) = external {
                sync.set_external_bound(offset, error, at);
            }
            if let Some(b) = sync.offset_bounds(now) {
                prop_assert!(b.lo_us <= b.hi_us);
            }
            let _ = sync.earliest_issue_us(peer, now);
            let _ = sync.to_local_us(peer);
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
            sync.on_pong(&pong(t1, t2, t2), t2 - offset + down);
        }
        let best = sync.estimate().unwrap();
        assert_eq!((best.offset_us, best.rtt_us), (offset, 1_000));
        assert_eq!((best.lo_us, best.hi_us), (offset - 500, offset + 500));
        assert_eq!(sync.to_local_us(offset + 42), Some(42));
    }

    #[test]
    fn inconsistent_exchanges_are_rejected() {
        let mut sync = ClockSync::new();
        assert!(sync.on_pong(&pong(100, 50, 10), 90).is_none());
        assert_eq!(sync.counts(), (0, 1));
        assert_eq!(sync.estimate(), None);
        assert_eq!(sync.offset_bounds(100), None);
        assert_eq!(sync.earliest_issue_us(100, 100), None);
    }

    /// Console → station 70 ms, station → console 15 ms: the station's pings travel the quick
    /// path and the pongs the slow one. The midpoint estimate then makes every command look
    /// 27.5 ms younger than it is; the bound never makes one look younger.
    #[test]
    fn a_55_ms_asymmetry_is_bounded_not_underestimated() {
        let theta = 3_000_000; // console clock − station clock
        let (to_console, to_station) = (15_000, 70_000);
        let mut sync = ClockSync::new();
        for i in 0..10 {
            let t1 = 1_000_000 + i * 20_000;
            let t2 = t1 + to_console + theta;
            sync.on_pong(&pong(t1, t2, t2 + 100), t2 + 100 - theta + to_station);
        }
        let sent = 2_000_000; // station clock
        let now = sent + to_station;
        let stamp = sent + theta;
        let true_age = now - sent;

        let estimated_age = now - sync.to_local_us(stamp).unwrap();
        let under = true_age - estimated_age;
        assert!(
            (27_000..=28_000).contains(&under),
            "the midpoint under-estimates by {under} µs"
        );

        let age_bound = now - sync.earliest_issue_us(stamp, now).unwrap();
        assert!(age_bound >= true_age, "bound {age_bound} < true {true_age}");
        // It errs by at most the quickest round trip (85 ms) plus drift, here the quick path.
        assert!(age_bound - true_age <= to_console + 100, "{age_bound}");
        // The quickest round trip, 85 ms, plus 100 ppm of the 0.9 s since the last ping each side.
        let b = sync.offset_bounds(now).unwrap();
        assert!(b.hi_us - b.lo_us <= to_console + to_station + 2 * 100);
    }

    /// A message sent a while before the exchange that bounds the offset best: the offset may
    /// have drifted between the sending and the exchange, which the age bound accounts for.
    #[test]
    fn the_age_bound_holds_for_a_message_older_than_the_exchanges() {
        let world = World {
            theta0: 2_000_000.0,
            rate: -100e-6,
        };
        let exact = Exchange {
            up: 0.0,
            down: 0.0,
            hold: 0.0,
            gap: 0.0,
            late_rx: 0.0,
            early_tx: 0.0,
        };
        let mut sync = ClockSync::new();
        let (p, t4) = world.exchange(10_000_000.0, &exact);
        sync.on_pong(&p, t4).unwrap();
        let now = t4 + 1_000;
        let sent = now - 2_000_000;
        let stamp = world.peer(sent as f64).floor() as i64;
        let earliest = sync.earliest_issue_us(stamp, now).unwrap();
        assert!(
            earliest <= sent,
            "earliest {earliest} after the sending {sent}"
        );
    }

    #[test]
    fn the_bound_widens_with_time_at_the_drift_rate() {
        let mut sync = ClockSync::with_max_drift_ppm(100.0);
        sync.on_pong(&pong(0, 1_500, 1_500), 1_000);
        let at_once = sync.offset_bounds(1_000).unwrap();
        assert_eq!((at_once.lo_us, at_once.hi_us), (500 - 2, 1_500 + 2));
        let later = sync.offset_bounds(10_000_000).unwrap();
        // 100 ppm of the 10 s since the ping left: 1 ms, plus 1 µs of rounding.
        assert_eq!((later.lo_us, later.hi_us), (500 - 1_001, 1_500 + 1_001));
        assert_eq!(later.estimate_us, 1_000);
    }

    /// A stepped peer clock: the samples before the step no longer meet the new one, so the
    /// bound restarts from the new one (not an empty or a stale interval), and it is counted.
    #[test]
    fn a_stepped_clock_restarts_the_bound_from_the_latest_exchange() {
        let mut sync = ClockSync::new();
        for i in 0..5 {
            let t1 = i * 20_000;
            sync.on_pong(&pong(t1, t1 + 1_000, t1 + 1_000), t1 + 1_000);
        }
        assert_eq!(sync.inconsistent_bounds(), 0);
        let t1 = 200_000;
        let step = 50_000;
        sync.on_pong(&pong(t1, t1 + 1_000 + step, t1 + 1_000 + step), t1 + 1_000);
        assert_eq!(sync.inconsistent_bounds(), 1);
        let b = sync.offset_bounds(t1 + 1_000).unwrap();
        assert!(b.lo_us <= step && step <= b.hi_us, "{b:?}");
        assert_eq!(sync.estimate().unwrap().offset_us, step + 500);
        // The next exchange agrees with the new clock and narrows nothing back to the old one.
        sync.on_pong(
            &pong(t1 + 20_000, t1 + 21_000 + step, t1 + 21_000 + step),
            t1 + 21_000,
        );
        assert_eq!(sync.inconsistent_bounds(), 1);
    }

    #[test]
    fn an_external_bound_is_usable_alone_and_narrows_the_exchanges() {
        let mut sync = ClockSync::new();
        sync.set_external_bound(10_000, 50, 1_000);
        let alone = sync.offset_bounds(1_000).unwrap();
        assert_eq!(
            (alone.lo_us, alone.hi_us, alone.estimate_us),
            (9_949, 10_051, 10_000)
        );
        assert_eq!(sync.earliest_issue_us(20_000, 1_000), Some(20_000 - 10_051));
        // 100 ppm of drift since it was said, 10 s later: ±1 ms more.
        let later = sync.offset_bounds(10_001_000).unwrap();
        assert_eq!((later.lo_us, later.hi_us), (8_949, 11_051));

        // An asymmetric exchange says [9_000, 30_000]; the external bound narrows it.
        let mut both = sync.clone();
        both.on_pong(&pong(1_000, 31_000, 31_000), 22_000);
        let b = both.offset_bounds(22_000).unwrap();
        // Both widened by 100 ppm of the 21 ms since they were said: ceil(2.1) + 1 µs.
        assert_eq!((b.lo_us, b.hi_us), (9_946, 10_054));
        assert!(b.lo_us <= b.estimate_us && b.estimate_us <= b.hi_us);
        assert_eq!(both.inconsistent_bounds(), 0);
    }

    #[test]
    fn an_external_bound_that_contradicts_the_exchanges_widens_to_both() {
        let mut sync = ClockSync::new();
        sync.on_pong(&pong(0, 1_500, 1_500), 1_000); // θ ∈ [500, 1_500]
        sync.set_external_bound(100_000, 10, 1_000);
        assert_eq!(sync.inconsistent_bounds(), 1);
        let b = sync.offset_bounds(1_000).unwrap();
        assert!(b.lo_us <= 498 && b.hi_us >= 100_010, "{b:?}");
    }
}
