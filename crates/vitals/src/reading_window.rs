//! Which device times the hub believes: a reading stamped beyond the allowed clock skew into the
//! future, or older than the hub keeps readings relevant, is refused with a reason.
//!
//! NEWS2 merges each parameter's latest value by device time, so one reading stamped in the
//! future would make every later one look stale and freeze that patient's score; such readings
//! are refused before they reach the tracker or the store.

use crate::model::Measurement;
use crate::payload::Rejection;
use serde::Deserialize;

/// The accepted span of device times around the hub's `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct ReadingWindow {
    /// Most seconds a reading may be stamped ahead of the hub's clock.
    pub max_future_skew_s: i64,
    /// Most seconds a reading may be stamped behind the hub's clock.
    pub max_reading_age_s: i64,
}

impl Default for ReadingWindow {
    fn default() -> Self {
        ReadingWindow {
            max_future_skew_s: 30,
            max_reading_age_s: 24 * 3600,
        }
    }
}

impl ReadingWindow {
    /// Accepts `m` at hub time `now` (ms since the Unix epoch), or says why not.
    pub fn check(&self, m: &Measurement, now: i64) -> Result<(), Rejection> {
        let ahead_ms = m.time_ms.saturating_sub(now);
        if ahead_ms > self.max_future_skew_s.saturating_mul(1000) {
            return Err(Rejection::FutureTime {
                seq: m.seq,
                ahead_s: ahead_ms / 1000,
                max_s: self.max_future_skew_s,
            });
        }
        let age_ms = now.saturating_sub(m.time_ms);
        if age_ms > self.max_reading_age_s.saturating_mul(1000) {
            return Err(Rejection::TooOld {
                seq: m.seq,
                age_s: age_ms / 1000,
                max_s: self.max_reading_age_s,
            });
        }
        Ok(())
    }

    /// Splits readings into those accepted at `now` and the refusals of the others.
    pub fn split(
        &self,
        readings: Vec<Measurement>,
        now: i64,
    ) -> (Vec<Measurement>, Vec<Rejection>) {
        let mut refused = Vec::new();
        let accepted = readings
            .into_iter()
            .filter(|m| match self.check(m, now) {
                Ok(()) => true,
                Err(r) => {
                    refused.push(r);
                    false
                }
            })
            .collect();
        (accepted, refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Vitals;

    fn at(seq: u64, time_ms: i64) -> Measurement {
        Measurement {
            device: "d".into(),
            patient: "p".into(),
            seq,
            time_ms,
            vitals: Vitals {
                heart_rate: Some(70.0),
                ..Vitals::default()
            },
        }
    }

    #[test]
    fn readings_beyond_the_skew_or_the_age_are_refused_with_a_reason() {
        let window = ReadingWindow::default();
        let now = 1_000_000_000;
        assert_eq!(window.check(&at(1, now + 30_000), now), Ok(()));
        assert_eq!(window.check(&at(2, now - 24 * 3600 * 1000), now), Ok(()));
        let future = window.check(&at(3, now + 30_001), now).unwrap_err();
        assert_eq!(future.reason(), "future_time");
        let old = window
            .check(&at(4, now - 24 * 3600 * 1000 - 1), now)
            .unwrap_err();
        assert_eq!(old.reason(), "too_old");
        assert!(old.to_string().contains("reading 4"), "{old}");
        // Extreme stamps from the wire do not overflow.
        assert!(window.check(&at(5, i64::MAX), now).is_err());
        assert!(window.check(&at(6, i64::MIN), now).is_err());
    }

    #[test]
    fn split_keeps_the_good_readings_of_a_batch() {
        let now = 1_000_000_000;
        let batch = vec![at(1, now), at(2, now + 3_600_000), at(3, now - 1000)];
        let (accepted, refused) = ReadingWindow::default().split(batch, now);
        let seqs: Vec<u64> = accepted.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, vec![1, 3]);
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].reason(), "future_time");
    }
}
