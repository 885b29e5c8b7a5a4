//! Devices speak only for themselves behind mosquitto too: mosquitto runs with the password and
//! ACL files `medlink hub device mosquitto` writes, the hub signs in with its own account, and a
//! real MQTT client (rumqttc) finds a wrong password refused, another device's topic and
//! `medlink/#` closed to it (nothing stored, nothing heard), a payload naming another patient
//! refused by the hub (neither stored nor scored by either of the hub's connections), and its own
//! readings stored.

mod common;

use common::*;
use rumqttc::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Packet, QoS};
use std::time::Duration;

fn reading(patient: &str, seq: u64) -> String {
    format!(
        r#"{{"patient":"{patient}","seq":{seq},"time_ms":{},"hr":72,"spo2":97}}"#,
        hub::now_ms()
    )
}

/// A red-score reading (pulse 140 alone scores 3: an alert).
fn alarming(patient: &str, seq: u64) -> String {
    reading(patient, seq).replace(r#""hr":72"#, r#""hr":140"#)
}

fn client(port: u16, user: &str, password: &str) -> (AsyncClient, EventLoop) {
    let mut options = MqttOptions::new(format!("raw-{user}"), "127.0.0.1", port);
    options
        .set_credentials(user, password)
        .set_keep_alive(Duration::from_secs(5));
    AsyncClient::new(options, 64)
}

/// Polls `eventloop` until `done()` (20 s at most); the topics of the publishes it received.
async fn pump(eventloop: &mut EventLoop, done: impl Fn() -> bool) -> Vec<String> {
    let mut heard = Vec::new();
    let wait = async {
        while !done() {
            if let Ok(Ok(Event::Incoming(Packet::Publish(p)))) =
                tokio::time::timeout(Duration::from_millis(20), eventloop.poll()).await
            {
                heard.push(p.topic);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("in time");
    heard
}

/// Publishes `body` (QoS 1) on `device`'s vitals topic.
async fn send(client: &AsyncClient, device: &str, body: String) {
    let topic = hub::topics::vitals(device);
    client
        .publish(topic, QoS::AtLeastOnce, false, body)
        .await
        .unwrap();
}

fn stored(db: &std::path::Path, device: &str, seq: u64) -> bool {
    let store = store::Store::open(db, store::Durability::Normal).unwrap();
    store.contains(device, seq).unwrap()
}

#[test]
fn mosquitto_with_the_hubs_files_binds_devices_to_their_topics() {
    if mosquitto_binary().is_none() {
        panic!("mosquitto is missing: run bash scripts/setup-mosquitto.sh");
    }
    let dir = temp_dir("mosquitto-acl");
    let db = dir.join("hub.db");
    let a_password = register(&db, "w-a", "p-a");
    let b_password = register(&db, "w-b", "p-b");
    let (_broker, port, _) = start_mosquitto(&dir, &db);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let config = hub::config::HubConfig {
            database: db.clone(),
            fsync: false,
            http: "127.0.0.1:0".parse().unwrap(),
            mqtt_url: Some(format!("mqtt://127.0.0.1:{port}")),
            mqtt_username: Some("medlink-hub".into()),
            mqtt_password_file: Some(dir.join("mosquitto/hub.password")),
            client_id: "acl-test-hub".into(),
            ..hub::config::HubConfig::default()
        };
        let hub = hub::start(config).await.expect("the hub starts");
        assert!(
            hub.wait_subscribed(Duration::from_secs(20)).await,
            "the hub signs in to mosquitto with its own account"
        );

        let (_wrong, mut eventloop) = client(port, "w-a", "wrong");
        let refused = eventloop.poll().await;
        assert!(
            matches!(refused, Err(ConnectionError::ConnectionRefused(_))),
            "{refused:?}"
        );

        let (a, mut a_loop) = client(port, "w-a", &a_password);
        let (b, mut b_loop) = client(port, "w-b", &b_password);
        a.subscribe("medlink/#", QoS::AtLeastOnce).await.unwrap();
        a.subscribe(hub::topics::ack("w-b"), QoS::AtLeastOnce)
            .await
            .unwrap();
        // A's own reading naming B's patient (refused by the hub), then A's own (stored).
        send(&a, "w-a", alarming("p-b", 9)).await;
        send(&a, "w-a", reading("p-a", 10)).await;
        let mut heard = pump(&mut a_loop, || stored(&db, "w-a", 10)).await;
        // A forges B's reading (mosquitto denies it: it answers a 3.1.1 client with a PUBACK
        // carrying reason code 135, which rumqttc takes as a broken connection); then B sends
        // its own.
        send(&a, "w-b", reading("p-b", 7)).await;
        let until = std::time::Instant::now() + Duration::from_millis(500);
        heard.extend(pump(&mut a_loop, move || std::time::Instant::now() >= until).await);
        send(&b, "w-b", reading("p-b", 8)).await;
        pump(&mut b_loop, || stored(&db, "w-b", 8)).await;
        // Give a stray delivery of B's topics to A time to arrive.
        let until = std::time::Instant::now() + Duration::from_millis(500);
        heard.extend(pump(&mut a_loop, move || std::time::Instant::now() >= until).await);
        let foreign: Vec<_> = heard.iter().filter(|t| !t.contains("/w-a/")).collect();
        assert!(foreign.is_empty(), "A heard {foreign:?}");
        assert!(
            !stored(&db, "w-b", 7),
            "A's forgery on B's topic is not stored"
        );
        assert!(
            !stored(&db, "w-a", 9),
            "a reading naming another patient is not stored"
        );
        assert!(hub.shared.metrics.rejected("schema") >= 1);
        let care = hub.shared.care.lock().unwrap();
        let for_b: Vec<_> = care
            .engine
            .active()
            .into_iter()
            .filter(|a| a.subject == "p-b")
            .collect();
        assert!(
            for_b.is_empty(),
            "nothing A said raised an alert for B's patient: {for_b:?}"
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}
