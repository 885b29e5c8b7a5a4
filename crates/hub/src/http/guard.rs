//! The guard in front of every route: finds the caller (bearer token, else session cookie),
//! answers 401 when there is none, 403 when a cookie-authenticated change lacks the session's
//! CSRF token or the caller lacks the scopes the route needs (`auth::access`), and hands the
//! caller to the handler as an `Extension<Principal>`. Errors are JSON, OperationOutcome under
//! `/fhir`.

use super::HttpError;
use crate::Shared;
use crate::auth::Principal;
use crate::auth::access::{Requirement, requirement};
use crate::auth::presented::{Presented, presented};
use crate::auth::secrets::same_secret;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The header a session's state-changing requests carry its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Checks the caller of every request against the route's requirement.
pub async fn guard(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let fhir = is_fhir(request.uri().path());
    let method = request.method().clone();
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let needed = matched
        .as_deref()
        .and_then(|path| requirement(method.as_str(), path));
    if needed == Some(Requirement::Public) {
        return next.run(request).await;
    }
    let principal = match caller(&shared, request.headers()) {
        Ok(Some(principal)) => principal,
        Ok(None) => return unauthenticated(fhir),
        Err(e) => {
            return HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, e, fhir).into_response();
        }
    };
    if changes_state(&method)
        && let Some(csrf) = principal.csrf()
        && !same_secret(
            header_text(request.headers(), CSRF_HEADER).unwrap_or(""),
            csrf,
        )
    {
        let message = "a signed-in change needs the session's X-CSRF-Token header";
        return HttpError::new(StatusCode::FORBIDDEN, message, fhir).into_response();
    }
    if needed == Some(Requirement::Nobody) {
        let message = format!(
            "no access rule for {method} {} (auth::access): refused to everyone",
            matched.as_deref().unwrap_or("")
        );
        return HttpError::new(StatusCode::FORBIDDEN, message, fhir).into_response();
    }
    if let Some(Requirement::Scopes(needs)) = needed
        && !principal.may(needs)
    {
        let wanted: Vec<String> = needs
            .iter()
            .map(|n| format!("{}.{:?}", n.resource, n.access).to_lowercase())
            .collect();
        let message = format!(
            "{} may not {method} {}: it needs {}",
            principal.name,
            matched.as_deref().unwrap_or(""),
            wanted.join(" and ")
        );
        return HttpError::new(StatusCode::FORBIDDEN, message, fhir).into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// The caller: a bearer token when the request has an Authorization header (and then only
/// that), else the session cookie.
fn caller(shared: &Shared, headers: &HeaderMap) -> Result<Option<Principal>, store::StoreError> {
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    match presented(
        header_text(headers, header::AUTHORIZATION.as_str()),
        cookies,
    ) {
        Presented::Bearer(token) => shared.auth.by_bearer(token),
        Presented::Session(cookie) => shared.auth.by_cookie(cookie),
        Presented::Nothing | Presented::Unusable => Ok(None),
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn is_fhir(path: &str) -> bool {
    path == "/fhir" || path.starts_with("/fhir/")
}

/// 401 with the challenge that says how to authenticate.
fn unauthenticated(fhir: bool) -> Response {
    let message = "sign in (POST /auth/login) or send Authorization: Bearer <token>";
    let mut response = HttpError::new(StatusCode::UNAUTHORIZED, message, fhir).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"medlink-hub\""),
    );
    response
}
