//! Reading where a session clock's zero lies on the common time scale, for a host whose clock
//! is disciplined (PTP, or chrony steered by GNSS): the edges announce it in their hello.

use std::time::{Instant, SystemTime, UNIX_EPOCH};
use teleop::{ClockAnnouncement, TimeSource};

/// The announcement of a session clock that started at `epoch`, or none for a monotonic clock
/// (or a system clock set before 1970).
pub fn announce(source: TimeSource, epoch: Instant) -> Option<ClockAnnouncement> {
    let TimeSource::Disciplined { max_error_us } = source else {
        return None;
    };
    let now_unix_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_micros() as i64;
    Some(ClockAnnouncement {
        epoch_unix_us: now_unix_us - epoch.elapsed().as_micros() as i64,
        max_error_us,
    })
}
