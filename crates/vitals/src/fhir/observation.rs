//! Observations: from a stored measurement to FHIR JSON (the vital signs, ACVPU and air or
//! oxygen), and back for transactions (the vital signs).

use super::coded;
use super::posted::posted_device;
use super::time::{format_instant, parse_instant};
use super::{FhirError, Recorded};
use crate::model::{LOINC, VitalKind, Vitals};
use serde_json::{Value, json};

const UCUM: &str = "http://unitsofmeasure.org";
const CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
/// Local code system for how a value was measured (no SNOMED code was verified for it).
const METHOD: &str = "urn:medlink:fhir:measurement-method";
const SYSTOLIC: &str = "8480-6";
const DIASTOLIC: &str = "8462-4";

/// The vital-signs profile of a kind (none for ACVPU and air or oxygen).
fn profile(kind: VitalKind) -> Option<&'static str> {
    Some(match kind {
        VitalKind::HeartRate => "http://hl7.org/fhir/StructureDefinition/heartrate",
        VitalKind::RespRate => "http://hl7.org/fhir/StructureDefinition/resprate",
        VitalKind::SpO2 => "http://hl7.org/fhir/StructureDefinition/oxygensat",
        VitalKind::Temperature => "http://hl7.org/fhir/StructureDefinition/bodytemp",
        VitalKind::BloodPressure => "http://hl7.org/fhir/StructureDefinition/bp",
        VitalKind::Consciousness | VitalKind::AirOrOxygen | VitalKind::News2Total => return None,
    })
}

fn quantity(value: f64, unit: &str) -> Value {
    json!({"value": value, "unit": unit, "system": UCUM, "code": unit})
}

fn concept(system: &str, code: &str, display: &str) -> Value {
    json!({"coding": [{"system": system, "code": code, "display": display}], "text": display})
}

fn loinc_concept(code: &str, display: &str) -> Value {
    concept(LOINC, code, display)
}

fn code_of(kind: VitalKind) -> Value {
    let mut concept = concept(kind.system(), kind.code(), kind.display());
    if kind == VitalKind::SpO2
        && let Some(codings) = concept["coding"].as_array_mut()
    {
        codings.push(json!({"system": LOINC, "code": "59408-5",
            "display": "Oxygen saturation in Arterial blood by Pulse oximetry"}));
    }
    concept
}

fn bp_component(code: &str, display: &str, value: Option<f64>) -> Value {
    let mut component = json!({"code": loinc_concept(code, display)});
    component["valueQuantity"] = match value {
        Some(v) => quantity(v, "mm[Hg]"),
        None => {
            component["dataAbsentReason"] = json!({"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                "code": "not-performed"}]});
            return component;
        }
    };
    component
}

/// The Observation id of one vital kind of a stored measurement, e.g. `42-hr`.
pub fn observation_id(row_id: i64, kind: VitalKind) -> String {
    format!("{row_id}-{}", kind.slug())
}

/// One Observation for `kind` of a stored measurement, if that kind was measured.
pub fn observation(recorded: &Recorded, kind: VitalKind) -> Option<Value> {
    let m = &recorded.measurement;
    let v = &m.vitals;
    // The NEWS2 total needs the readings before it: `news2_observation`.
    if !kind.is_present(v) || kind == VitalKind::News2Total {
        return None;
    }
    let mut obs = json!({
        "resourceType": "Observation",
        "id": observation_id(recorded.row_id, kind),
        "status": "final",
        "code": code_of(kind),
        "subject": {"reference": format!("Patient/{}", m.patient)},
        "effectiveDateTime": format_instant(m.time_ms),
    });
    if let Some(profile) = profile(kind) {
        obs["meta"] = json!({"profile": [profile]});
        obs["category"] = json!([{"coding": [{"system": CATEGORY, "code": "vital-signs",
                                              "display": "Vital Signs"}], "text": "Vital Signs"}]);
    } else if let Some(category) = coded::category(kind) {
        obs["category"] = category;
    }
    // A device's own reading carries its (device, seq) key; a posted one names the device the
    // client named, if any.
    match posted_device(&m.device) {
        None => {
            obs["identifier"] = json!([{"system": "urn:medlink:device-seq",
                                        "value": format!("{}/{}", m.device, m.seq)}]);
            obs["device"] = json!({"reference": format!("Device/{}", m.device)});
        }
        Some(Some(device)) => obs["device"] = json!({"reference": format!("Device/{device}")}),
        Some(None) => {}
    }
    let value = match kind {
        VitalKind::HeartRate => v.heart_rate,
        VitalKind::RespRate => v.resp_rate,
        VitalKind::SpO2 => v.spo2,
        VitalKind::Temperature => v.temperature,
        VitalKind::BloodPressure => {
            obs["component"] = json!([
                bp_component(SYSTOLIC, "Systolic blood pressure", v.systolic),
                bp_component(DIASTOLIC, "Diastolic blood pressure", v.diastolic),
            ]);
            None
        }
        VitalKind::Consciousness | VitalKind::AirOrOxygen => {
            obs["valueCodeableConcept"] = coded::value(kind, v)?;
            None
        }
        VitalKind::News2Total => return None,
    };
    if let (Some(value), Some(unit)) = (value, kind.ucum()) {
        obs["valueQuantity"] = quantity(value, unit);
    }
    if kind == VitalKind::HeartRate
        && posted_device(&m.device).is_none()
        && let Some((_, lead)) = crate::source::ecg_stream_parts(&m.device)
    {
        obs["method"] = json!({"coding": [{"system": METHOD, "code": "ecg",
            "display": "ECG: R-R intervals of detected QRS complexes"}],
            "text": format!("ECG lead {lead}")});
    }
    Some(obs)
}

/// Every Observation of a stored measurement, in [`VitalKind::ALL`] order.
pub fn observations_for(recorded: &Recorded) -> Vec<Value> {
    VitalKind::ALL
        .into_iter()
        .filter_map(|kind| observation(recorded, kind))
        .collect()
}

/// An Observation posted by a client, ready to be stored as a one-kind measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservationInput {
    pub patient: String,
    pub device: Option<String>,
    pub time_ms: i64,
    pub kind: VitalKind,
    pub vitals: Vitals,
}

fn invalid(message: impl Into<String>) -> FhirError {
    FhirError::Invalid(message.into())
}

fn reference_id<'a>(value: &'a Value, field: &str, resource: &str) -> Result<&'a str, FhirError> {
    let reference = value[field]["reference"]
        .as_str()
        .ok_or_else(|| invalid(format!("{field}.reference is required")))?;
    let id = reference
        .strip_prefix(resource)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(|| invalid(format!("{field}.reference must be {resource}/<id>")))?;
    crate::payload::validate_id(resource_field(resource), id)
        .map_err(|e| invalid(e.to_string()))?;
    Ok(id)
}

fn resource_field(resource: &str) -> &'static str {
    if resource == "Device" {
        "device"
    } else {
        "patient"
    }
}

fn quantity_value(q: &Value, allowed: &[&str]) -> Result<(f64, String), FhirError> {
    let value = q["value"]
        .as_f64()
        .filter(|v| v.is_finite())
        .ok_or_else(|| invalid("valueQuantity.value must be a number"))?;
    let code = q["code"].as_str().unwrap_or_default();
    if q["system"].as_str() != Some(UCUM) || !allowed.contains(&code) {
        return Err(invalid(format!(
            "unit must be UCUM {allowed:?}, got {code:?}"
        )));
    }
    Ok((value, code.to_string()))
}

fn kind_of(obs: &Value) -> Result<VitalKind, FhirError> {
    let codings = obs["code"]["coding"]
        .as_array()
        .ok_or_else(|| invalid("code.coding is required"))?;
    codings
        .iter()
        .filter(|c| c["system"].as_str() == Some(LOINC))
        .find_map(|c| {
            c["code"]
                .as_str()
                .and_then(|code| VitalKind::from_code(LOINC, code))
        })
        .ok_or_else(|| invalid("code must carry a supported vital-signs LOINC code"))
}

fn component_value(obs: &Value, code: &str) -> Result<Option<f64>, FhirError> {
    let components = obs["component"]
        .as_array()
        .ok_or_else(|| invalid("blood pressure needs component"))?;
    let found = components.iter().find(|c| {
        c["code"]["coding"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|x| x["code"].as_str() == Some(code)))
    });
    match found.map(|c| &c["valueQuantity"]) {
        Some(q) if !q.is_null() => quantity_value(q, &["mm[Hg]"]).map(|(v, _)| Some(v)),
        _ => Ok(None),
    }
}

/// Reads a posted vital-signs Observation (status, LOINC code, subject, effectiveDateTime,
/// valueQuantity or BP components). Temperature in `[degF]` is converted to `Cel`.
pub fn observation_from_json(obs: &Value) -> Result<ObservationInput, FhirError> {
    if obs["resourceType"].as_str() != Some("Observation") {
        return Err(FhirError::NotSupported(
            "only Observation resources can be posted".into(),
        ));
    }
    let status = obs["status"].as_str().unwrap_or_default();
    if !["final", "amended", "corrected", "preliminary"].contains(&status) {
        return Err(invalid(format!("status {status:?} is not a result status")));
    }
    let kind = kind_of(obs)?;
    let patient = reference_id(obs, "subject", "Patient")?.to_string();
    let device = match obs.get("device") {
        Some(_) => Some(reference_id(obs, "device", "Device")?.to_string()),
        None => None,
    };
    let effective = obs["effectiveDateTime"]
        .as_str()
        .ok_or_else(|| invalid("effectiveDateTime is required"))?;
    let time_ms = parse_instant(effective)?;
    let mut vitals = Vitals::default();
    let q = &obs["valueQuantity"];
    match kind {
        VitalKind::BloodPressure => {
            vitals.systolic = component_value(obs, SYSTOLIC)?;
            vitals.diastolic = component_value(obs, DIASTOLIC)?;
            if vitals.systolic.is_none() {
                return Err(invalid("blood pressure needs a systolic component value"));
            }
        }
        VitalKind::HeartRate => vitals.heart_rate = Some(quantity_value(q, &["/min"])?.0),
        VitalKind::RespRate => vitals.resp_rate = Some(quantity_value(q, &["/min"])?.0),
        VitalKind::SpO2 => vitals.spo2 = Some(quantity_value(q, &["%"])?.0),
        VitalKind::Temperature => {
            let (value, unit) = quantity_value(q, &["Cel", "[degF]"])?;
            let celsius = if unit == "[degF]" {
                (value - 32.0) * 5.0 / 9.0
            } else {
                value
            };
            vitals.temperature = Some(celsius);
        }
        VitalKind::Consciousness | VitalKind::AirOrOxygen | VitalKind::News2Total => {
            return Err(FhirError::NotSupported(
                "only vital-sign Observations can be posted".into(),
            ));
        }
    }
    Ok(ObservationInput {
        patient,
        device,
        time_ms,
        kind,
        vitals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Measurement;

    fn recorded() -> Recorded {
        let vitals = Vitals {
            heart_rate: Some(72.0),
            systolic: Some(120.0),
            diastolic: Some(80.0),
            ..Vitals::default()
        };
        let measurement = Measurement {
            device: "d1".into(),
            patient: "p1".into(),
            seq: 3,
            time_ms: 0,
            vitals,
        };
        Recorded {
            row_id: 9,
            measurement,
        }
    }

    #[test]
    fn maps_present_kinds_with_loinc_and_ucum() {
        let all = observations_for(&recorded());
        assert_eq!(all.len(), 2);
        assert_eq!(all[0]["id"], "9-hr");
        assert_eq!(all[0]["code"]["coding"][0]["code"], "8867-4");
        assert_eq!(all[0]["valueQuantity"]["code"], "/min");
        assert_eq!(
            all[1]["component"][1]["code"]["coding"][0]["code"],
            DIASTOLIC
        );
        assert!(all[1].get("valueQuantity").is_none());
        assert!(all[0].get("method").is_none(), "a device's own reading");
    }

    #[test]
    fn heart_rate_from_an_ecg_stream_says_so() {
        let mut from_ecg = recorded();
        from_ecg.measurement.device = crate::source::ecg_stream_device("holter-7", "II");
        let hr = observation(&from_ecg, VitalKind::HeartRate).unwrap();
        assert_eq!(hr["method"]["coding"][0]["code"], "ecg");
        assert_eq!(hr["method"]["text"], "ECG lead II");
        assert_eq!(hr["device"]["reference"], "Device/holter-7.ecg.II");
    }

    #[test]
    fn acvpu_and_air_or_oxygen_are_observations_of_their_own() {
        let mut with_news2_params = recorded();
        with_news2_params.measurement.vitals.consciousness = Some(crate::Acvpu::Confusion);
        with_news2_params.measurement.vitals.on_oxygen = Some(true);
        let all = observations_for(&with_news2_params);
        assert_eq!(all.len(), 4);
        let acvpu = &all[2];
        assert_eq!(acvpu["id"], "9-acvpu");
        assert_eq!(
            acvpu["code"]["coding"][0]["system"],
            "http://snomed.info/sct"
        );
        assert_eq!(acvpu["code"]["coding"][0]["code"], "1104441000000107");
        assert_eq!(acvpu["valueCodeableConcept"]["coding"][0]["code"], "C");
        assert!(acvpu.get("valueQuantity").is_none() && acvpu.get("meta").is_none());
        let o2 = &all[3];
        assert_eq!(o2["id"], "9-o2");
        assert_eq!(o2["valueCodeableConcept"]["text"], "Supplemental oxygen");
        assert!(
            observation_from_json(acvpu).is_err(),
            "only vital signs are posted"
        );
    }

    #[test]
    fn a_posted_observation_names_the_clients_device_and_no_sequence() {
        let mut posted = recorded();
        posted.measurement.device = crate::fhir::posted_source(Some("d1"));
        let hr = observation(&posted, VitalKind::HeartRate).unwrap();
        assert_eq!(hr["device"]["reference"], "Device/d1");
        assert!(hr.get("identifier").is_none());
        posted.measurement.device = crate::fhir::posted_source(None);
        let hr = observation(&posted, VitalKind::HeartRate).unwrap();
        assert!(hr.get("device").is_none(), "no device is made up");
    }

    #[test]
    fn reads_back_what_it_writes() {
        for obs in observations_for(&recorded()) {
            let input = observation_from_json(&obs).unwrap();
            assert_eq!(
                (input.patient.as_str(), input.device.as_deref()),
                ("p1", Some("d1"))
            );
        }
        let bp = observation(&recorded(), VitalKind::BloodPressure).unwrap();
        assert_eq!(
            observation_from_json(&bp).unwrap().vitals.diastolic,
            Some(80.0)
        );
    }

    #[test]
    fn rejects_bad_observations() {
        let good = observation(&recorded(), VitalKind::HeartRate).unwrap();
        let mut cases = Vec::new();
        for (path, value) in [
            ("status", json!("bogus")),
            ("effectiveDateTime", json!("noon")),
            ("subject", json!({"reference": "Group/1"})),
            ("valueQuantity", json!({"value": "x"})),
        ] {
            let mut bad = good.clone();
            bad[path] = value;
            cases.push(bad);
        }
        let mut wrong_unit = good.clone();
        wrong_unit["valueQuantity"]["code"] = json!("kg");
        cases.push(wrong_unit);
        for bad in cases {
            assert!(observation_from_json(&bad).is_err(), "{bad}");
        }
    }
}
