//! `/fhir`: FHIR R4 Patient, Device and Observation (read, search with paging), transaction
//! Bundles of Observations (all or nothing) and the CapabilityStatement.

use super::{HttpError, lock};
use crate::{Shared, now_ms};
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use std::sync::Arc;
use store::ObservationQuery;
use vitals::fhir::{self, DateBound, Page};
use vitals::{Measurement, VitalKind};

type AppState = State<Arc<Shared>>;

const DEFAULT_COUNT: usize = 50;
const MAX_COUNT: usize = 1000;
/// Device id recorded for Observations posted without a device reference.
const API_DEVICE: &str = "fhir-api";

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/fhir", axum::routing::post(transaction))
        .route("/fhir/metadata", get(metadata))
        .route("/fhir/Patient", get(search_patients))
        .route("/fhir/Patient/:id", get(read_patient).put(update_patient))
        .route("/fhir/Device", get(search_devices))
        .route("/fhir/Device/:id", get(read_device))
        .route("/fhir/Observation", get(search_observations))
        .route("/fhir/Observation/:id", get(read_observation))
}

/// A FHIR JSON response.
pub fn fhir_json(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/fhir+json")],
        body.to_string(),
    )
        .into_response()
}

fn bad(message: impl ToString) -> HttpError {
    HttpError::fhir(StatusCode::BAD_REQUEST, message)
}

fn internal(e: impl ToString) -> HttpError {
    HttpError::fhir(StatusCode::INTERNAL_SERVER_ERROR, e)
}

fn not_found(what: &str) -> HttpError {
    HttpError::fhir(StatusCode::NOT_FOUND, format!("{what} not found"))
}

/// Query parameters in order, repeated keys kept (`date` may appear twice).
fn params(raw: &Option<String>) -> Vec<(String, String)> {
    raw.as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn page_params(params: &[(String, String)]) -> Result<(usize, usize), HttpError> {
    let mut count = DEFAULT_COUNT;
    let mut offset = 0;
    for (key, value) in params {
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| bad(format!("{key}={value}")))
        };
        match key.as_str() {
            "_count" => count = number()?.min(MAX_COUNT),
            "_offset" => offset = number()?,
            _ => {}
        }
    }
    Ok((offset, count))
}

/// The search URL without paging parameters, for the Bundle links.
fn search_url(base: &str, resource: &str, params: &[(String, String)]) -> String {
    let kept: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "_count" && k != "_offset")
        .collect();
    if kept.is_empty() {
        return format!("{base}/{resource}");
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    format!("{base}/{resource}?{query}")
}

/// A searchset Bundle response for `resource` with paging links built from `params`.
fn searchset_response(
    shared: &Shared,
    resource: &str,
    params: &[(String, String)],
    resources: Vec<Value>,
    page: &Page,
) -> Response {
    let url = search_url(&shared.fhir_base, resource, params);
    let bundle = fhir::searchset(&shared.fhir_base, &url, resources, page);
    fhir_json(StatusCode::OK, bundle)
}

async fn metadata(State(shared): AppState) -> Response {
    let date = fhir::format_instant(now_ms());
    fhir_json(
        StatusCode::OK,
        fhir::capability_statement(&shared.fhir_base, &date),
    )
}

fn patient_json(row: &store::PatientRow) -> Value {
    fhir::patient_resource(&row.id, row.name.as_deref(), row.spo2_scale)
}

async fn search_patients(
    State(shared): AppState,
    RawQuery(raw): RawQuery,
) -> Result<Response, HttpError> {
    let params = params(&raw);
    let (offset, count) = page_params(&params)?;
    let store = lock(&shared.store, true)?;
    let id = params
        .iter()
        .find(|(k, _)| k == "_id")
        .map(|(_, v)| v.clone());
    let (total, rows) = match id {
        Some(id) => {
            let row = store.patient(&id).map_err(internal)?;
            (
                row.iter().count(),
                row.into_iter().skip(offset).take(count).collect(),
            )
        }
        None => store.patients(offset, count).map_err(internal)?,
    };
    let resources = rows.iter().map(patient_json).collect();
    let page = Page {
        offset,
        count,
        total,
    };
    Ok(searchset_response(
        &shared, "Patient", &params, resources, &page,
    ))
}

async fn read_patient(
    State(shared): AppState,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let row = lock(&shared.store, true)?.patient(&id).map_err(internal)?;
    let row = row.ok_or_else(|| not_found(&format!("Patient/{id}")))?;
    Ok(fhir_json(StatusCode::OK, patient_json(&row)))
}

async fn update_patient(
    State(shared): AppState,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, HttpError> {
    vitals::payload::validate_id("patient", &id).map_err(bad)?;
    if body["resourceType"].as_str() != Some("Patient") {
        return Err(bad("resourceType must be Patient"));
    }
    if body
        .get("id")
        .is_some_and(|v| v.as_str() != Some(id.as_str()))
    {
        return Err(bad("id in the body must match the URL"));
    }
    let name = body["name"][0]["text"].as_str().map(str::to_string);
    let store = lock(&shared.store, true)?;
    store.put_patient(&id, name.as_deref()).map_err(internal)?;
    let row = store
        .patient(&id)
        .map_err(internal)?
        .ok_or_else(|| not_found(&id))?;
    Ok(fhir_json(StatusCode::OK, patient_json(&row)))
}

fn device_json(shared: &Shared, row: &store::DeviceRow) -> Value {
    let online = shared
        .care
        .lock()
        .map(|care| care.devices.get(&row.id).is_some_and(|d| d.online))
        .unwrap_or(false);
    fhir::device_resource(&row.id, row.patient.as_deref(), online)
}

async fn search_devices(
    State(shared): AppState,
    RawQuery(raw): RawQuery,
) -> Result<Response, HttpError> {
    let params = params(&raw);
    let (offset, count) = page_params(&params)?;
    let patient = params
        .iter()
        .find(|(k, _)| k == "patient")
        .map(|(_, v)| v.trim_start_matches("Patient/").to_string());
    let (total, rows) = lock(&shared.store, true)?
        .devices(patient.as_deref(), offset, count)
        .map_err(internal)?;
    let resources = rows.iter().map(|r| device_json(&shared, r)).collect();
    let page = Page {
        offset,
        count,
        total,
    };
    Ok(searchset_response(
        &shared, "Device", &params, resources, &page,
    ))
}

async fn read_device(
    State(shared): AppState,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let row = lock(&shared.store, true)?.device(&id).map_err(internal)?;
    let row = row.ok_or_else(|| not_found(&format!("Device/{id}")))?;
    Ok(fhir_json(StatusCode::OK, device_json(&shared, &row)))
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
                        Some((system, code))
                            if system.is_empty() || system == "http://loinc.org" =>
                        {
                            VitalKind::from_loinc(code)
                        }
                        Some(_) => None,
                        None => VitalKind::from_loinc(token),
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
            "_count" | "_offset" => {}
            other => return Err(bad(format!("unsupported search parameter {other:?}"))),
        }
    }
    Ok(Some(query))
}

async fn search_observations(
    State(shared): AppState,
    RawQuery(raw): RawQuery,
) -> Result<Response, HttpError> {
    let params = params(&raw);
    let (offset, count) = page_params(&params)?;
    let (total, resources) = match observation_query(&params)? {
        None => (0, Vec::new()),
        Some(query) => {
            let (total, hits) = lock(&shared.store, true)?
                .search_observations(&query)
                .map_err(internal)?;
            let resources = hits
                .iter()
                .filter_map(|(recorded, kind)| fhir::observation(recorded, *kind))
                .collect();
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

async fn read_observation(
    State(shared): AppState,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let missing = || not_found(&format!("Observation/{id}"));
    let (row, slug) = id.split_once('-').ok_or_else(missing)?;
    let row: i64 = row.parse().map_err(|_| missing())?;
    let kind = VitalKind::from_slug(slug).ok_or_else(missing)?;
    let recorded = lock(&shared.store, true)?
        .measurement(row)
        .map_err(internal)?;
    let resource = recorded
        .as_ref()
        .and_then(|r| fhir::observation(r, kind))
        .ok_or_else(missing)?;
    Ok(fhir_json(StatusCode::OK, resource))
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

async fn transaction(
    State(shared): AppState,
    Json(bundle): Json<Value>,
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
            let device = input.device.unwrap_or_else(|| API_DEVICE.to_string());
            batch.ensure_patient(&input.patient).map_err(internal)?;
            batch.ensure_device(&device, None).map_err(internal)?;
            let m = Measurement {
                device,
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
        let mut care = lock(&shared.care, true)?;
        let now = now_ms();
        for (_, _, m) in &stored {
            care.measurement(m, now, &mut events);
        }
        care.drain_alerts(&mut events);
    }
    shared.publish_events(events);
    let locations: Vec<String> = stored
        .iter()
        .map(|(row, kind, _)| format!("Observation/{row}-{}/_history/1", kind.slug()))
        .collect();
    Ok(fhir_json(
        StatusCode::OK,
        fhir::transaction_response(&locations),
    ))
}
