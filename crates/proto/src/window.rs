//! The control channel's sequence window: latest wins, and anything not newer than the newest
//! accepted command is refused, classified as a duplicate or as reordered (late).

/// What the window says of a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceVerdict {
    /// Newer than everything accepted so far.
    Fresh,
    /// Exactly a sequence number already accepted (within the last 64).
    Duplicate,
    /// Older than the newest accepted one: it arrived out of order, too late to use.
    Reordered,
}

/// Remembers the newest accepted sequence number and which of the 64 before it were seen,
/// so late packets can be told from duplicates. No allocation.
#[derive(Debug, Clone, Copy, Default)]
pub struct SequenceWindow {
    newest: Option<u64>,
    /// Bit i set: `newest - i` was accepted.
    seen: u64,
}

impl SequenceWindow {
    pub fn new() -> Self {
        Self::default()
    }

    /// Judges `seq` without recording it.
    pub fn check(&self, seq: u64) -> SequenceVerdict {
        match self.newest {
            None => SequenceVerdict::Fresh,
            Some(newest) if seq > newest => SequenceVerdict::Fresh,
            Some(newest) => {
                // Beyond the 64-packet memory a packet is old either way: it counts as reordered.
                let back = newest - seq;
                if back < 64 && self.seen & (1 << back) != 0 {
                    SequenceVerdict::Duplicate
                } else {
                    SequenceVerdict::Reordered
                }
            }
        }
    }

    /// Records `seq` as accepted; call only for a `Fresh` verdict.
    pub fn accept(&mut self, seq: u64) {
        match self.newest {
            Some(newest) if seq > newest => {
                let shift = seq - newest;
                self.seen = if shift >= 64 { 0 } else { self.seen << shift };
                self.seen |= 1;
                self.newest = Some(seq);
            }
            None => {
                self.newest = Some(seq);
                self.seen = 1;
            }
            Some(_) => {}
        }
    }

    pub fn newest(&self) -> Option<u64> {
        self.newest
    }
}
