//! `/fhir`: the routes, FHIR JSON answers, search parameters and paging, the CapabilityStatement,
//! Patient (read, update, search by `_id` and `name`) and Device (read, search by `patient`).
//! Observations and transactions are in `fhir_observation`, AuditEvent in `fhir_audit`. Every error is an OperationOutcome.

use super::fhir_audit::{read_audit_event, search_audit_events};
use super::fhir_extract::{FhirBody, FhirId, Prefer, method_not_allowed};
use super::fhir_observation::{read_observation, search_observations, transaction};
use super::{HttpError, lock};
use crate::{Shared, now_ms};
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::sync::Arc;
use vitals::fhir::{self, Handling, Page};

pub type AppState = State<Arc<Shared>>;

const DEFAULT_COUNT: usize = 50;
const MAX_COUNT: usize = 1000;

pub fn routes() -> Router<Arc<Shared>> {
    let only =
        |router: axum::routing::MethodRouter<Arc<Shared>>| router.fallback(method_not_allowed);
    Router::new()
        .route("/fhir", only(post(transaction)))
        .route("/fhir/metadata", only(get(metadata)))
        .route("/fhir/Patient", only(get(search_patients)))
        .route(
            "/fhir/Patient/:id",
            only(get(read_patient).put(update_patient)),
        )
        .route("/fhir/Device", only(get(search_devices)))
        .route("/fhir/Device/:id", only(get(read_device)))
        .route("/fhir/Observation", only(get(search_observations)))
        .route("/fhir/Observation/:id", only(get(read_observation)))
        .route("/fhir/AuditEvent", only(get(search_audit_events)))
        .route("/fhir/AuditEvent/:id", only(get(read_audit_event)))
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

pub fn bad(message: impl ToString) -> HttpError {
    HttpError::fhir(StatusCode::BAD_REQUEST, message)
}

pub fn internal(e: impl ToString) -> HttpError {
    HttpError::fhir(StatusCode::INTERNAL_SERVER_ERROR, e)
}

pub fn not_found(what: &str) -> HttpError {
    HttpError::fhir(StatusCode::NOT_FOUND, format!("{what} not found"))
}

/// The search parameters a search uses, in order, repeated keys kept (`date` may appear
/// twice): those of `supported` and paging; others are ignored, or refused under `strict`.
pub fn search_params(
    raw: &Option<String>,
    supported: &[&str],
    handling: Handling,
) -> Result<Vec<(String, String)>, HttpError> {
    let all: Vec<(String, String)> = raw
        .as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    fhir::supported_params(&all, supported, handling).map_err(bad)
}

/// `(offset, count)` from `_offset` and `_count` (default 50, at most 1000).
pub fn page_params(params: &[(String, String)]) -> Result<(usize, usize), HttpError> {
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
        .filter(|(k, _)| !fhir::PAGING.contains(&k.as_str()))
        .collect();
    if kept.is_empty() {
        return format!("{base}/{resource}");
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    format!("{base}/{resource}?{query}")
}

/// A searchset Bundle response for `resource`; its links show the parameters used (`params`).
pub fn searchset_response(
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

/// Whether a patient matches every `_id` and `name` parameter (each a comma-separated list).
fn patient_matches(row: &store::PatientRow, params: &[(String, String)]) -> bool {
    params.iter().all(|(key, value)| match key.as_str() {
        "_id" => value.split(',').any(|id| id == row.id),
        "name" => fhir::name_param_matches(row.name.as_deref(), value),
        _ => true,
    })
}

async fn search_patients(
    State(shared): AppState,
    Prefer(handling): Prefer,
    RawQuery(raw): RawQuery,
) -> Result<Response, HttpError> {
    let params = search_params(&raw, &fhir::PATIENT_SEARCH, handling)?;
    let (offset, count) = page_params(&params)?;
    let (_, rows) = lock(&shared.store, true)?
        .patients(0, usize::MAX >> 1)
        .map_err(internal)?;
    let matching: Vec<&store::PatientRow> = rows
        .iter()
        .filter(|r| patient_matches(r, &params))
        .collect();
    let total = matching.len();
    let resources = matching
        .into_iter()
        .skip(offset)
        .take(count)
        .map(patient_json)
        .collect();
    let page = Page {
        offset,
        count,
        total,
    };
    Ok(searchset_response(
        &shared, "Patient", &params, resources, &page,
    ))
}

async fn read_patient(State(shared): AppState, FhirId(id): FhirId) -> Result<Response, HttpError> {
    let row = lock(&shared.store, true)?.patient(&id).map_err(internal)?;
    let row = row.ok_or_else(|| not_found(&format!("Patient/{id}")))?;
    Ok(fhir_json(StatusCode::OK, patient_json(&row)))
}

async fn update_patient(
    State(shared): AppState,
    FhirId(id): FhirId,
    FhirBody(body): FhirBody,
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
    Prefer(handling): Prefer,
    RawQuery(raw): RawQuery,
) -> Result<Response, HttpError> {
    let params = search_params(&raw, &fhir::DEVICE_SEARCH, handling)?;
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

async fn read_device(State(shared): AppState, FhirId(id): FhirId) -> Result<Response, HttpError> {
    let row = lock(&shared.store, true)?.device(&id).map_err(internal)?;
    let row = row.ok_or_else(|| not_found(&format!("Device/{id}")))?;
    Ok(fhir_json(StatusCode::OK, device_json(&shared, &row)))
}
