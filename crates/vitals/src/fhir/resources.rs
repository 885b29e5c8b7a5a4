//! Patient, Device, searchset and transaction-response Bundles, CapabilityStatement, OperationOutcome.

use serde_json::{Value, json};

/// The NEWS2 SpO2 scale travels as an extension on Patient.
pub const SPO2_SCALE_EXTENSION: &str = "urn:medlink:fhir:spo2-scale";

/// A Patient resource; the hub knows patients by id (and optionally a name).
pub fn patient_resource(id: &str, name: Option<&str>, spo2_scale: u8) -> Value {
    let mut patient = json!({
        "resourceType": "Patient",
        "id": id,
        "active": true,
        "extension": [{"url": SPO2_SCALE_EXTENSION, "valueInteger": spo2_scale}],
    });
    if let Some(name) = name {
        patient["name"] = json!([{"text": name}]);
    }
    patient
}

/// A Device resource: a wearable or ambulance monitor, linked to its patient when known.
pub fn device_resource(id: &str, patient: Option<&str>, online: bool) -> Value {
    let mut device = json!({
        "resourceType": "Device",
        "id": id,
        "status": if online { "active" } else { "inactive" },
        "identifier": [{"system": "urn:medlink:device", "value": id}],
    });
    if let Some(patient) = patient {
        device["patient"] = json!({"reference": format!("Patient/{patient}")});
    }
    device
}

/// One page of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub offset: usize,
    pub count: usize,
    pub total: usize,
}

/// A searchset Bundle with `total`, `self` / `next` / `previous` links and match entries.
/// `search_url` is the search without `_offset` / `_count`, e.g. `http://h/fhir/Observation?patient=p1`.
pub fn searchset(base: &str, search_url: &str, resources: Vec<Value>, page: &Page) -> Value {
    let join = if search_url.contains('?') { '&' } else { '?' };
    let link = |relation: &str, offset: usize| {
        json!({"relation": relation,
               "url": format!("{search_url}{join}_count={}&_offset={offset}", page.count)})
    };
    let mut links = vec![link("self", page.offset)];
    if page.offset + page.count < page.total {
        links.push(link("next", page.offset + page.count));
    }
    if page.offset > 0 {
        links.push(link("previous", page.offset.saturating_sub(page.count)));
    }
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|resource| {
            let full_url = format!(
                "{base}/{}/{}",
                resource["resourceType"].as_str().unwrap_or_default(),
                resource["id"].as_str().unwrap_or_default()
            );
            json!({"fullUrl": full_url, "resource": resource, "search": {"mode": "match"}})
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "searchset", "total": page.total,
           "link": links, "entry": entries})
}

/// A transaction-response Bundle: one `201 Created` entry per created resource, in request
/// order. Locations name the resource only (`Observation/42-hr`): the hub keeps no versions.
pub fn transaction_response(locations: &[String]) -> Value {
    let entries: Vec<Value> = locations
        .iter()
        .map(|location| json!({"response": {"status": "201 Created", "location": location}}))
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction-response", "entry": entries})
}

/// An OperationOutcome with one issue.
pub fn operation_outcome(severity: &str, code: &str, diagnostics: &str) -> Value {
    json!({"resourceType": "OperationOutcome",
           "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}]})
}

/// Search parameters of each resource type the hub serves (paging, `_count` and `_offset`, on all).
pub const PATIENT_SEARCH: [&str; 2] = ["_id", "name"];
pub const DEVICE_SEARCH: [&str; 1] = ["patient"];
pub const OBSERVATION_SEARCH: [&str; 4] = ["patient", "subject", "code", "date"];
/// AuditEvent is paged through in order; no search parameters besides paging.
pub const AUDIT_EVENT_SEARCH: [&str; 0] = [];

/// The server's CapabilityStatement (FHIR 4.0.1, JSON only): exactly the interactions and search
/// parameters the hub serves; no versions are kept, so no history is offered.
pub fn capability_statement(base: &str, date: &str) -> Value {
    let search = |name: &str, kind: &str| json!({"name": name, "type": kind});
    let paging = || [search("_count", "number"), search("_offset", "number")];
    let interactions =
        |codes: &[&str]| -> Value { codes.iter().map(|code| json!({"code": code})).collect() };
    let with_paging = |mut params: Vec<Value>| {
        params.extend(paging());
        Value::Array(params)
    };
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "kind": "instance",
        "software": {"name": "medlink hub", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "medlink care hub", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "interaction": interactions(&["transaction"]),
            "resource": [
                {"type": "Patient",
                 "interaction": interactions(&["read", "search-type", "update"]),
                 "versioning": "no-version", "readHistory": false, "updateCreate": true,
                 "searchParam": with_paging(vec![search("_id", "token"), search("name", "string")])},
                {"type": "Device",
                 "interaction": interactions(&["read", "search-type"]),
                 "versioning": "no-version", "readHistory": false,
                 "searchParam": with_paging(vec![search("patient", "reference")])},
                {"type": "Observation",
                 "supportedProfile": [
                     "http://hl7.org/fhir/StructureDefinition/heartrate",
                     "http://hl7.org/fhir/StructureDefinition/resprate",
                     "http://hl7.org/fhir/StructureDefinition/oxygensat",
                     "http://hl7.org/fhir/StructureDefinition/bodytemp",
                     "http://hl7.org/fhir/StructureDefinition/bp"],
                 "interaction": interactions(&["read", "search-type"]),
                 "versioning": "no-version", "readHistory": false,
                 "searchParam": with_paging(vec![search("patient", "reference"),
                     search("subject", "reference"), search("code", "token"),
                     search("date", "date")])},
                {"type": "AuditEvent",
                 "interaction": interactions(&["read", "search-type"]),
                 "versioning": "no-version", "readHistory": false,
                 "searchParam": with_paging(vec![])}
            ]
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_statement_lists_each_served_search_parameter_and_no_create() {
        let cs = capability_statement("http://h/fhir", "2026-12-03");
        let resources = cs["rest"][0]["resource"].as_array().unwrap();
        for (resource, own) in [
            ("Patient", &PATIENT_SEARCH[..]),
            ("Device", &DEVICE_SEARCH[..]),
            ("Observation", &OBSERVATION_SEARCH[..]),
            ("AuditEvent", &AUDIT_EVENT_SEARCH[..]),
        ] {
            let entry = resources.iter().find(|r| r["type"] == resource).unwrap();
            let names: Vec<&str> = entry["searchParam"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p["name"].as_str())
                .collect();
            let mut expected = own.to_vec();
            expected.extend(super::super::search::PAGING);
            assert_eq!(names, expected, "{resource}");
            let codes = entry["interaction"].to_string();
            assert!(
                !codes.contains("create") && !codes.contains("history"),
                "{codes}"
            );
        }
    }

    #[test]
    fn transaction_response_offers_no_history() {
        let bundle = transaction_response(&["Observation/1-hr".to_string()]);
        let response = &bundle["entry"][0]["response"];
        assert_eq!(response["location"], "Observation/1-hr");
        assert!(response.get("etag").is_none());
    }
}
