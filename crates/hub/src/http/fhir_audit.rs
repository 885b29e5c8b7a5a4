//! `/fhir/AuditEvent`: the audit trail as FHIR R4 AuditEvent resources (read by seq, and a paged
//! search in seq order). The agent is the signed-in person or token (`altId`: how they proved
//! it, `user:<name>` or `token:<id>`).

use super::fhir::searchset_response;
use super::fhir::{AppState, fhir_json, internal, not_found, page_params, search_params};
use super::fhir_extract::{FhirId, Prefer};
use super::{HttpError, lock};
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use store::AuditRow;
use vitals::fhir::{self, Page};

/// One audit row as an AuditEvent: `rest` event, subtype the action, the actor as the
/// requesting agent, the alert or patient as the entity, the chain fields as entity details.
pub fn audit_event(row: &AuditRow) -> Value {
    let mut agent = json!({
        "requestor": true,
        "who": {"display": row.actor},
        "name": row.actor,
    });
    if let Some(account) = &row.account {
        agent["altId"] = json!(account);
    }
    let what = match row.entity_type.as_str() {
        "patient" => json!({"reference": format!("Patient/{}", row.entity)}),
        other => json!({
            "identifier": {"system": format!("urn:medlink:{other}"), "value": row.entity},
            "display": format!("{other} {}", row.entity),
        }),
    };
    let outcome = if row.outcome.starts_with("success") {
        "0"
    } else {
        "4"
    };
    let detail = |kind: &str, value: &str| json!({"type": kind, "valueString": value});
    json!({
        "resourceType": "AuditEvent",
        "id": row.seq.to_string(),
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{"system": "urn:medlink:audit-action", "code": row.action}],
        "action": "U",
        "recorded": fhir::format_instant(row.at_ms),
        "outcome": outcome,
        "outcomeDesc": row.outcome,
        "agent": [agent],
        "source": {
            "observer": {"display": "medlink hub"},
            "type": [{
                "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                "code": "4",
                "display": "Application Server",
            }],
        },
        "entity": [{
            "what": what,
            "detail": [
                detail("seq", &row.seq.to_string()),
                detail("prev_hash", &row.prev_hash),
                detail("hash", &row.hash),
            ],
        }],
    })
}

pub async fn search_audit_events(
    axum::extract::State(shared): AppState,
    Prefer(handling): Prefer,
    RawQuery(raw): RawQuery,
) -> Result<Response, HttpError> {
    let params = search_params(&raw, &fhir::AUDIT_EVENT_SEARCH, handling)?;
    let (offset, count) = page_params(&params)?;
    let (total, rows) = {
        let care = lock(&shared.care, true)?;
        match care.journal() {
            Some(journal) => (
                journal.audit_count().map_err(internal)? as usize,
                journal.audit_page(offset, count).map_err(internal)?,
            ),
            None => (0, Vec::new()),
        }
    };
    let resources = rows.iter().map(audit_event).collect();
    let page = Page {
        offset,
        count,
        total,
    };
    Ok(searchset_response(
        &shared,
        "AuditEvent",
        &params,
        resources,
        &page,
    ))
}

pub async fn read_audit_event(
    axum::extract::State(shared): AppState,
    FhirId(id): FhirId,
) -> Result<Response, HttpError> {
    // Ids are seq numbers; any other id names no AuditEvent.
    let Ok(seq) = id.parse::<u64>() else {
        return Err(not_found(&format!("AuditEvent/{id}")));
    };
    let row = {
        let care = lock(&shared.care, true)?;
        match care.journal() {
            Some(journal) => journal.audit_row(seq).map_err(internal)?,
            None => None,
        }
    };
    let row = row.ok_or_else(|| not_found(&format!("AuditEvent/{id}")))?;
    Ok(fhir_json(StatusCode::OK, audit_event(&row)))
}
