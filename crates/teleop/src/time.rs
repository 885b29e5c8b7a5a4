//! Where a side's clock comes from. Free-running clocks are related only by clock sync over the
//! link, whose bound is half a round trip. Clocks disciplined to a common time scale (PTP from a
//! grandmaster, or chrony steered by GNSS; 5G networks can deliver time) state an error bound, and
//! each side announces in its hello where its session clock's zero lies on that time scale, so the
//! station can bound the offset without the link (docs/telesurgery.md, "Time sources").

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimeSource {
    /// The host's monotonic clock, synchronised only over the link.
    #[default]
    Monotonic,
    /// The host's clock is disciplined to a common time scale within `max_error_us` (as the
    /// site's time service states it: chronyc tracking's root distance, or a PTP servo's bound).
    Disciplined { max_error_us: i64 },
}

/// A side's session clock on the common time scale: the time-scale reading (µs since the Unix
/// epoch) at that side's session clock zero, and its error bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAnnouncement {
    pub epoch_unix_us: i64,
    pub max_error_us: i64,
}

impl ClockAnnouncement {
    /// The peer's clock minus this side's clock, and the error bound of that offset: both sides'
    /// errors add up.
    pub fn offset_to(&self, peer: &ClockAnnouncement) -> (i64, i64) {
        (
            self.epoch_unix_us.saturating_sub(peer.epoch_unix_us),
            self.max_error_us.saturating_add(peer.max_error_us),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_of_two_disciplined_clocks_is_the_difference_of_their_zeros() {
        // The station's clock started 2 s of common time after the console's: a message the
        // console stamps 5 s reads 3 s on the station clock, so the offset (console − station) is 2 s.
        let station = ClockAnnouncement {
            epoch_unix_us: 1_000_002_000_000,
            max_error_us: 300,
        };
        let console = ClockAnnouncement {
            epoch_unix_us: 1_000_000_000_000,
            max_error_us: 200,
        };
        assert_eq!(station.offset_to(&console), (2_000_000, 500));
    }
}
