//! Fuzz target: every MQTT ingest decoder of the care hub must return an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vitals::payload::decode_vitals("fuzz-device", data);
    let _ = vitals::payload::decode_status(data);
    let _ = vitals::payload::decode_heartbeat(data);
    let _ = vitals::payload::decode_position(data);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = vitals::fhir::observation_from_json(&value);
    }
});
