//! The audit trail over real HTTP: an acknowledgement, a refused acknowledgement and a scale
//! change appear in `/api/audit` with their actor, in a chain that verifies, and are served as
//! FHIR AuditEvents (paged search, read; errors as OperationOutcome).

mod common;

use common::{eventually, start_hub};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use vitals::alerts::{AlertConfig, Rule};

/// One HTTP/1.1 request with a JSON body; returns the status and the body parsed as JSON.
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

async fn call(addr: SocketAddr, method: &str, path: &str, body: Value) -> (u16, Value) {
    let (method, path) = (method.to_string(), path.to_string());
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    tokio::task::spawn_blocking(move || request(addr, &method, &path, &body))
        .await
        .unwrap()
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("medlink-hub-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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

    let by = json!({"by": "nurse Ada"});
    let (status, body) = call(addr, "POST", &format!("/api/alerts/{id}/ack"), by).await;
    assert_eq!(status, 200, "{body}");
    let by = json!({"by": "nurse Bob"});
    let (status, _) = call(addr, "POST", "/api/alerts/999999/ack", by).await;
    assert_eq!(status, 404);
    let change = json!({"scale": 2, "by": "dr Cy"});
    let (status, body) = call(addr, "PUT", "/api/patients/p-1/spo2-scale", change).await;
    assert_eq!(status, 200, "{body}");

    let (status, audit) = call(addr, "GET", "/api/audit", Value::Null).await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(audit["total"], 3, "{audit}");
    let rows = audit["rows"].as_array().unwrap();
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
        (
            "nurse Ada",
            "alert_acknowledged",
            id_text.as_str(),
            "success"
        )
    );
    assert_eq!(summary[1].0, "nurse Bob");
    assert_eq!(summary[1].2, "999999");
    assert!(summary[1].3.starts_with("refused"), "{}", summary[1].3);
    assert_eq!(
        summary[2],
        ("dr Cy", "spo2_scale_changed", "p-1", "success: scale 2")
    );
    assert!(rows[0]["account"].is_null());
    {
        let care = hub.shared.care.lock().unwrap();
        let journal = care.journal().unwrap();
        assert_eq!(store::audit::verify(&journal.audit_all().unwrap()), Ok(3));
    }
    let (_, paged) = call(addr, "GET", "/api/audit?offset=2&count=5", Value::Null).await;
    assert_eq!(paged["rows"][0]["actor"], "dr Cy", "{paged}");

    // As FHIR.
    let (status, page) = call(addr, "GET", "/fhir/AuditEvent?_count=2", Value::Null).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 3);
    assert_eq!(page["entry"].as_array().unwrap().len(), 2);
    let links = page["link"].to_string();
    assert!(links.contains("next"), "{links}");
    let (status, event) = call(addr, "GET", "/fhir/AuditEvent/1", Value::Null).await;
    assert_eq!(status, 200, "{event}");
    assert_eq!(event["resourceType"], "AuditEvent");
    assert_eq!(event["agent"][0]["who"]["display"], "nurse Ada");
    assert_eq!(event["subtype"][0]["code"], "alert_acknowledged");
    assert_eq!(event["outcome"], "0");
    let (_, refused) = call(addr, "GET", "/fhir/AuditEvent/2", Value::Null).await;
    assert_eq!(refused["outcome"], "4", "{refused}");
    let (_, scale) = call(addr, "GET", "/fhir/AuditEvent/3", Value::Null).await;
    assert_eq!(
        scale["entity"][0]["what"]["reference"], "Patient/p-1",
        "{scale}"
    );
    let (status, body) = call(addr, "GET", "/fhir/AuditEvent/99", Value::Null).await;
    assert!(is_outcome(status, &body, 404), "{status} {body}");
    let (status, body) = call(addr, "GET", "/fhir/AuditEvent/x", Value::Null).await;
    assert!(is_outcome(status, &body, 404), "{status} {body}");
    let (status, body) = call(addr, "DELETE", "/fhir/AuditEvent/1", Value::Null).await;
    assert!(is_outcome(status, &body, 405), "{status} {body}");
    let _ = std::fs::remove_dir_all(&dir);
}
