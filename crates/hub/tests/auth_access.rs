//! Every route over real HTTP: 401 without credentials (the route list is the guard's own
//! table, so a route added without a rule is refused to everyone and one added with a rule is
//! tried here), 403 for a role or scope that lacks what the route needs (JSON, or an
//! OperationOutcome under /fhir), 403 for a signed-in change without the session's CSRF token,
//! and alert actions made as the caller whatever the body says, audited in a chain that
//! verifies.

#[allow(dead_code)]
mod common;

use common::http::{Caller, call, full_access, signed_in, token};
use common::start_hub;
use hub::auth::Role;
use hub::auth::access::{RULES, Requirement};
use serde_json::json;
use vitals::{Measurement, Vitals};

/// A concrete path for a route pattern (`:id` → `x1`).
fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|part| if part.starts_with(':') { "x1" } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

/// The routes anyone may call: each says nothing about any patient.
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/login"),
    ("GET", "/login.js"),
    ("GET", "/login.css"),
    ("POST", "/auth/login"),
    ("GET", "/fhir/metadata"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_but_the_public_ones_answers_401_without_credentials() {
    let dir = common::http::tempdir("auth-401");
    let hub = start_hub(&dir, |_| {}).await;
    let public: Vec<(&str, &str)> = RULES
        .iter()
        .filter(|r| r.requirement == Requirement::Public)
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        public, PUBLIC,
        "a new public route must be added here on purpose"
    );

    let all = full_access(&hub);
    for rule in RULES
        .iter()
        .filter(|r| r.requirement != Requirement::Public)
    {
        let path = concrete(rule.path);
        let reply = call(hub.http_addr, &Caller::Nobody, rule.method, &path, "{}").await;
        assert_eq!(reply.status, 401, "{} {path}: {}", rule.method, reply.text);
        assert!(reply.header("www-authenticate").is_some());
        if path.starts_with("/fhir") {
            assert_eq!(reply.json["resourceType"], "OperationOutcome", "{path}");
            assert_eq!(reply.json["issue"][0]["code"], "login");
        } else {
            assert!(reply.json["error"].is_string(), "{path}: {}", reply.text);
        }
        // The rule is for a route that is served (not the fallback's 404), and a caller with
        // every scope passes the guard. Streams are not read to their end.
        if path.ends_with("/events") {
            continue;
        }
        let reply = call(hub.http_addr, &all.caller(), rule.method, &path, "{}").await;
        assert!(
            ![401, 403].contains(&reply.status) && !reply.text.contains("nothing is served"),
            "{} {path} with every scope: {} {}",
            rule.method,
            reply.status,
            reply.text
        );
    }
    // A path nobody serves: 401 before anything else is said about it.
    let unknown = call(hub.http_addr, &Caller::Nobody, "GET", "/api/nothing", "").await;
    assert_eq!(unknown.status, 401);
    let bogus = Caller::Bearer("mlt_00000000_not-a-token".into());
    assert_eq!(
        call(hub.http_addr, &bogus, "GET", "/api/alerts", "")
            .await
            .status,
        401
    );
    for public in PUBLIC.iter().filter(|(m, _)| *m == "GET") {
        let reply = call(hub.http_addr, &Caller::Nobody, "GET", public.1, "").await;
        assert_eq!(reply.status, 200, "{public:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_or_scope_without_what_the_route_needs_gets_403() {
    let dir = common::http::tempdir("auth-403");
    let hub = start_hub(&dir, |_| {}).await;
    let addr = hub.http_addr;
    let viewer = signed_in(&hub, "vic", Role::Viewer).await;
    let nurse = signed_in(&hub, "nell", Role::Nurse).await;
    let admin = signed_in(&hub, "ada", Role::Admin).await;
    let reader = token(&hub, "etl", "user/Observation.read");
    let metrics = token(&hub, "prometheus", "system/metrics.read");
    let scale = json!({"scale": 2}).to_string();
    let scale_path = "/api/patients/p-1/spo2-scale";
    // (who, method, path, body, expected status)
    let expectations: [(&Caller, &str, &str, &str, u16); 14] = [
        (&viewer, "GET", "/api/alerts", "", 200),
        (&viewer, "POST", "/api/alerts/1/ack", "{}", 403),
        (&viewer, "GET", "/metrics", "", 403),
        (&nurse, "PUT", scale_path, &scale, 403),
        (&nurse, "GET", "/api/audit", "", 403),
        (&admin, "GET", "/api/patients", "", 403),
        (&admin, "GET", "/metrics", "", 200),
        (&reader, "GET", "/fhir/Observation", "", 200),
        (&reader, "GET", "/fhir/Patient", "", 403),
        (&reader, "GET", "/api/alerts", "", 403),
        (&metrics, "GET", "/metrics", "", 200),
        (&metrics, "GET", "/api/alerts", "", 403),
        (&nurse, "POST", "/api/alerts/424242/ack", "{}", 404),
        (&admin, "GET", "/api/devices", "", 200),
    ];
    for (caller, method, path, body, expected) in expectations {
        let reply = call(addr, caller, method, path, body).await;
        assert_eq!(
            reply.status, expected,
            "{caller:?} {method} {path}: {}",
            reply.text
        );
    }
    let ack = call(addr, &viewer, "POST", "/api/alerts/1/ack", "{}").await;
    assert!(ack.json["error"].as_str().unwrap().contains("alert.write"));
    let refused = call(addr, &reader, "GET", "/fhir/Patient", "").await;
    assert_eq!(refused.json["resourceType"], "OperationOutcome");
    assert_eq!(refused.json["issue"][0]["code"], "forbidden");
}

/// Raises a NEWS2 alert for `patient` (a heart rate of 140 scores 3) and returns its id.
fn raise_alert(hub: &hub::RunningHub, patient: &str) -> u64 {
    let now = hub::now_ms();
    let reading = Measurement {
        device: "d-1".into(),
        patient: patient.into(),
        seq: 1,
        time_ms: now,
        vitals: Vitals {
            heart_rate: Some(140.0),
            ..Vitals::default()
        },
    };
    let mut care = hub.shared.care.lock().unwrap();
    let mut events = Vec::new();
    care.score_new(&reading, now, &mut events).unwrap();
    care.drain_alerts(&mut events);
    let alert = care
        .engine
        .active()
        .into_iter()
        .find(|a| a.patient.as_deref() == Some(patient));
    alert.expect("a NEWS2 alert").id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_need_the_csrf_token_and_are_made_as_the_signed_in_person() {
    let dir = common::http::tempdir("auth-actor");
    let hub = start_hub(&dir, |_| {}).await;
    let addr = hub.http_addr;
    let id = raise_alert(&hub, "p-1");
    let nurse = signed_in(&hub, "nell", Role::Nurse).await;
    let ack = format!("/api/alerts/{id}/ack");
    let impostor = json!({"by": "dr Someone Else"}).to_string();

    let missing = call(addr, &nurse.without_csrf(), "POST", &ack, &impostor).await;
    assert_eq!(missing.status, 403, "{}", missing.text);
    assert!(missing.json["error"].as_str().unwrap().contains("CSRF"));
    let Caller::Session { cookie, .. } = &nurse else {
        unreachable!()
    };
    let forged = Caller::Session {
        cookie: cookie.clone(),
        csrf: Some("0".repeat(64)),
    };
    assert_eq!(
        call(addr, &forged, "POST", &ack, &impostor).await.status,
        403
    );

    let done = call(addr, &nurse, "POST", &ack, &impostor).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json["acknowledged"]["by"], "nell", "{}", done.json);
    let escalate = format!("/api/alerts/{id}/escalate");
    let escalated = call(addr, &nurse, "POST", &escalate, &impostor).await;
    assert_eq!(escalated.status, 200, "{}", escalated.text);
    assert_eq!(escalated.json["escalation_level"], 1, "{}", escalated.json);

    let doctor = signed_in(&hub, "doc", Role::Doctor).await;
    let scale = json!({"scale": 2, "by": "someone else"}).to_string();
    let path = "/api/patients/p-1/spo2-scale";
    let changed = call(addr, &doctor, "PUT", path, &scale).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json["by"], "doc");

    let audit = call(addr, &doctor, "GET", "/api/audit?count=1000", "").await;
    let rows = audit.json["rows"].as_array().unwrap();
    let find = |action: &str| {
        rows.iter()
            .find(|r| r["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {rows:?}"))
    };
    let acked = find("alert_acknowledged");
    assert_eq!(find("alert_escalated")["actor"], "nell");
    assert_eq!(
        (&acked["actor"], &acked["account"]),
        (&json!("nell"), &json!("user:nell"))
    );
    let scaled = find("spo2_scale_changed");
    assert_eq!(
        (&scaled["actor"], &scaled["account"]),
        (&json!("doc"), &json!("user:doc"))
    );
    let signed_in_rows = rows.iter().filter(|r| r["action"] == "signed_in").count();
    assert_eq!(signed_in_rows, 2);
    assert_eq!(find("user_added")["actor"], "cli:test");
    let trail = store::read_audit_trail(&dir.join("hub.alerts.db")).unwrap();
    assert_eq!(store::audit::verify(&trail), Ok(rows.len()));
}
