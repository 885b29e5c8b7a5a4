//! The ward dashboard: its page and assets (hand-written ES modules and CSS from `web/hub/`,
//! embedded in the binary, nothing fetched at run time), the ward snapshot and a patient's
//! chart it starts from, and its live stream (see `dashboard_feed`).

use super::dashboard_feed;
use super::dashboard_history::{self, ChartPoint, Trend};
use super::{HttpError, lock};
use crate::{Shared, now_ms};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use vitals::SpO2Scale;
use vitals::tracker::{DEFAULT_FRESH_FOR_MS, PatientSummary};

type AppState = State<Arc<Shared>>;

/// One embedded file of `web/hub/`: (URL path, content type, contents).
macro_rules! web_file {
    ($path:literal, $content_type:expr, $file:literal) => {
        (
            $path,
            $content_type,
            include_str!(concat!("../../../../web/hub/", $file)),
        )
    };
}

/// The dashboard's files.
const ASSETS: &[(&str, &str, &str)] = &[
    web_file!("/", HTML, "index.html"),
    web_file!("/dashboard/style.css", CSS, "style.css"),
    web_file!("/dashboard/app.js", JS, "app.js"),
    web_file!("/dashboard/api.js", JS, "api.js"),
    web_file!("/dashboard/format.js", JS, "format.js"),
    web_file!("/dashboard/patients.js", JS, "patients.js"),
    web_file!("/dashboard/chart.js", JS, "chart.js"),
    web_file!("/dashboard/ecg.js", JS, "ecg.js"),
    web_file!("/dashboard/alerts.js", JS, "alerts.js"),
    web_file!("/dashboard/incoming.js", JS, "incoming.js"),
    web_file!("/dashboard/audit.js", JS, "audit.js"),
];
const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
/// Only the hub's own origin: no CDN, no inline script, works offline.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
    style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

pub fn routes() -> Router<Arc<Shared>> {
    let mut router = Router::new();
    for &(path, content_type, body) in ASSETS {
        router = router.route(path, get(move || async move { asset(content_type, body) }));
    }
    router
        .route("/api/dashboard/ward", get(ward))
        .route("/api/dashboard/patients/:id/chart", get(chart))
        .route("/api/dashboard/events", get(dashboard_feed::events))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "no-cache"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, body).into_response()
}

#[derive(Deserialize)]
struct Window {
    /// How far back, in minutes (default 30, at most 24 h).
    minutes: Option<i64>,
}

impl Window {
    fn start(&self, now: i64) -> Result<i64, HttpError> {
        let minutes = self.minutes.unwrap_or(30);
        if !(1..=24 * 60).contains(&minutes) {
            let message = format!("minutes must be 1 to 1440, not {minutes}");
            return Err(HttpError::api(StatusCode::BAD_REQUEST, message));
        }
        Ok(now - minutes * 60_000)
    }
}

/// A patient on the ward list: the hub's live summary and the patient's name when known.
#[derive(Serialize)]
struct WardPatient {
    #[serde(flatten)]
    summary: PatientSummary,
    name: Option<String>,
}

/// Everything the dashboard starts from: patients with their NEWS2 trends (one value a minute),
/// active alerts, incoming ambulances, and the hub's clock.
#[derive(Serialize)]
struct Ward {
    now_ms: i64,
    patients: Vec<WardPatient>,
    trends: BTreeMap<String, Trend>,
    alerts: Vec<vitals::alerts::Alert>,
    incoming: Vec<crate::care::Incoming>,
}

fn internal(e: store::StoreError) -> HttpError {
    HttpError::api(StatusCode::INTERNAL_SERVER_ERROR, e)
}

async fn ward(
    State(shared): AppState,
    Query(window): Query<Window>,
) -> Result<Json<Ward>, HttpError> {
    let now = now_ms();
    let from = window.start(now)?;
    let (readings, rows) = {
        let store = lock(&shared.store, false)?;
        let readings = store
            .measurements_since(from - DEFAULT_FRESH_FOR_MS)
            .map_err(internal)?;
        let (_, rows) = store.patients(0, usize::MAX >> 1).map_err(internal)?;
        (readings, rows)
    };
    let scales: HashMap<String, SpO2Scale> = rows
        .iter()
        .filter(|p| p.spo2_scale == 2)
        .map(|p| (p.id.clone(), SpO2Scale::Scale2))
        .collect();
    let names: HashMap<String, String> = rows
        .into_iter()
        .filter_map(|p| Some((p.id, p.name?)))
        .collect();
    let trends = dashboard_history::trends(&readings, &scales, from, 60_000);
    let scale2: Vec<&str> = scales.keys().map(String::as_str).collect();
    let patients = super::ward::patients(&shared, &readings, &scale2)?
        .into_iter()
        .map(|summary| WardPatient {
            name: names.get(&summary.patient).cloned(),
            summary,
        })
        .collect();
    let alerts = super::ward::alerts(&shared, "active")?;
    let incoming = lock(&shared.care, false)?.incoming();
    Ok(Json(Ward {
        now_ms: now,
        patients,
        trends,
        alerts,
        incoming,
    }))
}

/// A patient's chart: every reading of the window with NEWS2 as of it.
#[derive(Serialize)]
struct Chart {
    patient: String,
    name: Option<String>,
    scale: u8,
    from_ms: i64,
    now_ms: i64,
    points: Vec<ChartPoint>,
}

async fn chart(
    State(shared): AppState,
    Path(id): Path<String>,
    Query(window): Query<Window>,
) -> Result<Json<Chart>, HttpError> {
    vitals::payload::validate_id("patient", &id)
        .map_err(|e| HttpError::api(StatusCode::BAD_REQUEST, e))?;
    let now = now_ms();
    let from = window.start(now)?;
    let store = lock(&shared.store, false)?;
    let row = store.patient(&id).map_err(internal)?;
    let Some(row) = row else {
        return Err(HttpError::api(
            StatusCode::NOT_FOUND,
            format!("no patient {id}"),
        ));
    };
    let readings = store
        .measurements_up_to(&id, from - DEFAULT_FRESH_FOR_MS, i64::MAX, i64::MAX)
        .map_err(internal)?;
    drop(store);
    let scale = SpO2Scale::from_number(row.spo2_scale.into()).unwrap_or_default();
    Ok(Json(Chart {
        points: dashboard_history::chart(&readings, scale, from),
        patient: row.id,
        name: row.name,
        scale: scale.number(),
        from_ms: from,
        now_ms: now,
    }))
}

#[cfg(test)]
mod tests {
    use super::ASSETS;

    /// Every file the page names (`/dashboard/...` in the HTML, `./x.js` imports in the
    /// modules) is served, and nothing is fetched from another origin.
    #[test]
    fn every_file_the_page_loads_is_embedded_and_nothing_is_remote() {
        let served = |path: &str| ASSETS.iter().any(|(p, _, _)| *p == path);
        let mut named = 0;
        for (path, _, body) in ASSETS {
            for quoted in body.split(['"', '\'']).skip(1).step_by(2) {
                let wanted = if let Some(module) = quoted.strip_prefix("./") {
                    format!("/dashboard/{module}")
                } else if quoted.starts_with("/dashboard/") {
                    quoted.to_string()
                } else {
                    continue;
                };
                named += 1;
                assert!(
                    served(&wanted),
                    "{path} loads {wanted}, which is not embedded"
                );
            }
            // The SVG namespace is a name, not a place anything is fetched from.
            let body = body.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "{path} names another origin"
            );
        }
        assert!(named >= ASSETS.len() - 1, "only {named} references found");
    }
}
