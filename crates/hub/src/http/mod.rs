//! The hub's HTTP surface: `/api/...` (alerts, patients, incoming ambulances, events),
//! `/fhir/...` (FHIR R4), `/metrics`, sign-in (`/login`, `/auth/...`), every route behind the
//! guard (`guard.rs`), served over TLS when the hub has a certificate (`tls.rs`).

mod api;
mod dashboard;
mod dashboard_feed;
mod dashboard_history;
mod fhir;
mod fhir_audit;
mod fhir_extract;
mod fhir_observation;
mod guard;
mod sign_in;
mod stream_guard;
pub mod tls;
mod ward;

use crate::Shared;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Builds the router. A path nobody serves answers 404: an OperationOutcome under `/fhir`.
pub fn router(shared: Arc<Shared>) -> Router {
    api::routes()
        .merge(fhir::routes())
        .merge(dashboard::routes())
        .merge(sign_in::routes())
        .fallback(unknown_path)
        // Every route, and the fallback, behind the guard (auth::access says what each needs).
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            guard::guard,
        ))
        .with_state(shared)
}

async fn unknown_path(uri: axum::http::Uri) -> HttpError {
    let path = uri.path();
    let message = format!("nothing is served at {path}");
    if path == "/fhir" || path.starts_with("/fhir/") {
        HttpError::fhir(StatusCode::NOT_FOUND, message)
    } else {
        HttpError::api(StatusCode::NOT_FOUND, message)
    }
}

/// An error answer: JSON `{"error": ...}` on `/api`, an OperationOutcome on `/fhir`.
#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    message: String,
    fhir: bool,
}

impl HttpError {
    /// An error answered as an OperationOutcome if `fhir`, else as JSON.
    pub fn new(status: StatusCode, message: impl ToString, fhir: bool) -> Self {
        HttpError {
            status,
            message: message.to_string(),
            fhir,
        }
    }

    pub fn api(status: StatusCode, message: impl ToString) -> Self {
        HttpError {
            status,
            message: message.to_string(),
            fhir: false,
        }
    }

    pub fn fhir(status: StatusCode, message: impl ToString) -> Self {
        HttpError {
            status,
            message: message.to_string(),
            fhir: true,
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        if self.fhir {
            let code = match self.status {
                StatusCode::NOT_FOUND => "not-found",
                StatusCode::UNAUTHORIZED => "login",
                StatusCode::FORBIDDEN => "forbidden",
                StatusCode::TOO_MANY_REQUESTS => "throttled",
                StatusCode::METHOD_NOT_ALLOWED => "not-supported",
                StatusCode::INTERNAL_SERVER_ERROR => "exception",
                _ => "invalid",
            };
            let body = vitals::fhir::operation_outcome("error", code, &self.message);
            fhir::fhir_json(self.status, body)
        } else {
            let body = serde_json::json!({ "error": self.message });
            (self.status, axum::Json(body)).into_response()
        }
    }
}

/// Locks a mutex or answers 500 (a poisoned lock means a bug, not bad input).
pub fn lock<T>(
    mutex: &std::sync::Mutex<T>,
    fhir: bool,
) -> Result<std::sync::MutexGuard<'_, T>, HttpError> {
    mutex.lock().map_err(|_| {
        let status = StatusCode::INTERNAL_SERVER_ERROR;
        if fhir {
            HttpError::fhir(status, "internal lock poisoned")
        } else {
            HttpError::api(status, "internal lock poisoned")
        }
    })
}
