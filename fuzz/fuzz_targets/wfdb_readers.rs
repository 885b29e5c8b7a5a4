//! Fuzz target: the WFDB readers (header, 212/16 signal files, MIT annotations) and the ECG chunk
//! payload decoder must return errors on any input, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ecg::fuzzing::exercise_decoders(data);
});
