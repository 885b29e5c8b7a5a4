//! `/api`: alerts (list, acknowledge, snooze, escalate), patients and SpO2 scale, devices, incoming
//! ambulances, the audit trail, the server-sent event stream, `/metrics` and `/health`.
//! Every alert action and scale change is made as the caller the guard found (the session's
//! account or the token's name; a `by` in the body is ignored) and appended to the audit trail
//! before it is answered.

use super::{HttpError, lock};
use crate::auth::Principal;
use crate::{Shared, now_ms};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use store::{ActionKind, audit};
use tokio::sync::broadcast::error::RecvError;
use vitals::SpO2Scale;
use vitals::alerts::Alert;
use vitals::tracker::DEFAULT_FRESH_FOR_MS;

type AppState = State<Arc<Shared>>;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/api/alerts", get(list_alerts))
        .route("/api/alerts/:id/ack", post(acknowledge))
        .route("/api/alerts/:id/snooze", post(snooze))
        .route("/api/alerts/:id/escalate", post(escalate))
        .route("/api/patients", get(patients))
        .route("/api/patients/:id/spo2-scale", put(set_scale))
        .route("/api/devices", get(devices))
        .route("/api/incoming", get(incoming))
        .route("/api/events", get(events))
        .route("/api/audit", get(audit_rows))
}

#[derive(Deserialize)]
struct AuditPage {
    #[serde(default)]
    offset: usize,
    count: Option<usize>,
}

/// The audit trail, oldest first, `count` (default 50, at most 1000) rows from `offset`.
async fn audit_rows(
    State(shared): AppState,
    Query(page): Query<AuditPage>,
) -> Result<Json<Value>, HttpError> {
    let count = page.count.unwrap_or(50).min(1000);
    let care = lock(&shared.care, false)?;
    let internal = |e: store::StoreError| HttpError::api(StatusCode::INTERNAL_SERVER_ERROR, e);
    let Some(journal) = care.journal() else {
        return Ok(Json(json!({ "total": 0, "rows": [] })));
    };
    let total = journal.audit_count().map_err(internal)?;
    let rows = journal.audit_page(page.offset, count).map_err(internal)?;
    Ok(Json(json!({ "total": total, "rows": rows })))
}

/// The answer when the action was taken but could not be written to the audit trail.
fn not_audited(e: store::StoreError) -> HttpError {
    let message = format!("the action was taken but not recorded in the audit trail: {e}");
    HttpError::api(StatusCode::INTERNAL_SERVER_ERROR, message)
}

async fn metrics(State(shared): AppState) -> Result<String, HttpError> {
    let (active, online) = {
        let care = lock(&shared.care, false)?;
        (care.engine.active().len(), care.devices_online())
    };
    let mut text = shared.metrics.render(active, online);
    if let Some(cluster) = &shared.cluster {
        text.push_str(&cluster.render_metrics(crate::now_ms()));
    }
    Ok(text)
}

#[derive(Deserialize)]
struct AlertFilter {
    state: Option<String>,
}

/// The ward's alerts (among several hubs: every hub's, from the shared journal).
async fn list_alerts(
    State(shared): AppState,
    Query(filter): Query<AlertFilter>,
) -> Result<Json<Vec<Alert>>, HttpError> {
    let state = filter.state.as_deref().unwrap_or("active");
    super::ward::alerts(&shared, state).map(Json)
}

#[derive(Deserialize)]
struct SnoozeLength {
    /// Snooze length in minutes.
    minutes: Option<i64>,
}

fn alert_error(e: vitals::alerts::AlertError) -> HttpError {
    let status = match e {
        vitals::alerts::AlertError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    HttpError::api(status, e)
}

/// Runs an alert command by `caller`, audits it (refused, or done: in the same journal transaction
/// as the alert change), pushes its events, and answers with the alert.
fn alert_command(
    shared: &Shared,
    id: u64,
    caller: &Principal,
    kind: ActionKind,
) -> Result<Json<Alert>, HttpError> {
    let action = crate::care::audit_name(kind);
    let mut events = Vec::new();
    let alert = {
        let mut care = lock(&shared.care, false)?;
        let entity = id.to_string();
        let entity = ("alert", entity.as_str());
        if let Err(e) = crate::care::act(&mut care.engine, kind, id, &caller.name, now_ms()) {
            let refused = caller.audit(now_ms(), action, entity, format!("refused: {e}"));
            care.audit(refused).map_err(not_audited)?;
            return Err(alert_error(e));
        }
        let done = caller.audit(now_ms(), action, entity, "success");
        if let Err(e) = care.drain_alerts_audited(&mut events, done) {
            drop(care);
            shared.publish_events(events);
            if let store::StoreError::NotOwner { .. } = e {
                // Taken over by another hub between the check and the commit: nothing was.
                let message = format!(
                    "alert {id}'s patient was just taken over by another hub: the action was not \
                     taken; send it again"
                );
                return Err(HttpError::api(StatusCode::SERVICE_UNAVAILABLE, message));
            }
            return Err(not_audited(e));
        }
        care.engine.get(id).cloned()
    };
    shared.publish_events(events);
    alert
        .map(Json)
        .ok_or_else(|| HttpError::api(StatusCode::NOT_FOUND, format!("no alert {id}")))
}

/// An action on alert `id` by `caller`: taken here (see [`alert_command`]), or, among several
/// hubs when another hub owns the alert's patient, queued for that hub and answered once it has
/// applied it ([`super::ward::queue_for_owner`]).
async fn alert_action(
    shared: &Shared,
    id: u64,
    caller: &Principal,
    kind: ActionKind,
) -> Result<Response, HttpError> {
    if let Some(patient) = super::ward::owned_elsewhere(shared, id)? {
        return super::ward::queue_for_owner(shared, (id, patient), caller, kind).await;
    }
    alert_command(shared, id, caller, kind).map(IntoResponse::into_response)
}

/// Acknowledges alert `id` as the caller (any body is ignored).
async fn acknowledge(
    State(shared): AppState,
    Extension(caller): Extension<Principal>,
    Path(id): Path<u64>,
) -> Result<Response, HttpError> {
    alert_action(&shared, id, &caller, ActionKind::Acknowledge).await
}

/// Snoozes alert `id` for `{"minutes": n}` as the caller.
async fn snooze(
    State(shared): AppState,
    Extension(caller): Extension<Principal>,
    Path(id): Path<u64>,
    Json(length): Json<SnoozeLength>,
) -> Result<Response, HttpError> {
    let minutes = length
        .minutes
        .ok_or_else(|| HttpError::api(StatusCode::BAD_REQUEST, "minutes is required"))?;
    let for_ms = minutes.saturating_mul(60_000);
    alert_action(&shared, id, &caller, ActionKind::Snooze(for_ms)).await
}

/// Pages the next role of alert `id`'s escalation chain now, as the caller (any body is ignored).
async fn escalate(
    State(shared): AppState,
    Extension(caller): Extension<Principal>,
    Path(id): Path<u64>,
) -> Result<Response, HttpError> {
    alert_action(&shared, id, &caller, ActionKind::Escalate).await
}

/// Every patient with latest vitals and NEWS2 (among several hubs: every hub's, scored from
/// the shared store's readings of the last [`DEFAULT_FRESH_FOR_MS`]).
async fn patients(State(shared): AppState) -> Result<Json<Value>, HttpError> {
    let internal = |e: store::StoreError| HttpError::api(StatusCode::INTERNAL_SERVER_ERROR, e);
    let (readings, scale2) = match shared.cluster {
        None => (Vec::new(), Vec::new()),
        Some(_) => {
            let store = lock(&shared.store, false)?;
            let since = now_ms() - DEFAULT_FRESH_FOR_MS;
            let readings = store.measurements_since(since).map_err(internal)?;
            let (_, rows) = store.patients(0, usize::MAX >> 1).map_err(internal)?;
            let scale2: Vec<String> = rows
                .into_iter()
                .filter(|p| p.spo2_scale == 2)
                .map(|p| p.id)
                .collect();
            (readings, scale2)
        }
    };
    let scale2: Vec<&str> = scale2.iter().map(String::as_str).collect();
    let list = super::ward::patients(&shared, &readings, &scale2)?;
    Ok(Json(json!(list)))
}

#[derive(Deserialize)]
struct ScaleChange {
    scale: i64,
}

/// Puts patient `id` on SpO2 scale `{"scale": 1 | 2}` as the caller.
async fn set_scale(
    State(shared): AppState,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
    Json(change): Json<ScaleChange>,
) -> Result<Json<Value>, HttpError> {
    let bad = |m: String| HttpError::api(StatusCode::BAD_REQUEST, m);
    vitals::payload::validate_id("patient", &id).map_err(|e| bad(e.to_string()))?;
    let scale = SpO2Scale::from_number(change.scale)
        .ok_or_else(|| bad(format!("scale must be 1 or 2, not {}", change.scale)))?;
    let by = caller.name.as_str();
    lock(&shared.store, false)?
        .set_spo2_scale(&id, scale.number(), by, now_ms())
        .map_err(|e| HttpError::api(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    {
        let mut care = lock(&shared.care, false)?;
        care.tracker.set_scale(&id, scale);
        let outcome = format!("success: scale {}", scale.number());
        let action = audit::action::SPO2_SCALE_CHANGED;
        care.audit(caller.audit(now_ms(), action, ("patient", &id), outcome))
            .map_err(not_audited)?;
    }
    tracing::info!(patient = %id, scale = scale.number(), by = %by, "SpO2 scale changed");
    Ok(Json(
        json!({ "patient": id, "scale": scale.number(), "by": by }),
    ))
}

async fn devices(State(shared): AppState) -> Result<Json<Value>, HttpError> {
    let care = lock(&shared.care, false)?;
    Ok(Json(json!(care.devices)))
}

async fn incoming(State(shared): AppState) -> Result<Json<Value>, HttpError> {
    let care = lock(&shared.care, false)?;
    Ok(Json(json!(care.incoming())))
}

async fn events(
    State(shared): AppState,
    Extension(caller): Extension<Principal>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = shared.events.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(event) => Event::default()
                .event("hub")
                .json_data(&event)
                .unwrap_or_else(|_| Event::default().comment("unserialisable event")),
            Err(RecvError::Lagged(n)) => Event::default().event("lagged").data(n.to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), rx))
    });
    let stream = super::stream_guard::while_signed_in(shared, caller, stream);
    Sse::new(stream).keep_alive(KeepAlive::default())
}
