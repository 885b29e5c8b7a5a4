//! Devices speak only for themselves, proved with a real MQTT client (rumqttc) against the
//! embedded gateway: a wrong password is refused; a device publishing on another device's topic
//! is refused, counted (metrics and `/metrics`) and nothing of it is stored; a device cannot
//! subscribe to `medlink/#`; a payload naming another patient is refused; a registered device's
//! readings are stored for the patient it is registered to.

mod common;

use common::{eventually, start_hub};
use hub::metrics::DeviceRefusal;
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, MqttOptions, Packet, QoS,
    SubscribeReasonCode,
};
use std::time::Duration;

fn reading(patient: &str, seq: u64) -> String {
    format!(
        r#"{{"patient":"{patient}","seq":{seq},"time_ms":{},"hr":72,"spo2":97}}"#,
        hub::now_ms()
    )
}

fn client(hub: &hub::RunningHub, user: &str, password: &str) -> (AsyncClient, EventLoop) {
    let mut options = MqttOptions::new(format!("raw-{user}"), &hub.mqtt_host, hub.mqtt_port);
    options
        .set_credentials(user, password)
        .set_keep_alive(Duration::from_secs(5));
    AsyncClient::new(options, 64)
}

/// Polls until the CONNACK (or the refusal) arrives.
async fn connack(eventloop: &mut EventLoop) -> Result<(), ConnectionError> {
    loop {
        if let Event::Incoming(Packet::ConnAck(_)) = eventloop.poll().await? {
            return Ok(());
        }
    }
}

/// Polls until a packet `pick` accepts arrives (10 s at most).
async fn next<T>(eventloop: &mut EventLoop, mut pick: impl FnMut(Packet) -> Option<T>) -> T {
    let wait = async {
        loop {
            if let Ok(Event::Incoming(packet)) = eventloop.poll().await
                && let Some(found) = pick(packet)
            {
                return found;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("the packet arrives")
}

/// Publishes `body` (QoS 1) on `device`'s vitals topic.
async fn send(client: &AsyncClient, device: &str, body: String) {
    let topic = hub::topics::vitals(device);
    client
        .publish(topic, QoS::AtLeastOnce, false, body)
        .await
        .unwrap();
}

/// The next report on `device`'s `error` topic, as text.
async fn error_report(eventloop: &mut EventLoop, device: &str) -> String {
    let topic = hub::topics::error(device);
    let report = next(eventloop, |p| match p {
        Packet::Publish(p) if p.topic == topic => Some(p.payload),
        _ => None,
    })
    .await;
    String::from_utf8_lossy(&report).into_owned()
}

fn stored(hub: &hub::RunningHub, device: &str, seq: u64) -> bool {
    hub.shared
        .store
        .lock()
        .unwrap()
        .contains(device, seq)
        .unwrap()
}

/// What `/metrics` shows (rendered as the route renders it; the route itself needs a token).
fn metrics_text(hub: &hub::RunningHub) -> String {
    hub.shared.metrics.render(0, 0)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("medlink-gw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_and_unknown_devices_are_refused() {
    let dir = temp_dir("login");
    let hub = start_hub(&dir, |_| {}).await;
    let password = hub.register_device("w-a", "p-a").unwrap();
    for (user, password) in [("w-a", "wrong"), ("w-unknown", password.as_str())] {
        let (_client, mut eventloop) = client(&hub, user, password);
        let refused = connack(&mut eventloop).await;
        assert!(
            matches!(
                refused,
                Err(ConnectionError::ConnectionRefused(
                    ConnectReturnCode::BadUserNamePassword
                ))
            ),
            "{user}: {refused:?}"
        );
    }
    let mut anonymous = MqttOptions::new("anonymous", &hub.mqtt_host, hub.mqtt_port);
    anonymous.set_keep_alive(Duration::from_secs(5));
    let (_client, mut eventloop) = AsyncClient::new(anonymous, 8);
    assert!(matches!(
        connack(&mut eventloop).await,
        Err(ConnectionError::ConnectionRefused(
            ConnectReturnCode::NotAuthorized
        ))
    ));
    let (_client, mut eventloop) = client(&hub, "w-a", &password);
    connack(&mut eventloop)
        .await
        .expect("the right password signs in");
    assert_eq!(hub.shared.metrics.device_refused(DeviceRefusal::Connect), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_speaks_only_for_itself() {
    let dir = temp_dir("acl");
    let hub = start_hub(&dir, |_| {}).await;
    let victim = common::device(&hub, "w-b", "p-b").await;
    let password = hub.register_device("w-a", "p-a").unwrap();
    let (a, mut eventloop) = client(&hub, "w-a", &password);
    connack(&mut eventloop).await.unwrap();

    // Its own answers it may hear; `medlink/#` and another device's answers it may not.
    a.subscribe(hub::topics::error("w-a"), QoS::AtLeastOnce)
        .await
        .unwrap();
    a.subscribe("medlink/#", QoS::AtLeastOnce).await.unwrap();
    a.subscribe(hub::topics::ack("w-b"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let mut codes = Vec::new();
    while codes.len() < 3 {
        let suback = next(&mut eventloop, |p| match p {
            Packet::SubAck(s) => Some(s.return_codes),
            _ => None,
        })
        .await;
        codes.extend(suback);
    }
    assert_eq!(
        codes,
        [
            SubscribeReasonCode::Success(QoS::AtMostOnce),
            SubscribeReasonCode::Failure,
            SubscribeReasonCode::Failure
        ]
    );
    assert_eq!(
        hub.shared.metrics.device_refused(DeviceRefusal::Subscribe),
        2
    );

    // Device A forges a reading of device B (and of B's patient): refused, counted, reported
    // to A, nothing stored; B's own reading is stored.
    send(&a, "w-b", reading("p-b", 7)).await;
    let report = error_report(&mut eventloop, "w-a").await;
    assert!(report.contains("publish_acl"), "{report}");
    victim.publish_vitals(8, reading("p-b", 8)).await.unwrap();
    assert!(
        eventually(|| stored(&hub, "w-b", 8)).await,
        "B's reading is stored"
    );
    assert!(!stored(&hub, "w-b", 7), "A's forgery is not");
    assert_eq!(hub.shared.metrics.device_refused(DeviceRefusal::Publish), 1);
    let text = metrics_text(&hub);
    assert!(
        text.contains("medlink_hub_device_refused_total{what=\"publish_acl\"} 1"),
        "{text}"
    );
    assert!(text.contains("medlink_hub_device_refused_total{what=\"subscribe_acl\"} 2"));

    // A on its own topic, naming another patient: refused whole, reported, nothing stored.
    send(&a, "w-a", reading("p-b", 9)).await;
    let report = error_report(&mut eventloop, "w-a").await;
    assert!(report.contains("registered to p-a"), "{report}");
    assert!(!stored(&hub, "w-a", 9));

    // A's own reading for its own patient is stored, for that patient.
    send(&a, "w-a", reading("p-a", 10)).await;
    let wait = async {
        while !stored(&hub, "w-a", 10) {
            let _ = tokio::time::timeout(Duration::from_millis(20), eventloop.poll()).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("A's own reading is stored");
    let device = hub.shared.store.lock().unwrap().device("w-a").unwrap();
    assert_eq!(device.unwrap().patient.as_deref(), Some("p-a"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_last_will_on_another_devices_topic_is_refused() {
    let dir = temp_dir("will");
    let hub = start_hub(&dir, |_| {}).await;
    let password = hub.register_device("w-a", "p-a").unwrap();
    let mut options = MqttOptions::new("raw-will", &hub.mqtt_host, hub.mqtt_port);
    options
        .set_credentials("w-a", password)
        .set_last_will(rumqttc::LastWill::new(
            hub::topics::status("w-b"),
            r#"{"state":"offline"}"#,
            QoS::AtLeastOnce,
            false,
        ));
    let (_client, mut eventloop) = AsyncClient::new(options, 8);
    assert!(matches!(
        connack(&mut eventloop).await,
        Err(ConnectionError::ConnectionRefused(
            ConnectReturnCode::NotAuthorized
        ))
    ));
    assert_eq!(hub.shared.metrics.device_refused(DeviceRefusal::Will), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_refuses_cleartext_beyond_loopback() {
    let dir = temp_dir("cleartext");
    let config = hub::config::HubConfig {
        database: dir.join("hub.db"),
        http: "127.0.0.1:0".parse().unwrap(),
        mqtt_listen: "0.0.0.0:0".parse().unwrap(),
        ..hub::config::HubConfig::default()
    };
    let refused = hub::start(config).await.err().expect("refused");
    assert!(
        refused.to_string().contains("beyond loopback, without TLS"),
        "{refused}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends a CONNECT as `user`/`password` over `stream` and returns the CONNACK's code (`None`
/// when the connection closes first).
async fn connect_over<S>(stream: &mut S, user: &str, password: &str) -> Option<ConnectReturnCode>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut connect = rumqttc::Connect::new(format!("tls-{user}"));
    connect.set_login(user, password);
    let mut out = bytes::BytesMut::new();
    Packet::Connect(connect).write(&mut out, 1024).unwrap();
    stream.write_all(&out).await.ok()?;
    let mut buf = bytes::BytesMut::new();
    loop {
        match Packet::read(&mut buf, 1024) {
            Ok(Packet::ConnAck(ack)) => return Some(ack.code),
            Ok(_) => return None,
            Err(_) => {
                if stream.read_buf(&mut buf).await.ok()? == 0 {
                    return None;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_certificate_the_gateway_speaks_mqtt_over_tls_beyond_loopback() {
    let dir = temp_dir("tls");
    let der = common::self_signed_localhost(&dir);
    let hub = start_hub(&dir, |config| {
        config.mqtt_listen = "0.0.0.0:0".parse().unwrap();
        config.mqtt_tls_cert = Some(dir.join("hub.crt"));
        config.mqtt_tls_key = Some(dir.join("hub.key"));
    })
    .await;
    let password = hub.register_device("w-tls", "p-tls").unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der.into()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tls = || async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", hub.mqtt_port))
            .await
            .unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        connector.connect(name, tcp).await.unwrap()
    };
    let mut stream = tls().await;
    let code = connect_over(&mut stream, "w-tls", &password).await;
    assert_eq!(code, Some(ConnectReturnCode::Success));
    let mut stream = tls().await;
    let code = connect_over(&mut stream, "w-tls", "wrong").await;
    assert_eq!(code, Some(ConnectReturnCode::BadUserNamePassword));
    // Plain MQTT on the TLS port gets no CONNACK.
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", hub.mqtt_port))
        .await
        .unwrap();
    assert_eq!(connect_over(&mut plain, "w-tls", &password).await, None);
    let _ = std::fs::remove_dir_all(&dir);
}
