//! The dashboard's HTTP surface over real HTTP: the page and its modules are served to anyone
//! (no patient data in them) with a same-origin-only content policy; the ward snapshot, a
//! patient's chart and the live stream answer only a signed-in person, and carry what a device
//! published: the patient's NEWS2 and its trend, each reading with NEWS2 as of it, and a
//! `patient` event on the stream.

mod common;

use common::http::{Caller, call, request_text, signed_in, tempdir};
use common::{eventually, start_hub};
use hub::auth::Role;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_serves_its_page_to_anyone_and_the_ward_to_a_signed_in_person() {
    let dir = tempdir("dashboard-api");
    let hub = start_hub(&dir, |_| {}).await;
    let addr = hub.http_addr;

    // The page and its modules: public, from this origin only.
    let page = call(addr, &Caller::Nobody, "GET", "/", "").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("/dashboard/app.js"), "{}", page.text);
    let policy = page.header("content-security-policy").unwrap_or_default();
    assert!(policy.contains("default-src 'self'"), "{policy}");
    let module = call(addr, &Caller::Nobody, "GET", "/dashboard/app.js", "").await;
    assert_eq!(module.status, 200);
    assert!(
        module
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/javascript")
    );

    // The data: nobody gets any of it without signing in.
    for path in [
        "/api/dashboard/ward",
        "/api/dashboard/patients/p-1/chart",
        "/api/dashboard/events",
    ] {
        let reply = call(addr, &Caller::Nobody, "GET", path, "").await;
        assert_eq!(reply.status, 401, "{path}: {}", reply.text);
    }

    // A patient whose pulse climbs: 80 (NEWS2 0), then 135 (3).
    let device = common::device(&hub, "w-1", "p-1").await;
    let now = hub::now_ms();
    for (seq, hr) in [(1, 80), (2, 135)] {
        let reading =
            json!({"patient": "p-1", "seq": seq, "time_ms": now - 60_000 + seq as i64, "hr": hr});
        device
            .publish_vitals(seq, reading.to_string())
            .await
            .unwrap();
    }
    assert!(eventually(|| device.counts().1 == 2).await);
    let nurse = signed_in(&hub, "ada", Role::Nurse).await;

    let ward = call(addr, &nurse, "GET", "/api/dashboard/ward?minutes=30", "").await;
    assert_eq!(ward.status, 200, "{}", ward.text);
    let patient = &ward.json["patients"][0];
    assert_eq!(patient["patient"], "p-1");
    assert_eq!(patient["news2"]["aggregate"], 3);
    let trend = ward.json["trends"]["p-1"].as_array().unwrap();
    assert_eq!(trend.last().unwrap()[1], 3, "{trend:?}");
    assert_eq!(
        ward.json["alerts"][0]["patient"], "p-1",
        "a red score raises an alert"
    );

    let chart = call(addr, &nurse, "GET", "/api/dashboard/patients/p-1/chart", "").await;
    assert_eq!(chart.status, 200, "{}", chart.text);
    let points = chart.json["points"].as_array().unwrap();
    let scores: Vec<_> = points
        .iter()
        .map(|p| p["news2"]["aggregate"].clone())
        .collect();
    assert_eq!(scores, [json!(0), json!(3)]);
    assert_eq!(points[1]["vitals"]["heart_rate"], 135.0);

    let unknown = call(addr, &nurse, "GET", "/api/dashboard/patients/p-9/chart", "").await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let too_long = call(addr, &nurse, "GET", "/api/dashboard/ward?minutes=0", "").await;
    assert_eq!(too_long.status, 400, "{}", too_long.text);

    // The live stream starts with every patient's summary.
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = request_text("GET", "/api/dashboard/events", &nurse, "", "");
    stream.write_all(request.as_bytes()).unwrap();
    let found = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stream).lines().map_while(Result::ok);
        let mut event = String::new();
        lines.any(|line| {
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_string();
            }
            event == "patient" && line.starts_with("data:") && line.contains("\"p-1\"")
        })
    })
    .await
    .unwrap();
    assert!(found, "no patient event for p-1 on the dashboard stream");
}
