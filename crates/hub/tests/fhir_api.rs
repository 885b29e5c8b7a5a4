//! The hub's `/fhir` routes over real HTTP: every error is an OperationOutcome, unknown search
//! parameters are ignored (or refused with `Prefer: handling=strict`), `Patient?name=` filters,
//! the CapabilityStatement offers only what is served, locations carry no history, and posted
//! Observations neither take a device's sequence numbers nor raise "device offline".

mod common;

use common::http::{Target, full_access};
use common::{eventually, start_hub};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use vitals::alerts::{AlertConfig, Rule};

/// One HTTP/1.1 request with a token that may do everything; returns the status and the body parsed as JSON (Null if it is not).
fn request(addr: Target, method: &str, path: &str, headers: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr.addr).unwrap();
    let bearer = addr.bearer;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {bearer}\r\n{headers}Content-Type: application/fhir+json\r\nContent-Length: {}\r\n\r\n",
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

async fn call(addr: Target, method: &str, path: &str, headers: &str, body: &str) -> (u16, Value) {
    let (method, path, headers, body) = (
        method.to_string(),
        path.to_string(),
        headers.to_string(),
        body.to_string(),
    );
    tokio::task::spawn_blocking(move || request(addr, &method, &path, &headers, &body))
        .await
        .unwrap()
}

async fn get(addr: Target, path: &str) -> (u16, Value) {
    call(addr, "GET", path, "", "").await
}

fn heart_rate(patient: &str, device: Option<&str>, when: &str, value: f64) -> Value {
    let mut resource = json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": format!("Patient/{patient}")}, "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}});
    if let Some(device) = device {
        resource["device"] = json!({"reference": format!("Device/{device}")});
    }
    json!({"request": {"method": "POST", "url": "Observation"}, "resource": resource})
}

fn bundle(entries: Vec<Value>) -> String {
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}).to_string()
}

fn is_outcome(status: u16, body: &Value, expected: u16) -> bool {
    status == expected
        && body["resourceType"] == "OperationOutcome"
        && body["issue"][0]["severity"] == "error"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fhir_error_is_an_operation_outcome() {
    let dir = tempdir("fhir-errors");
    let hub = start_hub(&dir, |_| {}).await;
    let addr = full_access(&hub);
    for (method, path, body, status) in [
        ("GET", "/fhir/Nothing", "", 404),
        ("GET", "/fhir/Patient/nobody", "", 404),
        ("GET", "/fhir/Observation/7-hr", "", 404),
        ("POST", "/fhir/Observation", "{}", 405),
        ("DELETE", "/fhir/Patient/p-1", "", 405),
        ("GET", "/fhir", "", 405),
        ("POST", "/fhir", "{not json", 400),
        ("PUT", "/fhir/Patient/p-1", "[1,", 400),
        ("POST", "/fhir", r#"{"resourceType":"Patient"}"#, 400),
        ("GET", "/fhir/Observation?date=soon", "", 400),
        ("GET", "/fhir/Patient?_count=many", "", 400),
    ] {
        let (got, outcome) = call(addr, method, path, "", body).await;
        assert!(
            is_outcome(got, &outcome, status),
            "{method} {path}: {got} {outcome}"
        );
    }
    let (status, outcome) = get(addr, "/api/nothing").await;
    assert_eq!(
        (status, outcome["error"].is_string()),
        (404, true),
        "/api keeps its own format"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_search_parameters_are_ignored_unless_the_client_is_strict() {
    let dir = tempdir("fhir-strict");
    let hub = start_hub(&dir, |_| {}).await;
    let addr = full_access(&hub);
    let posted = bundle(vec![heart_rate("p-1", None, "2026-11-21T10:00:00Z", 80.0)]);
    assert_eq!(call(addr, "POST", "/fhir", "", &posted).await.0, 200);
    for resource in ["Observation", "Patient", "Device"] {
        let path = format!("/fhir/{resource}?colour=red&_count=5");
        let (status, found) = get(addr, &path).await;
        assert_eq!(status, 200, "{resource}: {found}");
        let self_link = found["link"][0]["url"].as_str().unwrap();
        assert!(
            self_link.ends_with(&format!("/fhir/{resource}?_count=5&_offset=0")),
            "{self_link}"
        );
        let strict = "Prefer: handling=strict\r\n";
        let (status, outcome) = call(addr, "GET", &path, strict, "").await;
        assert!(is_outcome(status, &outcome, 400), "{resource}: {outcome}");
        assert!(
            outcome["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains("colour")
        );
    }
    let (_, found) = get(addr, "/fhir/Observation?patient=p-1&colour=red").await;
    assert_eq!(found["total"], 2, "the heart rate and the NEWS2 as of it");
    let self_link = found["link"][0]["url"].as_str().unwrap();
    assert!(
        self_link.contains("patient=p-1") && !self_link.contains("colour"),
        "{self_link}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patient_name_search_filters() {
    let dir = tempdir("fhir-name");
    let hub = start_hub(&dir, |_| {}).await;
    let addr = full_access(&hub);
    for (id, name) in [
        ("p-1", "Ada Byron"),
        ("p-2", "Grace Hopper"),
        ("p-3", "Adam Smith"),
    ] {
        let body = json!({"resourceType": "Patient", "id": id, "name": [{"text": name}]});
        let path = format!("/fhir/Patient/{id}");
        assert_eq!(call(addr, "PUT", &path, "", &body.to_string()).await.0, 200);
    }
    let ids = |found: &Value| -> Vec<String> {
        found["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    for (query, expected) in [
        ("name=x", vec![]),
        ("name=ada", vec!["p-1", "p-3"]),
        ("name=ADA", vec!["p-1", "p-3"]),
        ("name=hop", vec!["p-2"]),
        ("name=byron,smith", vec!["p-1", "p-3"]),
        ("name=ada&name=smi", vec!["p-3"]),
        ("name=ada&_id=p-1", vec!["p-1"]),
        ("name=ada&_count=1", vec!["p-1"]),
    ] {
        let (status, found) = get(addr, &format!("/fhir/Patient?{query}")).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(ids(&found), expected, "{query}");
    }
    let (_, paged) = get(addr, "/fhir/Patient?name=ada&_count=1").await;
    assert_eq!(paged["total"], 2, "total counts every match");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_capability_statement_offers_only_what_is_served() {
    let dir = tempdir("fhir-capability");
    let hub = start_hub(&dir, |_| {}).await;
    let addr = full_access(&hub);
    let (_, cs) = get(addr, "/fhir/metadata").await;
    let resources = cs["rest"][0]["resource"].as_array().unwrap().clone();
    for resource in resources {
        let kind = resource["type"].as_str().unwrap();
        for interaction in resource["interaction"].as_array().unwrap() {
            let code = interaction["code"].as_str().unwrap();
            let (method, path, body) = match code {
                "read" => ("GET", format!("/fhir/{kind}/nobody"), String::new()),
                "search-type" => ("GET", format!("/fhir/{kind}"), String::new()),
                "update" => (
                    "PUT",
                    format!("/fhir/{kind}/p-9"),
                    json!({"resourceType": kind, "id": "p-9"}).to_string(),
                ),
                other => panic!("{kind} advertises {other}, which this test does not know"),
            };
            let (status, answer) = call(addr, method, &path, "", &body).await;
            assert!(
                status == 200 || (code == "read" && status == 404),
                "{kind} {code}: {status} {answer}"
            );
        }
        for param in resource["searchParam"].as_array().unwrap() {
            let name = param["name"].as_str().unwrap();
            let path = format!("/fhir/{kind}?{name}=1");
            let (status, answer) =
                call(addr, "GET", &path, "Prefer: handling=strict\r\n", "").await;
            assert!(status == 200 || name == "date", "{kind}?{name}: {answer}");
        }
    }
    let (status, _) = call(addr, "POST", "/fhir/Observation", "", "{}").await;
    assert_eq!(status, 405, "create is not served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posted_observations_keep_out_of_device_sequences_and_liveness() {
    let dir = tempdir("fhir-post");
    let hub = start_hub(&dir, |config| {
        config.alerts = AlertConfig {
            offline_after_ms: 300,
            no_data_after_ms: 300,
            ..AlertConfig::default()
        };
    })
    .await;
    let addr = full_access(&hub);
    let device = common::device(&hub, "w-1", "p-1").await;
    let reading = |seq: u64| {
        json!({"patient": "p-1", "seq": seq, "time_ms": hub::now_ms() + seq as i64, "hr": 70})
            .to_string()
    };
    device.publish_vitals(1, reading(1)).await.unwrap();
    assert!(eventually(|| device.counts().1 == 1).await);

    // A post naming the device, and one naming none.
    let posted = bundle(vec![
        heart_rate("p-1", Some("w-1"), "2026-11-21T10:00:00Z", 81.0),
        heart_rate("p-2", None, "2026-11-21T10:00:00Z", 82.0),
    ]);
    let (status, response) = call(addr, "POST", "/fhir", "", &posted).await;
    assert_eq!(status, 200, "{response}");
    for entry in response["entry"].as_array().unwrap() {
        let location = entry["response"]["location"].as_str().unwrap();
        assert!(!location.contains("_history"), "{location}");
        assert!(entry["response"].get("etag").is_none());
        assert_eq!(
            get(addr, &format!("/fhir/{location}")).await.0,
            200,
            "{location}"
        );
    }
    let (_, first) = get(
        addr,
        &format!(
            "/fhir/{}",
            response["entry"][0]["response"]["location"]
                .as_str()
                .unwrap()
        ),
    )
    .await;
    assert_eq!(first["device"]["reference"], "Device/w-1");
    let (_, second) = get(
        addr,
        &format!(
            "/fhir/{}",
            response["entry"][1]["response"]["location"]
                .as_str()
                .unwrap()
        ),
    )
    .await;
    assert!(second.get("device").is_none(), "{second}");

    // The device's next reading (seq 2) is stored, not taken for a duplicate.
    device.publish_vitals(2, reading(2)).await.unwrap();
    assert!(eventually(|| device.counts().1 == 2).await);
    let (_, from_device) = get(addr, "/fhir/Observation?patient=p-1").await;
    assert_eq!(
        from_device["total"], 6,
        "three heart rates and the NEWS2 as of each: {from_device}"
    );

    // The device goes silent and is reported; nothing is ever reported for the FHIR API.
    let offline = |subject: &str| {
        let care = hub.shared.care.lock().unwrap();
        care.engine
            .active()
            .iter()
            .any(|a| matches!(a.rule, Rule::DeviceOffline | Rule::NoData) && a.subject == subject)
    };
    assert!(
        eventually(|| offline("w-1")).await,
        "the control: a silent device is reported"
    );
    let care = hub.shared.care.lock().unwrap();
    let about_fhir: Vec<_> = care
        .engine
        .active()
        .into_iter()
        .filter(|a| matches!(a.rule, Rule::DeviceOffline | Rule::NoData) && a.subject != "w-1")
        .cloned()
        .collect();
    assert!(about_fhir.is_empty(), "{about_fhir:?}");
    assert!(
        care.devices.keys().all(|d| d == "w-1"),
        "{:?}",
        care.devices.keys()
    );
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("medlink-hub-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acvpu_air_or_oxygen_and_news2_are_searchable_observations() {
    let dir = tempdir("fhir-news2-params");
    let hub = start_hub(&dir, |_| {}).await;
    let addr = full_access(&hub);
    let device = common::device(&hub, "w-2", "p-7").await;
    let reading = json!({"patient": "p-7", "seq": 1, "time_ms": hub::now_ms(), "hr": 90,
                         "acvpu": "V", "o2": true});
    device.publish_vitals(1, reading.to_string()).await.unwrap();
    assert!(eventually(|| device.counts().1 == 1).await);

    let (_, all) = get(addr, "/fhir/Observation?patient=p-7").await;
    assert_eq!(
        all["total"], 4,
        "heart rate, ACVPU, air or oxygen, NEWS2: {all}"
    );
    let acvpu_search = "/fhir/Observation?code=http://snomed.info/sct|1104441000000107";
    let (_, acvpu) = get(addr, acvpu_search).await;
    assert_eq!(acvpu["total"], 1, "{acvpu}");
    let resource = &acvpu["entry"][0]["resource"];
    assert_eq!(resource["valueCodeableConcept"]["coding"][0]["code"], "V");
    let id = resource["id"].as_str().unwrap();
    assert!(id.ends_with("-acvpu"), "{id}");
    assert_eq!(get(addr, &format!("/fhir/Observation/{id}")).await.0, 200);
    let (_, o2) = get(addr, "/fhir/Observation?code=air-or-oxygen").await;
    assert_eq!(o2["total"], 1, "{o2}");
    let value = &o2["entry"][0]["resource"]["valueCodeableConcept"];
    assert_eq!(value["text"], "Supplemental oxygen");

    let news2_search = "/fhir/Observation?patient=p-7&code=http://snomed.info/sct|1104051000000101";
    let (_, news2) = get(addr, news2_search).await;
    assert_eq!(news2["total"], 1, "{news2}");
    let resource = &news2["entry"][0]["resource"];
    assert_eq!(
        resource["valueQuantity"]["value"], 5,
        "ACVPU V 3 + oxygen 2 + pulse 90 0"
    );
    let id = resource["id"].as_str().unwrap();
    let (status, read) = get(addr, &format!("/fhir/Observation/{id}")).await;
    assert_eq!((status, &read), (200, resource));
}
