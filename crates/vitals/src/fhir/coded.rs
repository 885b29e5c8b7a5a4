//! The coded NEWS2 parameters as Observations: consciousness (ACVPU) and air or oxygen. Their
//! codes are not in the vital-signs profile: ACVPU is SNOMED CT 1104441000000107 with category
//! `survey`, as the NHS NEWS2 examples code it; no verified code was found for "air or oxygen",
//! so it has a local code, and its value codes room air as SNOMED CT 722742002.

use crate::model::{Acvpu, LOCAL_CODES, SNOMED, VitalKind, Vitals};
use serde_json::{Value, json};

const CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
/// Local code system for the ACVPU letters.
const ACVPU_CODES: &str = "urn:medlink:fhir:acvpu";

fn acvpu_display(level: Acvpu) -> &'static str {
    match level {
        Acvpu::Alert => "Alert",
        Acvpu::Confusion => "New confusion",
        Acvpu::Voice => "Responds to voice",
        Acvpu::Pain => "Responds to pain",
        Acvpu::Unresponsive => "Unresponsive",
    }
}

/// The category of a coded parameter's Observation, if it has one.
pub fn category(kind: VitalKind) -> Option<Value> {
    (kind == VitalKind::Consciousness).then(|| {
        json!([{"coding": [{"system": CATEGORY, "code": "survey", "display": "Survey"}],
                "text": "Survey"}])
    })
}

/// The `valueCodeableConcept` of a coded parameter, if `vitals` carries it.
pub fn value(kind: VitalKind, vitals: &Vitals) -> Option<Value> {
    match kind {
        VitalKind::Consciousness => vitals.consciousness.map(|level| {
            let display = acvpu_display(level);
            json!({"coding": [{"system": ACVPU_CODES, "code": level.letter(), "display": display}],
                   "text": display})
        }),
        VitalKind::AirOrOxygen => vitals.on_oxygen.map(|on_oxygen| {
            if on_oxygen {
                json!({"coding": [{"system": LOCAL_CODES, "code": "oxygen",
                                   "display": "Supplemental oxygen"}],
                       "text": "Supplemental oxygen"})
            } else {
                json!({"coding": [{"system": SNOMED, "code": "722742002",
                                   "display": "Breathing room air"}],
                       "text": "Air"})
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acvpu_and_air_or_oxygen_are_coded() {
        let vitals = Vitals {
            consciousness: Some(Acvpu::Voice),
            on_oxygen: Some(false),
            ..Vitals::default()
        };
        let acvpu = value(VitalKind::Consciousness, &vitals).unwrap();
        assert_eq!(acvpu["coding"][0]["code"], "V");
        let air = value(VitalKind::AirOrOxygen, &vitals).unwrap();
        assert_eq!(air["coding"][0]["code"], "722742002");
        assert!(value(VitalKind::HeartRate, &vitals).is_none());
        assert!(category(VitalKind::Consciousness).is_some());
    }
}
