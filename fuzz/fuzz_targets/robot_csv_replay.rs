//! Fuzz target: any bytes through the master-pose CSV parser must give a replay or an error, and
//! a replay must answer finite poses across its duration.

#![no_main]

use libfuzzer_sys::fuzz_target;
use robot::script::{CsvReplay, MasterInput};

fuzz_target!(|data: &[u8]| {
    if let Ok(replay) = CsvReplay::from_reader(data) {
        let end = replay.duration_s();
        for t in [0.0, end / 3.0, end] {
            assert!(replay.pose_at(t).is_some_and(|pose| pose.is_finite()));
        }
    }
});
