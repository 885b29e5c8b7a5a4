//! Replay never panics on a damaged file, and no one-byte change to a recording goes unnoticed:
//! random byte changes and truncations of a small recording always end in a `ReplayError`.

mod common;

use proptest::prelude::*;
use recorder::replay;
use recorder::writer::DEFAULT_MAX_FILE_BYTES;
use std::sync::OnceLock;

/// The bytes of one short station recording, made once for every case.
fn recording() -> &'static [u8] {
    static RECORDING: OnceLock<Vec<u8>> = OnceLock::new();
    RECORDING.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let rec = common::record_sim(dir.path(), 9, 0.2, DEFAULT_MAX_FILE_BYTES);
        std::fs::read(&rec.station.files[0]).unwrap()
    })
}

/// Replays `bytes` written as a first part; a panic fails the case.
fn replay_bytes(bytes: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("station-20260101T000000Z-1-001.mcap");
    std::fs::write(&path, bytes).unwrap();
    replay(&path).map(|_| ()).map_err(|e| e.to_string())
}

#[test]
fn the_undamaged_recording_replays() {
    replay_bytes(recording()).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_changed_byte_is_always_an_error_never_a_panic(position in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let mut damaged = recording().to_vec();
        let at = position.index(damaged.len());
        damaged[at] ^= flip;
        let result = replay_bytes(&damaged);
        prop_assert!(result.is_err(), "byte {} ^ {:#04x} went unnoticed", at, flip);
    }

    #[test]
    fn a_truncated_file_is_an_error_never_a_panic(position in any::<prop::sample::Index>()) {
        let bytes = recording();
        let at = position.index(bytes.len());
        let result = replay_bytes(&bytes[..at]);
        prop_assert!(result.is_err(), "cut at {} of {} went unnoticed", at, bytes.len());
    }
}
