//! `/fhir/Observation` (read, search by patient, code and date with paging) and `POST /fhir`
//! (a transaction Bundle of Observations, all or nothing). Posted Observations are stored under
//! a source of their own (never a device's sequence numbers) and scored like any measurement,
//! but no device is marked live for them, so none can raise "device offline". The NEWS2 total
//! of each measurement is scored when it is read.

use super::fhir::{
    AppState, bad, fhir_json, internal, not_found, page_params, search_params, searchset_response,
};
use super::fhir_extract::{FhirBody, FhirId, Prefer};
use super::{HttpError, lock};
use crate::now_ms;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use store::ObservationQuery;
use vitals::fhir::{self, DateBound, Page};
use vitals::{Measurement, SpO2Scale, VitalKind};

/// The kind with this code in any system the hub uses.
fn any_system(code: &str) -> Option<VitalKind> {
    [
        vitals::model::LOINC,
        vitals::model::SNOMED,
        vitals::model::LOCAL_CODES,
    ]
    .into_iter()
    .find_map(|system| VitalKind::from_code(system, code))
}

/// Builds the store query from `patient`/`subject`, `code`, `date`, `_count`, `_offset`.
/// Returns `None` when a code was asked for that no stored kind has (an empty result).
fn observation_query(params: &[(String, String)]) -> Result<Option<ObservationQuery>, HttpError> {
    let (offset, count) = page_params(params)?;
    let mut query = ObservationQuery {
        offset,
        count,
        ..ObservationQuery::default()
    };
    for (key, value) in params {
        match key.as_str() {
            "patient" | "subject" => {
                query.patient = Some(value.trim_start_matches("Patient/").to_string())
            }
            "code" => {
                let kinds: Vec<VitalKind> = value
                    .split(',')
                    .filter_map(|token| match token.split_once('|') {
                        Some(("", code)) => any_system(code),
                        Some((system, code)) => VitalKind::from_code(system, code),
                        None => any_system(token),
                    })
                    .collect();
                if kinds.is_empty() {
                    return Ok(None);
                }
                query.kinds.extend(kinds);
            }
            "date" => {
                for bound in fhir::parse_date_param(value).map_err(bad)? {
                    match bound {
                        DateBound::AtLeast(t) => {
                            query.from_ms = Some(query.from_ms.map_or(t, |f| f.max(t)))
                        }
                        DateBound::Before(t) => {
                            query.until_ms = Some(query.until_ms.map_or(t, |u| u.min(t)))
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(Some(query))
}

pub async fn search_observations(
    State(shared): AppState,
    Prefer(handling): Prefer,
    RawQuery(raw): RawQuery,
) -> Result<Response, HttpError> {
    let params = search_params(&raw, &fhir::OBSERVATION_SEARCH, handling)?;
    let (offset, count) = page_params(&params)?;
    let (total, resources) = match observation_query(&params)? {
        None => (0, Vec::new()),
        Some(query) => {
            let store = lock(&shared.store, true)?;
            let (total, hits) = store.search_observations(&query).map_err(internal)?;
            let mut resources = Vec::with_capacity(hits.len());
            for (recorded, kind) in &hits {
                resources.extend(resource_of(&store, recorded, *kind)?);
            }
            (total, resources)
        }
    };
    let page = Page {
        offset,
        count,
        total,
    };
    Ok(searchset_response(
        &shared,
        "Observation",
        &params,
        resources,
        &page,
    ))
}

pub async fn read_observation(
    State(shared): AppState,
    FhirId(id): FhirId,
) -> Result<Response, HttpError> {
    let missing = || not_found(&format!("Observation/{id}"));
    let (row, slug) = id.split_once('-').ok_or_else(missing)?;
    let row: i64 = row.parse().map_err(|_| missing())?;
    let kind = VitalKind::from_slug(slug).ok_or_else(missing)?;
    let store = lock(&shared.store, true)?;
    let recorded = store
        .measurement(row)
        .map_err(internal)?
        .ok_or_else(missing)?;
    let resource = resource_of(&store, &recorded, kind)?.ok_or_else(missing)?;
    Ok(fhir_json(StatusCode::OK, resource))
}

/// The Observation of one kind of a stored measurement; the NEWS2 total is scored as of it,
/// over the patient's readings of the window before it, on the patient's SpO2 scale.
fn resource_of(
    store: &store::Store,
    recorded: &fhir::Recorded,
    kind: VitalKind,
) -> Result<Option<Value>, HttpError> {
    if kind != VitalKind::News2Total {
        return Ok(fhir::observation(recorded, kind));
    }
    let m = &recorded.measurement;
    let since = m.time_ms.saturating_sub(fhir::NEWS2_WINDOW_MS);
    let readings: Vec<Measurement> = store
        .measurements_up_to(&m.patient, since, m.time_ms, recorded.row_id)
        .map_err(internal)?
        .into_iter()
        .map(|r| r.measurement)
        .collect();
    let scale = store
        .patient(&m.patient)
        .map_err(internal)?
        .and_then(|p| SpO2Scale::from_number(i64::from(p.spo2_scale)))
        .unwrap_or_default();
    let news2 = fhir::news2_as_of(&readings, scale);
    Ok(news2.map(|n| fhir::news2_observation(recorded, &n, scale)))
}

/// Checks one transaction entry and reads its Observation.
fn transaction_entry(index: usize, entry: &Value) -> Result<fhir::ObservationInput, HttpError> {
    let at = |m: String| bad(format!("entry {index}: {m}"));
    let method = entry["request"]["method"].as_str();
    let url = entry["request"]["url"].as_str();
    if method != Some("POST") || url != Some("Observation") {
        return Err(at(
            "only request.method POST with request.url Observation is supported".into(),
        ));
    }
    fhir::observation_from_json(&entry["resource"]).map_err(|e| at(e.to_string()))
}

pub async fn transaction(
    State(shared): AppState,
    FhirBody(bundle): FhirBody,
) -> Result<Response, HttpError> {
    if bundle["resourceType"].as_str() != Some("Bundle")
        || bundle["type"].as_str() != Some("transaction")
    {
        return Err(bad("POST /fhir takes a Bundle of type transaction"));
    }
    let entries = bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    // Validate everything before writing anything: all or nothing.
    let inputs: Vec<fhir::ObservationInput> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| transaction_entry(i, e))
        .collect::<Result<_, _>>()?;
    let mut stored = Vec::with_capacity(inputs.len());
    {
        let mut store = lock(&shared.store, true)?;
        let batch = store.begin_batch().map_err(internal)?;
        for input in inputs {
            batch.ensure_patient(&input.patient).map_err(internal)?;
            if let Some(device) = &input.device {
                batch.ensure_device(device, None).map_err(internal)?;
            }
            let m = Measurement {
                device: fhir::posted_source(input.device.as_deref()),
                patient: input.patient,
                seq: 0,
                time_ms: input.time_ms,
                vitals: input.vitals,
            };
            let row = batch.insert_unsequenced(m.clone()).map_err(internal)?;
            stored.push((row, input.kind, m));
        }
        batch.commit().map_err(internal)?;
    }
    let mut events = Vec::new();
    {
        // Scored like a device's reading, but not through `Care::measurement`: no device
        // sent it, so none is marked online (the engine skips liveness for posted sources).
        let mut care = lock(&shared.care, true)?;
        let now = now_ms();
        for (_, _, m) in &stored {
            let assessment = care.tracker.observe(m);
            care.engine.handle_assessment(&assessment, now);
        }
        care.drain_alerts(&mut events);
    }
    shared.publish_events(events);
    let locations: Vec<String> = stored
        .iter()
        .map(|(row, kind, _)| format!("Observation/{}", fhir::observation_id(*row, *kind)))
        .collect();
    Ok(fhir_json(
        StatusCode::OK,
        fhir::transaction_response(&locations),
    ))
}
