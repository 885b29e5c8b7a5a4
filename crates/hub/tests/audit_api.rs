//! The audit trail over real HTTP: an acknowledgement, a refused acknowledgement and a scale
//! change appear in `/api/audit` with their actor (the signed-in person) and account, after the
//! accounts' creation and sign-ins, in a chain that verifies, and are served as FHIR
//! AuditEvents (paged search, read; errors as OperationOutcome).

mod common;

use common::http::{Caller, signed_in, tempdir};
use common::{eventually, start_hub};
use hub::auth::Role;
use serde_json::{Value, json};
use std::net::SocketAddr;
use vitals::alerts::{AlertConfig, Rule};

/// A request as `caller`: the status and the body as JSON.
async fn call(
    caller: &Caller,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let reply = common::http::call(addr, caller, method, path, &body).await;
    (reply.status, reply.json)
}

fn is_outcome(status: u16, body: &Value, expected: u16) -> bool {
    status == expected && body["resourceType"] == "OperationOutcome"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_actions_and_scale_changes_are_audited_with_their_actor() {
    let dir = tempdir("audit-api");
    let hub = start_hub(&dir, |config| {
        config.alerts = AlertConfig {
            offline_after_ms: 300,
            no_data_after_ms: 300,
            ..AlertConfig::default()
        };
    })
    .await;
    let addr = hub.http_addr;
    let device = common::device(&hub, "w-1", "p-1").await;
    let reading = json!({"patient": "p-1", "seq": 1, "time_ms": hub::now_ms(), "hr": 70});
    device.publish_vitals(1, reading.to_string()).await.unwrap();
    assert!(eventually(|| device.counts().1 == 1).await);
    // The device falls silent: a device-offline alert to acknowledge.
    let offline = || {
        let care = hub.shared.care.lock().unwrap();
        let found = care
            .engine
            .active()
            .into_iter()
            .find(|a| a.rule == Rule::DeviceOffline);
        found.map(|a| a.id)
    };
    assert!(eventually(|| offline().is_some()).await);
    let id = offline().unwrap();

    // Three people sign in: two accounts added and a sign-in each, six rows before theirs.
    let ada = signed_in(&hub, "ada", Role::Nurse).await;
    let bob = signed_in(&hub, "bob", Role::Nurse).await;
    let cy = signed_in(&hub, "cy", Role::Doctor).await;
    let before = 6;

    let by = json!({"by": "someone else"});
    let (status, body) = call(&ada, addr, "POST", &format!("/api/alerts/{id}/ack"), by).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(&bob, addr, "POST", "/api/alerts/999999/ack", Value::Null).await;
    assert_eq!(status, 404);
    let change = json!({"scale": 2});
    let (status, body) = call(&cy, addr, "PUT", "/api/patients/p-1/spo2-scale", change).await;
    assert_eq!(status, 200, "{body}");

    let (status, audit) = call(&cy, addr, "GET", "/api/audit", Value::Null).await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(audit["total"], before + 3, "{audit}");
    let all_rows = audit["rows"].as_array().unwrap();
    let first_actions: Vec<&str> = all_rows[..before]
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        first_actions.iter().filter(|a| **a == "signed_in").count(),
        3
    );
    let rows = &all_rows[before..];
    let summary: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or("");
            (
                text("actor"),
                text("action"),
                text("entity"),
                text("outcome"),
            )
        })
        .collect();
    let id_text = id.to_string();
    assert_eq!(
        summary[0],
        ("ada", "alert_acknowledged", id_text.as_str(), "success")
    );
    assert_eq!(summary[1].0, "bob");
    assert_eq!(summary[1].2, "999999");
    assert!(summary[1].3.starts_with("refused"), "{}", summary[1].3);
    assert_eq!(
        summary[2],
        ("cy", "spo2_scale_changed", "p-1", "success: scale 2")
    );
    assert_eq!(rows[0]["account"], "user:ada");
    {
        let care = hub.shared.care.lock().unwrap();
        let journal = care.journal().unwrap();
        assert_eq!(
            store::audit::verify(&journal.audit_all().unwrap()),
            Ok(before + 3)
        );
    }
    let path = format!("/api/audit?offset={}&count=5", before + 2);
    let (_, paged) = call(&cy, addr, "GET", &path, Value::Null).await;
    assert_eq!(paged["rows"][0]["actor"], "cy", "{paged}");

    // As FHIR.
    let (status, page) = call(&cy, addr, "GET", "/fhir/AuditEvent?_count=2", Value::Null).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], before + 3);
    assert_eq!(page["entry"].as_array().unwrap().len(), 2);
    let links = page["link"].to_string();
    assert!(links.contains("next"), "{links}");
    let event_path = |n: usize| format!("/fhir/AuditEvent/{}", before + n);
    let (status, event) = call(&cy, addr, "GET", &event_path(1), Value::Null).await;
    assert_eq!(status, 200, "{event}");
    assert_eq!(event["resourceType"], "AuditEvent");
    assert_eq!(event["agent"][0]["who"]["display"], "ada");
    assert_eq!(event["subtype"][0]["code"], "alert_acknowledged");
    assert_eq!(event["outcome"], "0");
    let (_, refused) = call(&cy, addr, "GET", &event_path(2), Value::Null).await;
    assert_eq!(refused["outcome"], "4", "{refused}");
    let (_, scale) = call(&cy, addr, "GET", &event_path(3), Value::Null).await;
    assert_eq!(
        scale["entity"][0]["what"]["reference"], "Patient/p-1",
        "{scale}"
    );
    let (status, body) = call(&cy, addr, "GET", "/fhir/AuditEvent/99", Value::Null).await;
    assert!(is_outcome(status, &body, 404), "{status} {body}");
    let (status, body) = call(&cy, addr, "GET", "/fhir/AuditEvent/x", Value::Null).await;
    assert!(is_outcome(status, &body, 404), "{status} {body}");
    let (status, body) = call(&cy, addr, "DELETE", "/fhir/AuditEvent/1", Value::Null).await;
    assert!(is_outcome(status, &body, 405), "{status} {body}");
    let _ = std::fs::remove_dir_all(&dir);
}
