//! Alerts survive a SIGKILL: the hub is killed with one alert acknowledged and one not; after a
//! restart on the same database the same alerts are back with the same ids, the acknowledgement
//! is kept, the unacknowledged one goes on escalating, a new alert gets an id above every old
//! one, and the patients' NEWS2 is rebuilt from the stored readings.

mod common;

use common::*;
use hub::device::Device;
use serde_json::Value;

/// Escalation every 2 s along a chain long enough not to run out during the test.
const CONFIG: &str = r#"
[alerts]
escalate_after_ms = 2000
escalation_chain = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11"]
"#;

fn red_score(patient: &str, seq: u64) -> String {
    format!(
        r#"{{"patient":"{patient}","seq":{seq},"time_ms":{},"hr":140,"rr":16,"spo2":97,"o2":false,"temp":36.8,"sbp":125,"dbp":80,"acvpu":"A"}}"#,
        hub::now_ms() // stamped now: the hub refuses readings older than a day
    )
}

/// Publishes one red-score reading from a new device for `patient`.
fn alarm(runtime: &tokio::runtime::Runtime, db: &std::path::Path, mqtt_port: u16, patient: &str) {
    let id = format!("dev-{patient}");
    let password = register(db, &id, patient);
    runtime.block_on(async {
        let device = Device::connect("127.0.0.1", mqtt_port, &id, &password, patient)
            .await
            .unwrap();
        device
            .publish_vitals(1, red_score(patient, 1))
            .await
            .unwrap();
    });
}

fn alerts(http_port: u16) -> Vec<Value> {
    get_json(http_port, "/api/alerts?state=all")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The NEWS2 alert about `patient`, if any.
fn news2_alert(http_port: u16, patient: &str) -> Option<Value> {
    alerts(http_port)
        .into_iter()
        .find(|a| a["rule"] == "news2" && a["subject"] == patient)
}

fn field(alert: &Value, name: &str) -> i64 {
    alert[name].as_i64().unwrap_or(-1)
}

#[test]
fn sigkill_keeps_alerts_ids_acknowledgements_and_escalation() {
    let dir = temp_dir("alert-crash");
    let db = dir.join("hub.db");
    let config = dir.join("hub.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let (http_port, mqtt_port) = (free_port(), free_port());
    let args = vec![
        "--config".to_string(),
        config.display().to_string(),
        "--mqtt-listen".to_string(),
        format!("127.0.0.1:{mqtt_port}"),
    ];
    let mut hub = start_hub(&db, http_port, &args);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    alarm(&runtime, &db, mqtt_port, "p-acked");
    alarm(&runtime, &db, mqtt_port, "p-waiting");
    let raised = eventually(20, || {
        news2_alert(http_port, "p-acked").is_some() && news2_alert(http_port, "p-waiting").is_some()
    });
    assert!(raised, "no NEWS2 alerts: {:?}", alerts(http_port));
    let acked = news2_alert(http_port, "p-acked").unwrap();
    let (status, body) = http(
        http_port,
        "POST",
        &format!("/api/alerts/{}/ack", acked["id"]),
        Some(r#"{"by":"nurse.jo"}"#),
    );
    assert_eq!(status, 200, "{body}");
    let before = alerts(http_port);
    hub.kill9();
    drop(runtime);

    let _restarted = start_hub(&db, http_port, &args);
    let after = alerts(http_port);
    let ids = |list: &[Value]| -> Vec<i64> { list.iter().map(|a| field(a, "id")).collect() };
    for old in before.iter().filter(|a| a["resolved_at_ms"].is_null()) {
        assert!(
            ids(&after).contains(&field(old, "id")),
            "alert {old} lost in the restart: {after:?}"
        );
    }
    let acked_after = news2_alert(http_port, "p-acked").unwrap();
    assert_eq!(acked_after["id"], acked["id"]);
    assert_eq!(acked_after["acknowledged"]["by"], "nurse.jo");
    let waiting_before = before
        .iter()
        .find(|a| a["subject"] == "p-waiting" && a["rule"] == "news2")
        .cloned()
        .unwrap();
    let waiting_after = news2_alert(http_port, "p-waiting").unwrap();
    assert_eq!(waiting_after["id"], waiting_before["id"]);
    assert!(waiting_after["acknowledged"].is_null());
    assert!(
        field(&waiting_after, "escalation_level") >= field(&waiting_before, "escalation_level"),
        "escalation went back: {waiting_before} then {waiting_after}"
    );

    // Escalation goes on from the stored level, at the stored deadline or later.
    let level = field(&waiting_after, "escalation_level");
    let mut now = waiting_after.clone();
    let escalated = eventually(30, || {
        now = news2_alert(http_port, "p-waiting").unwrap_or_default();
        field(&now, "escalation_level") > level
    });
    assert!(escalated, "no escalation after the restart: {now}");
    assert!(field(&now, "last_notified_ms") >= field(&waiting_after, "last_notified_ms") + 2000);
    let acked_now = news2_alert(http_port, "p-acked").unwrap();
    assert_eq!(
        acked_now["escalation_level"], acked["escalation_level"],
        "an acknowledged alert escalated"
    );

    // The tracker is rebuilt from the store: the patients' NEWS2 is known without new readings.
    let patients = get_json(http_port, "/api/patients");
    let known = patients.as_array().cloned().unwrap_or_default();
    for patient in ["p-acked", "p-waiting"] {
        assert!(
            known
                .iter()
                .any(|p| p["patient"] == patient && !p["news2"].is_null()),
            "{patient} not rebuilt: {patients}"
        );
    }

    // A new alert gets an id above every id given before the kill.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    alarm(&runtime, &db, mqtt_port, "p-new");
    assert!(eventually(20, || news2_alert(http_port, "p-new").is_some()));
    let new_id = field(&news2_alert(http_port, "p-new").unwrap(), "id");
    let highest = ids(&before).into_iter().max().unwrap_or(0);
    assert!(new_id > highest, "new id {new_id}, old ids up to {highest}");
    let _ = std::fs::remove_dir_all(&dir);
}
