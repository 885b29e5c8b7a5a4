//! Signing in on the dashboard: `GET /login` (the sign-in page), `POST /auth/login` (name and
//! password → session cookie and CSRF token), `POST /auth/logout`, `GET /auth/me`.

use super::HttpError;
use crate::Shared;
use crate::auth::presented::SESSION_COOKIE;
use crate::auth::{Principal, SignInError};
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The sign-in page, its script and its style: (path, content type, contents), all from the
/// hub itself (no inline script, nothing from elsewhere).
const PAGE: &[(&str, &str, &str)] = &[
    (
        "/login",
        "text/html; charset=utf-8",
        include_str!("login.html"),
    ),
    (
        "/login.js",
        "text/javascript; charset=utf-8",
        include_str!("login.js"),
    ),
    (
        "/login.css",
        "text/css; charset=utf-8",
        include_str!("login.css"),
    ),
];
/// Only the hub's own origin, never framed (no clickjacking of the password form).
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'";

pub fn routes() -> Router<Arc<Shared>> {
    let mut router = Router::new();
    for &(path, content_type, body) in PAGE {
        let headers = [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ];
        router = router.route(path, get(move || async move { (headers, body) }));
    }
    router
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
}

#[derive(Deserialize)]
struct Credentials {
    name: String,
    password: String,
}

/// Who is signed in, as the dashboard needs it.
fn identity(principal: &Principal) -> serde_json::Value {
    json!({
        "name": principal.name,
        "role": principal.role.map(|r| r.as_str()),
        "csrf": principal.csrf(),
    })
}

async fn login(
    State(shared): State<Arc<Shared>>,
    body: Result<Json<Credentials>, JsonRejection>,
) -> Result<Response, HttpError> {
    let Json(credentials) = body.map_err(|e| {
        let message = format!(
            "expected {{\"name\": ..., \"password\": ...}}: {}",
            e.body_text()
        );
        HttpError::api(StatusCode::BAD_REQUEST, message)
    })?;
    let permit = shared
        .auth
        .sign_in_permits
        .acquire()
        .await
        .map_err(|e| HttpError::api(StatusCode::SERVICE_UNAVAILABLE, e))?;
    let worker = shared.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        worker
            .auth
            .sign_in(&credentials.name, &credentials.password)
    })
    .await
    .map_err(|e| HttpError::api(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    drop(permit);
    match outcome {
        Ok(signed_in) => {
            let secure = if shared.auth.https { "; Secure" } else { "" };
            let cookie = format!(
                "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/{secure}",
                signed_in.cookie
            );
            let mut response = Json(identity(&signed_in.principal)).into_response();
            let value = HeaderValue::from_str(&cookie)
                .map_err(|e| HttpError::api(StatusCode::INTERNAL_SERVER_ERROR, e))?;
            response.headers_mut().insert(header::SET_COOKIE, value);
            Ok(response)
        }
        Err(SignInError::Wrong) => {
            Err(HttpError::api(StatusCode::UNAUTHORIZED, SignInError::Wrong))
        }
        Err(locked @ SignInError::LockedOut { retry_after_s }) => {
            let mut response =
                HttpError::api(StatusCode::TOO_MANY_REQUESTS, &locked).into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
            Ok(response)
        }
        Err(SignInError::Store(e)) => Err(HttpError::api(StatusCode::INTERNAL_SERVER_ERROR, e)),
    }
}

async fn logout(
    State(shared): State<Arc<Shared>>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, HttpError> {
    shared
        .auth
        .sign_out(&principal)
        .map_err(|e| HttpError::api(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let expired = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

async fn me(Extension(principal): Extension<Principal>) -> Json<serde_json::Value> {
    Json(identity(&principal))
}
