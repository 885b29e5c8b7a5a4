//! Recently scored `(device, seq)` pairs, so a QoS 1 redelivery is not scored twice before the
//! store (the authority on duplicates) has seen it.

use std::collections::{BTreeSet, HashMap};

/// Sequence numbers remembered per device; older ones are forgotten first.
pub const REMEMBERED_PER_DEVICE: usize = 4096;

/// The last [`REMEMBERED_PER_DEVICE`] sequence numbers seen from each device.
#[derive(Default)]
pub struct RecentSeqs {
    by_device: HashMap<String, BTreeSet<u64>>,
}

impl RecentSeqs {
    /// True the first time `(device, seq)` is offered (within the remembered window).
    pub fn first_time(&mut self, device: &str, seq: u64) -> bool {
        let seqs = match self.by_device.get_mut(device) {
            Some(seqs) => seqs,
            None => self.by_device.entry(device.to_string()).or_default(),
        };
        if seqs.first().is_some_and(|&oldest| seq < oldest) && seqs.len() >= REMEMBERED_PER_DEVICE {
            return false; // older than anything remembered: treat as already seen
        }
        let new = seqs.insert(seq);
        if seqs.len() > REMEMBERED_PER_DEVICE {
            seqs.pop_first();
        }
        new
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
