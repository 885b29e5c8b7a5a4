//! What the hub's integration tests share: a hub on loopback ports, and polling with a deadline.

pub mod http;

use hub::config::HubConfig;
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A hub on free loopback ports with its database in `dir` (no fsync), once it has subscribed.
pub async fn start_hub(
    dir: &std::path::Path,
    configure: impl FnOnce(&mut HubConfig),
) -> hub::RunningHub {
    let mut config = HubConfig {
        database: dir.join("hub.db"),
        fsync: false,
        http: "127.0.0.1:0".parse().unwrap(),
        mqtt_listen: format!("127.0.0.1:{}", free_port()).parse().unwrap(),
        ..HubConfig::default()
    };
    configure(&mut config);
    let hub = hub::start(config).await.expect("the hub starts");
    assert!(hub.wait_subscribed(Duration::from_secs(20)).await);
    hub
}

/// Polls `check` every 20 ms for up to 20 s.
pub async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..1000 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

/// Registers `id` to `patient` with the hub and connects it with its new password.
pub async fn device(hub: &hub::RunningHub, id: &str, patient: &str) -> hub::device::Device {
    let password = hub.register_device(id, patient).expect("registered");
    hub::device::Device::connect(&hub.mqtt_host, hub.mqtt_port, id, &password, patient)
        .await
        .expect("connected")
}

/// A self-signed certificate for `localhost`, written to `dir/hub.crt` and `dir/hub.key`; its DER
/// for a client's trust roots.
#[allow(dead_code)] // used by the TLS tests only
pub fn self_signed_localhost(dir: &std::path::Path) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.join("hub.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("hub.key"), key.serialize_pem()).unwrap();
    cert.der().to_vec()
}
