//! Extractors for `/fhir` whose rejections are OperationOutcomes, not axum's plain text: the
//! path id, the JSON body, the `Prefer: handling=` header; and the 405 answer of every route.

use super::HttpError;
use axum::async_trait;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use serde_json::Value;
use vitals::fhir::Handling;

/// The `{id}` of a `/fhir/{type}/{id}` path.
pub struct FhirId(pub String);

#[async_trait]
impl<S: Send + Sync> FromRequestParts<S> for FhirId {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| FhirId(id))
            .map_err(|e| HttpError::fhir(e.status(), e.body_text()))
    }
}

/// A JSON request body (any content type; FHIR clients send `application/fhir+json`).
pub struct FhirBody(pub Value);

#[async_trait]
impl<S: Send + Sync> FromRequest<S> for FhirBody {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, HttpError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| HttpError::fhir(e.status(), e.body_text()))?;
        serde_json::from_slice(&bytes)
            .map(FhirBody)
            .map_err(|e| HttpError::fhir(StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")))
    }
}

/// How the client wants unknown search parameters handled (`Prefer: handling=strict`).
pub struct Prefer(pub Handling);

#[async_trait]
impl<S: Send + Sync> FromRequestParts<S> for Prefer {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HttpError> {
        let prefer = parts.headers.get("prefer").and_then(|v| v.to_str().ok());
        Ok(Prefer(Handling::from_prefer(prefer)))
    }
}

/// The answer to a method a `/fhir` path does not serve (e.g. `POST /fhir/Observation`).
pub async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> HttpError {
    let message = format!(
        "{method} {} is not supported (see /fhir/metadata)",
        uri.path()
    );
    HttpError::fhir(StatusCode::METHOD_NOT_ALLOWED, message)
}
