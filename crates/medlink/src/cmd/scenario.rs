//! Scripted patients for the simulators (the model itself is `vitals::sim_patient`, shared with
//! the station's patient monitor) and the ingest payload they publish.

use vitals::Vitals;

pub use vitals::sim_patient::{Script, SimPatient};

/// The JSON payload of docs/ingest.md for one measurement.
pub fn payload(patient: &str, seq: u64, time_ms: i64, v: &Vitals) -> String {
    serde_json::json!({
        "patient": patient, "seq": seq, "time_ms": time_ms,
        "hr": v.heart_rate, "rr": v.resp_rate, "spo2": v.spo2, "o2": v.on_oxygen,
        "temp": v.temperature, "sbp": v.systolic, "dbp": v.diastolic,
        "acvpu": v.consciousness.map(|c| c.letter()),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use vitals::payload::decode_vitals;

    #[test]
    fn payloads_decode_with_the_hub_decoder() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let v = SimPatient::new(Script::Sepsis, 0.0, &mut rng).vitals_at(650.0, &mut rng);
        let m = decode_vitals("w-1", payload("r-1", 9, 123, &v).as_bytes()).unwrap();
        assert_eq!(m.vitals, v);
        assert_eq!(m.seq, 9);
    }
}
