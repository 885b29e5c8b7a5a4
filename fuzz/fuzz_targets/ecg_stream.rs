//! Fuzz target: an ECG chunk as the hub receives it on `medlink/v1/ecg/{patient}/{device}/{lead}`
//! must be rejected with a reason or analysed by the stream's monitor, never panic.
#![no_main]

use hub::ecg_streams::{EcgStreams, decode};
use hub::topics::EcgStream;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let stream = EcgStream {
        patient: "p-1",
        device: "holter-7",
        lead: "II",
    };
    let mut streams = EcgStreams::default();
    if let Ok(chunk) = decode(&stream, data) {
        streams.analyse(chunk);
    }
});
