//! Fuzz target: the WFDB readers (header, signal files in every format: 8, 16, 24, 32, 61, 80,
//! 160, 212, 310, 311; MIT annotations) and the ECG chunk payload decoder must return errors on
//! any input, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ecg::fuzzing::exercise_decoders(data);
});
