//! Recently scored `(device, seq)` pairs, so a QoS 1 redelivery is not scored twice before the
//! store (the authority on duplicates) has seen it, and a device that rebooted (its sequence
//! counter started again) is recognised instead of being taken for a stream of duplicates.
//!
//! The reboot rule: a sequence number lower than the highest seen from the device, carried by a
//! reading stamped later (device time) than the reading with that highest number, starts a new
//! boot. A counter only goes back when it restarts, while a redelivery or a late reading is
//! stamped before the newest one. After a reboot the old boot's numbers are forgotten, and
//! readings stamped before the reboot reading (late ones from the previous boot) are not scored.

use std::collections::{BTreeSet, HashMap};

/// Sequence numbers remembered per device; older ones are forgotten first.
pub const REMEMBERED_PER_DEVICE: usize = 4096;

/// What a device has sent in its current boot.
#[derive(Default)]
struct Boot {
    seqs: BTreeSet<u64>,
    /// The highest sequence number of this boot and the device time of that reading.
    highest: Option<(u64, i64)>,
    /// Device time of the first reading of this boot (after a detected reboot).
    started_ms: Option<i64>,
}

/// Whether a reading is new, and whether it revealed a reboot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Not seen before: score it.
    New,
    /// The first reading after the device's sequence counter restarted: score it.
    Reboot,
    /// Seen before (a redelivery, or a reading of a previous boot): do not score it again.
    Again,
}

impl Seen {
    /// Whether the reading should be scored.
    pub fn is_new(self) -> bool {
        self != Seen::Again
    }
}

/// The last [`REMEMBERED_PER_DEVICE`] sequence numbers seen from each device in its current boot.
#[derive(Default)]
pub struct RecentSeqs {
    by_device: HashMap<String, Boot>,
}

impl RecentSeqs {
    /// Classifies `(device, seq)` stamped `time_ms` (device time) and remembers it.
    pub fn offer(&mut self, device: &str, seq: u64, time_ms: i64) -> Seen {
        let boot = match self.by_device.get_mut(device) {
            Some(boot) => boot,
            None => self.by_device.entry(device.to_string()).or_default(),
        };
        if boot.started_ms.is_some_and(|started| time_ms < started) {
            return Seen::Again; // from before the last reboot
        }
        let mut seen = Seen::New;
        if vitals::reboot::restarts(seq, time_ms, boot.highest) {
            *boot = Boot {
                started_ms: Some(time_ms),
                ..Boot::default()
            };
            seen = Seen::Reboot;
        }
        let seqs = &mut boot.seqs;
        if seqs.first().is_some_and(|&oldest| seq < oldest) && seqs.len() >= REMEMBERED_PER_DEVICE {
            return Seen::Again; // older than anything remembered: treat as already seen
        }
        if !seqs.insert(seq) {
            return Seen::Again;
        }
        if seqs.len() > REMEMBERED_PER_DEVICE {
            seqs.pop_first();
        }
        if boot.highest.is_none_or(|(highest, _)| seq > highest) {
            boot.highest = Some((seq, time_ms));
        }
        seen
    }

    /// True the first time `(device, seq)` is offered (within the remembered window), for
    /// callers without a device time (every reading stamped alike: no reboot is detected).
    pub fn first_time(&mut self, device: &str, seq: u64) -> bool {
        self.offer(device, seq, 0).is_new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_redelivery_is_not_new() {
        let mut recent = RecentSeqs::default();
        assert!(recent.first_time("d-1", 7));
        assert!(recent.first_time("d-2", 7));
        assert!(!recent.first_time("d-1", 7));
        assert!(recent.first_time("d-1", 6));
    }

    #[test]
    fn a_counter_that_restarts_with_later_readings_is_a_reboot() {
        let mut recent = RecentSeqs::default();
        for seq in 1..=500 {
            assert_eq!(recent.offer("d", seq, 1000 * seq as i64), Seen::New);
        }
        // The device rebooted: seq 1 again, stamped after seq 500.
        assert_eq!(recent.offer("d", 1, 600_000), Seen::Reboot);
        assert_eq!(recent.offer("d", 2, 601_000), Seen::New);
        assert_eq!(recent.offer("d", 1, 600_000), Seen::Again, "redelivery");
        // A late reading of the previous boot is not scored again.
        assert_eq!(recent.offer("d", 499, 499_000), Seen::Again);
        assert_eq!(recent.offer("d", 3, 602_000), Seen::New);
    }

    #[test]
    fn a_late_reading_stamped_earlier_is_not_a_reboot() {
        let mut recent = RecentSeqs::default();
        assert_eq!(recent.offer("d", 10, 10_000), Seen::New);
        assert_eq!(recent.offer("d", 9, 9_000), Seen::New);
        assert_eq!(recent.offer("d", 10, 10_000), Seen::Again);
    }

    proptest! {
        #[test]
        fn each_seq_is_new_exactly_once(seqs in proptest::collection::vec(0u64..500, 1..300)) {
            let mut recent = RecentSeqs::default();
            let mut seen = std::collections::HashSet::new();
            for seq in seqs {
                prop_assert_eq!(recent.first_time("d", seq), seen.insert(seq));
            }
        }
    }
}
