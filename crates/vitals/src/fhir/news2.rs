//! The NEWS2 total as an Observation, one per stored measurement: the score as of that
//! measurement, over the patient's readings of the 15 minutes before it, replayed through the
//! same [`PatientTracker`] the hub scores with. SNOMED CT codes as the NHS NEWS2 examples use
//! them (total 1104051000000101, a component per sub-score); category `survey`.

use super::Recorded;
use super::time::format_instant;
use crate::model::{LOCAL_CODES, SNOMED, VitalKind};
use crate::news2::News2;
use crate::tracker::{DEFAULT_FRESH_FOR_MS, PatientTracker};
use crate::{Measurement, SpO2Scale};
use serde_json::{Value, json};

const CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const UCUM: &str = "http://unitsofmeasure.org";

/// How far back the readings that score a NEWS2 reach (the tracker's freshness window).
pub const NEWS2_WINDOW_MS: i64 = DEFAULT_FRESH_FOR_MS;

/// The NEWS2 as of the last of `readings` (a patient's readings in time order, the last the
/// one scored), or `None` when there are none.
pub fn news2_as_of(readings: &[Measurement], scale: SpO2Scale) -> Option<News2> {
    let last = readings.last()?;
    let mut tracker = PatientTracker::default();
    tracker.set_scale(&last.patient, scale);
    readings.iter().map(|m| tracker.observe(m).news2).last()
}

fn score(value: u8) -> Value {
    json!({"value": value, "unit": "score", "system": UCUM, "code": "{score}"})
}

fn component(system: &str, code: &str, display: &str, value: u8) -> Value {
    json!({"code": {"coding": [{"system": system, "code": code, "display": display}],
                    "text": display},
           "valueQuantity": score(value)})
}

/// The NEWS2 total Observation of a stored measurement (`{row}-news2`), with one component per
/// sub-score that was scored. Without all seven parameters the total is a lower bound: a note says so.
pub fn news2_observation(recorded: &Recorded, news2: &News2, scale: SpO2Scale) -> Value {
    let m = &recorded.measurement;
    let kind = VitalKind::News2Total;
    let s = &news2.sub_scores;
    let spo2 = match scale {
        SpO2Scale::Scale1 => (
            SNOMED,
            "1104311000000102",
            "NEWS2 - oxygen saturation scale 1 score",
        ),
        SpO2Scale::Scale2 => (
            LOCAL_CODES,
            "news2-spo2-scale-2-score",
            "NEWS2 - oxygen saturation scale 2 score",
        ),
    };
    let parts = [
        (
            s.resp_rate,
            (SNOMED, "1104301000000104", "NEWS2 - respiration rate score"),
        ),
        (s.spo2, spo2),
        (
            s.air_or_oxygen,
            (SNOMED, "1104331000000105", "NEWS2 - air or oxygen score"),
        ),
        (
            s.systolic,
            (
                SNOMED,
                "1104341000000101",
                "NEWS2 - systolic blood pressure score",
            ),
        ),
        (s.pulse, (SNOMED, "1104351000000103", "NEWS2 - pulse score")),
        (
            s.consciousness,
            (SNOMED, "1104361000000100", "NEWS2 - consciousness score"),
        ),
        (
            s.temperature,
            (SNOMED, "1104371000000107", "NEWS2 - temperature score"),
        ),
    ];
    let components: Vec<Value> = parts
        .into_iter()
        .filter_map(|(value, (system, code, display))| {
            value.map(|v| component(system, code, display, v))
        })
        .collect();
    let mut obs = json!({
        "resourceType": "Observation",
        "id": super::observation_id(recorded.row_id, kind),
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "survey", "display": "Survey"}],
                      "text": "Survey"}],
        "code": {"coding": [{"system": kind.system(), "code": kind.code(), "display": kind.display()}],
                 "text": "NEWS2 total score"},
        "subject": {"reference": format!("Patient/{}", m.patient)},
        "effectiveDateTime": format_instant(m.time_ms),
        "valueQuantity": score(news2.aggregate),
        "component": components,
    });
    if !news2.complete {
        obs["note"] = json!([{"text": "A lower bound: not every NEWS2 parameter was measured in the 15 minutes before."}]);
    }
    obs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Vitals;

    fn reading(time_ms: i64, vitals: Vitals) -> Measurement {
        Measurement {
            device: "d".into(),
            patient: "p".into(),
            seq: time_ms as u64,
            time_ms,
            vitals,
        }
    }

    #[test]
    fn news2_is_scored_over_the_readings_before_it() {
        let fast_breathing = Vitals {
            resp_rate: Some(25.0),
            ..Vitals::default()
        };
        let fast_pulse = Vitals {
            heart_rate: Some(140.0),
            ..Vitals::default()
        };
        let readings = [reading(0, fast_breathing), reading(60_000, fast_pulse)];
        let news2 = news2_as_of(&readings, SpO2Scale::Scale1).unwrap();
        assert_eq!(news2.aggregate, 6, "respiration 3 + pulse 3");
        assert!(!news2.complete);
        assert!(news2_as_of(&[], SpO2Scale::Scale1).is_none());

        let recorded = Recorded {
            row_id: 4,
            measurement: readings[1].clone(),
        };
        let obs = news2_observation(&recorded, &news2, SpO2Scale::Scale1);
        assert_eq!(obs["id"], "4-news2");
        assert_eq!(obs["code"]["coding"][0]["code"], "1104051000000101");
        assert_eq!(obs["valueQuantity"]["value"], 6);
        assert_eq!(obs["component"].as_array().unwrap().len(), 2);
        assert_eq!(
            obs["component"][1]["code"]["coding"][0]["code"],
            "1104351000000103"
        );
        assert!(obs["note"].is_array(), "a lower bound says so");
    }
}
