//! The newest measured arm state, handed from the servo thread to the camera thread without a
//! lock or an allocation: a sequence lock over atomics. The servo thread writes every tick and
//! never waits; the camera reads a consistent copy, retrying while a write is under way.

use std::sync::atomic::{AtomicU64, Ordering, fence};

/// What the camera needs of one state report.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MeasuredPose {
    /// Station clock of the servo tick that measured it (µs).
    pub station_time_us: i64,
    /// The newest control command applied when it was measured (0: none).
    pub applied_seq: u64,
    /// Tool tip position in the arm's base frame (m).
    pub tip_m: [f64; 3],
    /// Tool orientation as a unit quaternion (x, y, z, w).
    pub quaternion_xyzw: [f64; 4],
}

const WORDS: usize = 9;

/// A single-writer, many-reader cell.
#[derive(Default)]
pub struct PoseCell {
    version: AtomicU64,
    words: [AtomicU64; WORDS],
}

impl PoseCell {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores a new pose (one writer: the servo thread's output path). Never blocks.
    pub fn store(&self, pose: &MeasuredPose) {
        let v = self.version.load(Ordering::Relaxed);
        self.version.store(v.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        let words = encode(pose);
        for (cell, w) in self.words.iter().zip(words) {
            cell.store(w, Ordering::Relaxed);
        }
        fence(Ordering::Release);
        self.version.store(v.wrapping_add(2), Ordering::Release);
    }

    /// The newest pose, or `None` before the first one.
    pub fn load(&self) -> Option<MeasuredPose> {
        loop {
            let before = self.version.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let mut words = [0u64; WORDS];
            for (w, cell) in words.iter_mut().zip(&self.words) {
                *w = cell.load(Ordering::Relaxed);
            }
            fence(Ordering::Acquire);
            if self.version.load(Ordering::Relaxed) == before {
                return Some(decode(&words));
            }
        }
    }
}

fn encode(p: &MeasuredPose) -> [u64; WORDS] {
    let q = p.quaternion_xyzw;
    [
        p.station_time_us as u64,
        p.applied_seq,
        p.tip_m[0].to_bits(),
        p.tip_m[1].to_bits(),
        p.tip_m[2].to_bits(),
        q[0].to_bits(),
        q[1].to_bits(),
        q[2].to_bits(),
        q[3].to_bits(),
    ]
}

fn decode(w: &[u64; WORDS]) -> MeasuredPose {
    let f = |i: usize| f64::from_bits(w[i]);
    MeasuredPose {
        station_time_us: w[0] as i64,
        applied_seq: w[1],
        tip_m: [f(2), f(3), f(4)],
        quaternion_xyzw: [f(5), f(6), f(7), f(8)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn empty_until_stored_then_the_newest() {
        let cell = PoseCell::new();
        assert_eq!(cell.load(), None);
        let mut pose = MeasuredPose {
            station_time_us: 5,
            applied_seq: 3,
            tip_m: [0.1, -0.2, 0.3],
            quaternion_xyzw: [0.0, 0.0, 0.0, 1.0],
        };
        cell.store(&pose);
        pose.applied_seq = 4;
        cell.store(&pose);
        assert_eq!(cell.load(), Some(pose));
    }

    #[test]
    fn a_reader_never_sees_a_torn_pose() {
        let cell = Arc::new(PoseCell::new());
        let writer = {
            let cell = cell.clone();
            std::thread::spawn(move || {
                for i in 1..200_000u64 {
                    let x = i as f64;
                    cell.store(&MeasuredPose {
                        station_time_us: i as i64,
                        applied_seq: i,
                        tip_m: [x, x, x],
                        quaternion_xyzw: [x, x, x, x],
                    });
                }
            })
        };
        for _ in 0..200_000 {
            if let Some(p) = cell.load() {
                let x = p.applied_seq as f64;
                assert_eq!(p.station_time_us, p.applied_seq as i64);
                assert_eq!(p.tip_m, [x, x, x]);
                assert_eq!(p.quaternion_xyzw, [x, x, x, x]);
            }
        }
        writer.join().unwrap();
    }
}
