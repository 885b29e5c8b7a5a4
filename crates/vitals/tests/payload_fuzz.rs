//! Random and mutated bytes through every ingest decoder: they return errors, never panic
//! (the stable-Rust companion of fuzz/fuzz_targets/ingest_payload.rs).

use proptest::prelude::*;
use vitals::payload::{
    decode_heartbeat, decode_position, decode_status, decode_vitals, decode_vitals_batch,
};

const VALID: &str = r#"{"patient":"p-1","seq":7,"time_ms":1795000000000,"hr":72,"rr":16,"spo2":97,"o2":false,"temp":36.8,"sbp":120,"dbp":80,"acvpu":"A"}"#;

fn decode_all(bytes: &[u8]) {
    let _ = decode_vitals("dev-1", bytes);
    let _ = decode_vitals_batch("dev-1", bytes);
    let _ = decode_status(bytes);
    let _ = decode_heartbeat(bytes);
    let _ = decode_position(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        decode_all(&bytes);
    }

    #[test]
    fn mutated_valid_payloads_never_panic(
        flips in proptest::collection::vec((0usize..VALID.len(), any::<u8>()), 1..8),
        cut in 0usize..=VALID.len(),
    ) {
        let mut bytes = VALID.as_bytes().to_vec();
        for (at, byte) in flips {
            bytes[at] = byte;
        }
        decode_all(&bytes);
        decode_all(&VALID.as_bytes()[..cut]);
    }

    #[test]
    fn any_in_range_values_decode(hr in 0.0..350.0f64, spo2 in 0.0..=100.0f64, seq: u64, t: i64) {
        let body = format!(r#"{{"patient":"p","seq":{seq},"time_ms":{t},"hr":{hr},"spo2":{spo2}}}"#);
        let m = decode_vitals("d", body.as_bytes()).unwrap();
        prop_assert_eq!(m.seq, seq);
        // serde_json's fast float parser may differ from the printed value in the last bit.
        let decoded = m.vitals.heart_rate.unwrap_or(f64::NAN);
        prop_assert!((decoded - hr).abs() <= 1e-12 * hr.max(1.0), "{decoded} vs {hr}");
    }

    #[test]
    fn device_ids_from_topics_are_validated(device in "\\PC{0,80}") {
        let result = decode_vitals(&device, VALID.as_bytes());
        let valid = !device.is_empty() && device.len() <= 64
            && device.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        prop_assert_eq!(result.is_ok(), valid);
    }
}
