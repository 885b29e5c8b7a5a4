//! Interop with peers written by others: mosquitto (broker) and its command-line clients as the
//! device side, and Python fhir.resources (R4B models) validating the hub's FHIR output.

mod common;

use common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::Command;
use std::time::Duration;

/// Publishes as device `login.0` with password `login.1`.
fn mosquitto_pub(port: u16, login: (&str, &str), topic: &str, message: &str, retain: bool) {
    let mut cmd = Command::new("mosquitto_pub");
    cmd.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-u",
        login.0,
        "-P",
        login.1,
        "-q",
        "1",
        "-t",
        topic,
        "-m",
        message,
    ]);
    if retain {
        cmd.arg("-r");
    }
    let status = cmd
        .status()
        .expect("mosquitto_pub is missing: run bash scripts/setup-mosquitto.sh");
    assert!(status.success(), "mosquitto_pub failed");
}

fn metric(port: u16, name: &str) -> f64 {
    let (_, text) = http(port, "GET", "/metrics", None);
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(-1.0)
}

#[test]
fn mosquitto_clients_reach_the_hub_through_mosquitto() {
    let dir = temp_dir("interop-mosquitto");
    let db = dir.join("hub.db");
    let password = register(&db, "mq-1", "p-mq");
    let mq1 = ("mq-1", password.as_str());
    let (_broker, mqtt_port, args) = start_mosquitto(&dir, &db);
    let http_port = free_port();
    let _hub = start_hub(&db, http_port, &args);

    // A client pushed to over server-sent events.
    let mut sse = std::net::TcpStream::connect(("127.0.0.1", http_port)).unwrap();
    sse.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let head = format!(
        "GET /api/events HTTP/1.1\r\nHost: x\r\n{}Accept: text/event-stream\r\n\r\n",
        authorization(http_port)
    );
    sse.write_all(head.as_bytes()).unwrap();
    // mosquitto_sub waits for the hub's confirmation on the device's ack topic.
    let ack_sub = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &mqtt_port.to_string(),
            "-q",
            "1",
            "-C",
            "1",
            "-W",
            "20",
        ])
        .args(["-u", "mq-1", "-P", &password])
        .args(["-t", "medlink/v1/devices/mq-1/ack"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The hub subscribes once connected; retry the first publish until it is stored.
    // Stamped now: the hub refuses readings stamped more than a day ago (max_reading_age_s).
    let red = format!(
        r#"{{"patient":"p-mq","seq":1,"time_ms":{},"hr":140,"rr":16,"spo2":97,"o2":false,"temp":36.8,"sbp":125,"dbp":80,"acvpu":"A"}}"#,
        hub::now_ms()
    );
    let red = red.as_str();
    assert!(
        eventually(15, || {
            mosquitto_pub(mqtt_port, mq1, "medlink/v1/devices/mq-1/vitals", red, false);
            metric(http_port, "medlink_hub_measurements_stored_total") >= 1.0
        }),
        "the measurement never reached the store"
    );
    let ack = ack_sub.wait_with_output().unwrap();
    let ack: Value = serde_json::from_slice(&ack.stdout).expect("an ack on the ack topic");
    assert_eq!(ack["seqs"], json!([1]));

    // Red score: one alert, pushed to the event stream.
    let alerts = get_json(http_port, "/api/alerts");
    let alert = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["patient"] == "p-mq")
        .expect("a NEWS2 alert")
        .clone();
    assert_eq!(alert["rule"], "news2");
    let mut lines = BufReader::new(sse.try_clone().unwrap()).lines();
    let pushed = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.starts_with("data:") && l.contains("\"raised\"") && l.contains("p-mq"));
    assert!(pushed, "the alert was not pushed over server-sent events");

    // The same (device, seq) again is dropped; bad payloads are counted by reason.
    mosquitto_pub(mqtt_port, mq1, "medlink/v1/devices/mq-1/vitals", red, false);
    mosquitto_pub(
        mqtt_port,
        mq1,
        "medlink/v1/devices/mq-1/vitals",
        "{oops",
        false,
    );
    mosquitto_pub(
        mqtt_port,
        mq1,
        "medlink/v1/devices/mq-1/vitals",
        r#"{"patient":"p-mq","seq":2,"time_ms":0,"hr":-5}"#,
        false,
    );
    assert!(eventually(10, || metric(
        http_port,
        "medlink_hub_duplicates_total"
    ) >= 1.0));
    assert!(eventually(10, || metric(
        http_port,
        "medlink_hub_rejected_total{reason=\"not_json\"}"
    ) == 1.0));
    assert!(eventually(10, || metric(
        http_port,
        "medlink_hub_rejected_total{reason=\"out_of_range\"}"
    ) == 1.0));
    assert_eq!(
        metric(http_port, "medlink_hub_measurements_stored_total"),
        1.0
    );

    // Acknowledge and snooze over HTTP.
    let id = alert["id"].as_u64().unwrap();
    let (status, body) = http(
        http_port,
        "POST",
        &format!("/api/alerts/{id}/ack"),
        Some(r#"{"by":"nurse.jo"}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["acknowledged"]["by"],
        "nurse.jo"
    );
    let (status, _) = http(
        http_port,
        "POST",
        &format!("/api/alerts/{id}/snooze"),
        Some(r#"{"by":"nurse.jo","minutes":15}"#),
    );
    assert_eq!(status, 200);
    let (status, _) = http(
        http_port,
        "POST",
        "/api/alerts/999999/ack",
        Some(r#"{"by":"x"}"#),
    );
    assert_eq!(status, 404);

    // A last will ("offline" on the status topic) raises device offline.
    mosquitto_pub(
        mqtt_port,
        mq1,
        "medlink/v1/devices/mq-1/status",
        r#"{"state":"offline"}"#,
        true,
    );
    assert!(eventually(10, || {
        get_json(http_port, "/api/alerts")
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["rule"] == "device_offline" && a["subject"] == "mq-1")
    }));
    let _ = std::fs::remove_dir_all(&dir);
}

fn observation(code: &str, value: Value, unit: &str, when: &str) -> Value {
    json!({"fullUrl": format!("urn:uuid:{code}-{when}"), "request": {"method": "POST", "url": "Observation"},
           "resource": {"resourceType": "Observation", "status": "final",
                        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
                        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                        "subject": {"reference": "Patient/p-fhir"}, "effectiveDateTime": when,
                        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}})
}

/// A request with an optional `Prefer` header; the status and the body as JSON (Null if not).
fn fhir_request(port: u16, method: &str, path: &str, prefer: &str, body: &str) -> (u16, Value) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let prefer = if prefer.is_empty() {
        String::new()
    } else {
        format!("Prefer: {prefer}\r\n")
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{}{prefer}Content-Type: application/fhir+json\r\nContent-Length: {}\r\n\r\n{body}",
        authorization(port),
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

#[test]
fn fhir_output_validates_with_fhir_resources() {
    let python = venv_python();
    let dir = temp_dir("interop-fhir");
    let (http_port, mqtt_port) = (free_port(), free_port());
    let acvpu_password = register(&dir.join("hub.db"), "w-acvpu", "p-acvpu");
    let _hub = start_hub(
        &dir.join("hub.db"),
        http_port,
        &["--mqtt-listen".into(), format!("127.0.0.1:{mqtt_port}")],
    );

    let mut bp = observation("85354-9", json!(0), "mm[Hg]", "2026-11-21T10:04:00Z");
    let resource = &mut bp["resource"];
    resource.as_object_mut().unwrap().remove("valueQuantity");
    resource["component"] = json!([
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 128, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 82, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]);
    let mut hr = observation("8867-4", json!(88), "/min", "2026-11-21T10:00:00Z");
    hr["resource"]["device"] = json!({"reference": "Device/wearable-9"});
    let entries = vec![
        hr,
        observation("9279-1", json!(18), "/min", "2026-11-21T10:01:00Z"),
        observation("2708-6", json!(95), "%", "2026-11-21T10:02:00Z"),
        observation("8310-5", json!(100.4), "[degF]", "2026-11-22T10:03:00Z"),
        bp,
    ];
    // One bad entry: nothing of the bundle is stored.
    let mut bad = entries.clone();
    bad.push(observation(
        "8867-4",
        json!("fast"),
        "/min",
        "2026-11-21T10:05:00Z",
    ));
    let bundle = |entries: Vec<Value>| {
        json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}).to_string()
    };
    let (status, outcome) = http(http_port, "POST", "/fhir", Some(&bundle(bad)));
    assert_eq!(status, 400, "{outcome}");
    assert_eq!(
        get_json(http_port, "/fhir/Observation?patient=p-fhir")["total"],
        0,
        "all or nothing"
    );
    let (status, response) = http(http_port, "POST", "/fhir", Some(&bundle(entries)));
    assert_eq!(status, 200, "{response}");
    let response: Value = serde_json::from_str(&response).unwrap();
    assert_eq!(response["entry"].as_array().unwrap().len(), 5);

    let (status, _) = http(
        http_port,
        "PUT",
        "/fhir/Patient/p-fhir",
        Some(r#"{"resourceType":"Patient","id":"p-fhir","name":[{"text":"Ada Byron"}]}"#),
    );
    assert_eq!(status, 200);
    let all = get_json(
        http_port,
        "/fhir/Observation?patient=Patient/p-fhir&_count=2",
    );
    assert_eq!(
        all["total"], 10,
        "five vital signs and the NEWS2 as of each"
    );
    assert_eq!(all["entry"].as_array().unwrap().len(), 2);
    assert!(
        all["link"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["relation"] == "next")
    );
    let day = get_json(
        http_port,
        "/fhir/Observation?patient=p-fhir&date=ge2026-11-21&date=lt2026-11-22",
    );
    assert_eq!(day["total"], 8, "the temperature is on the next day");
    let hr = get_json(
        http_port,
        "/fhir/Observation?patient=p-fhir&code=http://loinc.org|8867-4",
    );
    assert_eq!(hr["total"], 1);
    let temp = get_json(http_port, "/fhir/Observation?code=8310-5");
    let celsius = temp["entry"][0]["resource"]["valueQuantity"]["value"]
        .as_f64()
        .unwrap();
    assert!(
        (celsius - 38.0).abs() < 1e-9,
        "100.4 [degF] is stored as 38 Cel, got {celsius}"
    );
    let bp_id = get_json(http_port, "/fhir/Observation?code=85354-9")["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = http(http_port, "GET", "/fhir/Observation/999-hr", None);
    assert_eq!(status, 404);
    // ACVPU and air or oxygen come from a device (they cannot be posted).
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let reading = format!(
        r#"{{"patient":"p-acvpu","seq":1,"time_ms":{now_ms},"hr":90,"acvpu":"V","o2":true}}"#
    );
    assert!(
        eventually(15, || {
            mosquitto_pub(
                mqtt_port,
                ("w-acvpu", &acvpu_password),
                "medlink/v1/devices/w-acvpu/vitals",
                &reading,
                false,
            );
            get_json(http_port, "/fhir/Observation?patient=p-acvpu")["total"] == 4
        }),
        "the reading with ACVPU and air or oxygen never reached the store"
    );
    let news2_params = get_json(http_port, "/fhir/Observation?patient=p-acvpu");
    let news2 = get_json(
        http_port,
        "/fhir/Observation?code=http://snomed.info/sct|1104051000000101&patient=p-acvpu",
    );
    assert_eq!(news2["total"], 1, "{news2}");
    let by_name = get_json(http_port, "/fhir/Patient?name=byr");
    assert_eq!(by_name["total"], 1, "{by_name}");
    assert_eq!(
        get_json(http_port, "/fhir/Patient?name=lovelace")["total"],
        0
    );
    // A scale change is audited, made as the token's name (not the body's): served as an
    // AuditEvent after the token's issue.
    let (status, body) = http(
        http_port,
        "PUT",
        "/api/patients/p-fhir/spo2-scale",
        Some(r#"{"scale":2,"by":"dr.lin"}"#),
    );
    assert_eq!(status, 200, "{body}");
    let audit_event = get_json(http_port, "/fhir/AuditEvent/2");
    assert_eq!(audit_event["agent"][0]["who"]["display"], TEST_TOKEN_NAME);
    assert_eq!(audit_event["subtype"][0]["code"], "spo2_scale_changed");
    let audit_events = get_json(http_port, "/fhir/AuditEvent?_count=1");
    assert_eq!(
        audit_events["total"], 2,
        "token issued, scale changed: {audit_events}"
    );
    let (status, _) = fhir_request(http_port, "GET", "/fhir/Patient", "", "");
    assert_eq!(status, 200);
    let lenient = get_json(http_port, "/fhir/Observation?patient=p-fhir&colour=red");
    assert_eq!(lenient["total"], 10, "an unknown parameter is ignored");

    // Every error is an OperationOutcome.
    let mut outcomes = vec![(
        "outcome-transaction",
        serde_json::from_str(&outcome).unwrap(),
    )];
    for (name, method, path, prefer, body, expected) in [
        ("outcome-not-found", "GET", "/fhir/Nothing", "", "", 404),
        (
            "outcome-no-create",
            "POST",
            "/fhir/Observation",
            "",
            "{}",
            405,
        ),
        (
            "outcome-strict",
            "GET",
            "/fhir/Patient?colour=red",
            "handling=strict",
            "",
            400,
        ),
        ("outcome-not-json", "POST", "/fhir", "", "{oops", 400),
    ] {
        let (status, body) = fhir_request(http_port, method, path, prefer, body);
        assert_eq!(status, expected, "{method} {path}: {body}");
        outcomes.push((name, body));
    }

    let documents = [
        ("metadata", get_json(http_port, "/fhir/metadata")),
        ("transaction-response", response.clone()),
        ("observations", all),
        ("observations-day", day),
        (
            "bp",
            get_json(http_port, &format!("/fhir/Observation/{bp_id}")),
        ),
        ("temperature", temp),
        ("patient", get_json(http_port, "/fhir/Patient/p-fhir")),
        ("patients", get_json(http_port, "/fhir/Patient")),
        ("observations-acvpu-air-or-oxygen-news2", news2_params),
        ("news2", news2),
        ("patients-by-name", by_name),
        ("observations-lenient", lenient),
        ("devices", get_json(http_port, "/fhir/Device")),
        ("device", get_json(http_port, "/fhir/Device/wearable-9")),
        ("audit-event", audit_event),
        ("audit-events", audit_events),
    ];
    let mut paths = Vec::new();
    for (name, document) in documents.into_iter().chain(outcomes) {
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, document.to_string()).unwrap();
        paths.push(path);
    }
    let types: std::collections::BTreeSet<String> = paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let doc: Value = serde_json::from_str(&text).unwrap();
            doc["resourceType"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    let served = [
        "AuditEvent",
        "Bundle",
        "CapabilityStatement",
        "Device",
        "Observation",
        "OperationOutcome",
        "Patient",
    ];
    assert_eq!(
        types,
        served.map(String::from).into(),
        "every type the hub serves"
    );
    let output = Command::new(python)
        .arg(repo_root().join("tests/interop/validate_fhir.py"))
        .args(&paths)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "fhir.resources rejected the output: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("validated {} resources", paths.len())),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
