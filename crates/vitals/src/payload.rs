//! Decoding of what devices publish (docs/ingest.md): vitals JSON, status and heartbeat messages.
//!
//! Everything here comes from the network: every failure is a [`Rejection`] with a stable reason
//! label for metrics, never a panic.

use crate::model::{Acvpu, Measurement, Vitals};
use serde::Deserialize;

/// Largest payload accepted, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 4096;
/// Largest batch payload (a JSON array of measurements) accepted, in bytes.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;
/// Most measurements one batch payload may carry.
pub const MAX_BATCH_READINGS: usize = 256;
/// Longest patient or device id accepted.
pub const MAX_ID_LEN: usize = 64;

/// Why a payload was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error(
        "payload of {0} bytes is larger than the limit ({MAX_PAYLOAD_BYTES} for one measurement, {MAX_BATCH_BYTES} for a batch)"
    )]
    TooLarge(usize),
    #[error("batch of {0} measurements: 1-{MAX_BATCH_READINGS} accepted")]
    BatchSize(usize),
    #[error("payload is not JSON: {0}")]
    NotJson(String),
    #[error("payload does not match the schema: {0}")]
    Schema(String),
    #[error("invalid {field} id {value:?}: 1-{MAX_ID_LEN} characters of A-Z a-z 0-9 . _ -")]
    BadId { field: &'static str, value: String },
    #[error("{field} = {value} is outside {min}..={max}")]
    OutOfRange {
        field: &'static str,
        value: f64,
        min: f64,
        max: f64,
    },
    #[error("unknown temperature unit {0:?} (use \"Cel\" or \"[degF]\")")]
    UnknownUnit(String),
    #[error("measurement carries no vital sign")]
    NoVitals,
    #[error("acvpu must be one of A, C, V, P, U, not {0:?}")]
    BadAcvpu(String),
    #[error(
        "reading {seq} is stamped {ahead_s} s in the future (more than {max_s} s of clock skew)"
    )]
    FutureTime { seq: u64, ahead_s: i64, max_s: i64 },
    #[error("reading {seq} is stamped {age_s} s ago (older than {max_s} s)")]
    TooOld { seq: u64, age_s: i64, max_s: i64 },
}

impl Rejection {
    /// Stable label for the `reason` of the rejection counter.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::TooLarge(_) => "too_large",
            Rejection::BatchSize(_) => "batch_size",
            Rejection::NotJson(_) => "not_json",
            Rejection::Schema(_) => "schema",
            Rejection::BadId { .. } => "bad_id",
            Rejection::OutOfRange { .. } => "out_of_range",
            Rejection::UnknownUnit(_) => "unknown_unit",
            Rejection::NoVitals => "no_vitals",
            Rejection::BadAcvpu(_) => "bad_acvpu",
            Rejection::FutureTime { .. } => "future_time",
            Rejection::TooOld { .. } => "too_old",
        }
    }

    /// Every reason label, so counters can be listed even at zero.
    pub const REASONS: [&'static str; 11] = [
        "too_large",
        "batch_size",
        "not_json",
        "schema",
        "bad_id",
        "out_of_range",
        "unknown_unit",
        "no_vitals",
        "bad_acvpu",
        "future_time",
        "too_old",
    ];
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireVitals {
    patient: String,
    seq: u64,
    time_ms: i64,
    hr: Option<f64>,
    rr: Option<f64>,
    spo2: Option<f64>,
    o2: Option<bool>,
    temp: Option<f64>,
    temp_unit: Option<String>,
    sbp: Option<f64>,
    dbp: Option<f64>,
    acvpu: Option<String>,
}

/// Checks an id from the wire: 1-64 characters of `A-Z a-z 0-9 . _ -`.
pub fn validate_id(field: &'static str, value: &str) -> Result<(), Rejection> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if value.is_empty() || value.len() > MAX_ID_LEN || !value.chars().all(valid_char) {
        return Err(Rejection::BadId {
            field,
            value: value.chars().take(MAX_ID_LEN + 8).collect(),
        });
    }
    Ok(())
}

fn in_range(
    field: &'static str,
    value: Option<f64>,
    min: f64,
    max: f64,
) -> Result<Option<f64>, Rejection> {
    match value {
        Some(v) if !(min..=max).contains(&v) => Err(Rejection::OutOfRange {
            field,
            value: v,
            min,
            max,
        }),
        other => Ok(other),
    }
}

fn parse_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, Rejection> {
    parse_json_up_to(bytes, MAX_PAYLOAD_BYTES)
}

fn parse_json_up_to<'a, T: Deserialize<'a>>(bytes: &'a [u8], limit: usize) -> Result<T, Rejection> {
    if bytes.len() > limit {
        return Err(Rejection::TooLarge(bytes.len()));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            Rejection::Schema(e.to_string())
        } else {
            Rejection::NotJson(e.to_string())
        }
    })
}

/// Decodes a vitals payload published by `device` on its vitals topic.
pub fn decode_vitals(device: &str, bytes: &[u8]) -> Result<Measurement, Rejection> {
    validate_id("device", device)?;
    measurement_from_wire(device, parse_json(bytes)?)
}

/// Decodes a vitals payload that is either one measurement (a JSON object) or a batch of them
/// (a JSON array of 1-[`MAX_BATCH_READINGS`] objects, e.g. a wearable's buffered readings).
/// A batch is all or nothing: one invalid measurement rejects the whole payload.
pub fn decode_vitals_batch(device: &str, bytes: &[u8]) -> Result<Vec<Measurement>, Rejection> {
    let is_array = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if !is_array {
        return decode_vitals(device, bytes).map(|m| vec![m]);
    }
    validate_id("device", device)?;
    let wires: Vec<WireVitals> = parse_json_up_to(bytes, MAX_BATCH_BYTES)?;
    if wires.is_empty() || wires.len() > MAX_BATCH_READINGS {
        return Err(Rejection::BatchSize(wires.len()));
    }
    wires
        .into_iter()
        .map(|wire| measurement_from_wire(device, wire))
        .collect()
}

fn measurement_from_wire(device: &str, wire: WireVitals) -> Result<Measurement, Rejection> {
    validate_id("patient", &wire.patient)?;
    let temperature = match (wire.temp, wire.temp_unit.as_deref()) {
        (Some(t), Some("[degF]")) => Some((t - 32.0) * 5.0 / 9.0),
        (t, None | Some("Cel")) => t,
        (_, Some(other)) => return Err(Rejection::UnknownUnit(other.to_string())),
    };
    let consciousness = match wire.acvpu {
        None => None,
        Some(letter) => Some(Acvpu::from_letter(&letter).ok_or(Rejection::BadAcvpu(letter))?),
    };
    let vitals = Vitals {
        heart_rate: in_range("hr", wire.hr, 0.0, 350.0)?,
        resp_rate: in_range("rr", wire.rr, 0.0, 120.0)?,
        spo2: in_range("spo2", wire.spo2, 0.0, 100.0)?,
        on_oxygen: wire.o2,
        temperature: in_range("temp", temperature, 20.0, 46.0)?,
        systolic: in_range("sbp", wire.sbp, 0.0, 350.0)?,
        diastolic: in_range("dbp", wire.dbp, 0.0, 300.0)?,
        consciousness,
    };
    if vitals.is_empty() {
        return Err(Rejection::NoVitals);
    }
    Ok(Measurement {
        device: device.to_string(),
        patient: wire.patient,
        seq: wire.seq,
        time_ms: wire.time_ms,
        vitals,
    })
}

/// What a device says on its status topic (its last will says `offline`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Status {
    pub state: DeviceState,
    /// The patient the device is attached to, when the device knows it.
    pub patient: Option<String>,
}

/// Online or offline, as announced by the device or its last will.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceState {
    Online,
    Offline,
}

/// Decodes a status payload: `{"state":"online"|"offline","patient":"..."}`.
pub fn decode_status(bytes: &[u8]) -> Result<Status, Rejection> {
    let status: Status = parse_json(bytes)?;
    if let Some(patient) = &status.patient {
        validate_id("patient", patient)?;
    }
    Ok(status)
}

/// A heartbeat: `{"patient":"..."}` or `{}`; any body that is a JSON object is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Heartbeat {
    pub patient: Option<String>,
}

/// Decodes a heartbeat payload.
pub fn decode_heartbeat(bytes: &[u8]) -> Result<Heartbeat, Rejection> {
    let heartbeat: Heartbeat = parse_json(bytes)?;
    if let Some(patient) = &heartbeat.patient {
        validate_id("patient", patient)?;
    }
    Ok(heartbeat)
}

/// An ambulance position: `{"patient":"...","lat":..,"lon":..,"speed_mps":..,"time_ms":..}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub patient: String,
    pub lat: f64,
    pub lon: f64,
    pub speed_mps: f64,
    pub time_ms: i64,
}

/// Decodes an ambulance position payload.
pub fn decode_position(bytes: &[u8]) -> Result<Position, Rejection> {
    let position: Position = parse_json(bytes)?;
    validate_id("patient", &position.patient)?;
    in_range("lat", Some(position.lat), -90.0, 90.0)?;
    in_range("lon", Some(position.lon), -180.0, 180.0)?;
    in_range("speed_mps", Some(position.speed_mps), 0.0, 150.0)?;
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_full_measurement() {
        let body = br#"{"patient":"p-1","seq":7,"time_ms":1000,"hr":72,"rr":16,"spo2":97,
            "o2":false,"temp":98.6,"temp_unit":"[degF]","sbp":120,"dbp":80,"acvpu":"C"}"#;
        let m = decode_vitals("dev-1", body).unwrap();
        assert_eq!(
            (m.device.as_str(), m.patient.as_str(), m.seq),
            ("dev-1", "p-1", 7)
        );
        assert!((m.vitals.temperature.unwrap() - 37.0).abs() < 1e-9);
        assert_eq!(m.vitals.consciousness, Some(Acvpu::Confusion));
    }

    #[test]
    fn each_bad_payload_has_its_reason() {
        let cases: [(&[u8], &str); 7] = [
            (b"{not json", "not_json"),
            (br#"{"patient":"p","seq":1}"#, "schema"),
            (
                br#"{"patient":"p","seq":1,"time_ms":0,"hr":72,"extra":1}"#,
                "schema",
            ),
            (
                br#"{"patient":"p/x","seq":1,"time_ms":0,"hr":72}"#,
                "bad_id",
            ),
            (
                br#"{"patient":"p","seq":1,"time_ms":0,"hr":-4}"#,
                "out_of_range",
            ),
            (br#"{"patient":"p","seq":1,"time_ms":0}"#, "no_vitals"),
            (
                br#"{"patient":"p","seq":1,"time_ms":0,"acvpu":"X"}"#,
                "bad_acvpu",
            ),
        ];
        for (body, reason) in cases {
            let err = decode_vitals("d", body).unwrap_err();
            assert_eq!(err.reason(), reason, "{}", String::from_utf8_lossy(body));
        }
        let big = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        assert_eq!(decode_vitals("d", &big).unwrap_err().reason(), "too_large");
    }

    #[test]
    fn a_batch_decodes_all_or_nothing() {
        let one = r#"{"patient":"p-1","seq":1,"time_ms":0,"hr":72}"#;
        let two = r#"{"patient":"p-1","seq":2,"time_ms":5,"spo2":97}"#;
        let batch = format!(" [{one},{two}]");
        let ms = decode_vitals_batch("dev-1", batch.as_bytes()).unwrap();
        assert_eq!(ms.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(
            decode_vitals_batch("dev-1", one.as_bytes()).unwrap().len(),
            1
        );
        let bad = format!("[{one},{}]", r#"{"patient":"p-1","seq":3,"time_ms":0}"#);
        let err = decode_vitals_batch("dev-1", bad.as_bytes()).unwrap_err();
        assert_eq!(err.reason(), "no_vitals");
        assert_eq!(
            decode_vitals_batch("d", b"[]").unwrap_err().reason(),
            "batch_size"
        );
        let many = format!("[{}]", vec![one; MAX_BATCH_READINGS + 1].join(","));
        assert_eq!(
            decode_vitals_batch("d", many.as_bytes())
                .unwrap_err()
                .reason(),
            "batch_size"
        );
        let huge = format!("[{}]", " ".repeat(MAX_BATCH_BYTES));
        assert_eq!(
            decode_vitals_batch("d", huge.as_bytes())
                .unwrap_err()
                .reason(),
            "too_large"
        );
    }

    #[test]
    fn status_and_position_decode() {
        let s = decode_status(br#"{"state":"offline"}"#).unwrap();
        assert_eq!(s.state, DeviceState::Offline);
        assert!(decode_status(br#"{"state":"sleepy"}"#).is_err());
        let p =
            decode_position(br#"{"patient":"p","lat":51.5,"lon":-0.1,"speed_mps":12,"time_ms":5}"#)
                .unwrap();
        assert_eq!(p.patient, "p");
        assert!(
            decode_position(br#"{"patient":"p","lat":91,"lon":0,"speed_mps":1,"time_ms":5}"#)
                .is_err()
        );
    }
}
