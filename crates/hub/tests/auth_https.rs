//! HTTPS: the hub refuses to serve plain HTTP beyond loopback, and with its certificate it
//! serves TLS (here on 0.0.0.0 with a certificate made for the test): the session cookie is
//! then `Secure`, and a request without credentials still gets 401.

#[allow(dead_code)]
mod common;

use common::http::{Caller, PASSWORD, add_user, parse_reply, request_text, tempdir};
use common::start_hub;
use hub::auth::Role;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_beyond_loopback_is_refused_at_start() {
    let dir = tempdir("https-refused");
    let config = hub::config::HubConfig {
        database: dir.join("hub.db"),
        fsync: false,
        http: "0.0.0.0:0".parse().unwrap(),
        ..hub::config::HubConfig::default()
    };
    let refused = hub::start(config).await.err().expect("refused");
    let message = refused.to_string();
    assert!(
        message.contains("0.0.0.0") && message.contains("--tls-cert"),
        "{message}"
    );
}

/// One HTTPS request trusting only `ca` (DER), named `localhost`.
fn https(port: u16, ca: &[u8], text: String) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.to_vec().into()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = "localhost".try_into().unwrap();
    let mut tls = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
    stream.write_all(text.as_bytes()).unwrap();
    let mut response = Vec::new();
    // The server closes after answering (Connection: close) without close_notify at times.
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_its_certificate_the_hub_serves_https_beyond_loopback() {
    let dir = tempdir("https-served");
    let ca = common::self_signed_localhost(&dir);
    let hub = start_hub(&dir, |config| {
        config.http = "0.0.0.0:0".parse().unwrap();
        config.tls_cert = Some(dir.join("hub.crt"));
        config.tls_key = Some(dir.join("hub.key"));
    })
    .await;
    let port = hub.http_addr.port();
    add_user(&hub, "nell", Role::Nurse);

    let nobody = request_text("GET", "/api/alerts", &Caller::Nobody, "", "");
    let ca_copy = ca.clone();
    let reply = tokio::task::spawn_blocking(move || https(port, &ca_copy, nobody))
        .await
        .unwrap();
    assert_eq!(parse_reply(&reply).status, 401, "{reply}");

    let body = serde_json::json!({"name": "nell", "password": PASSWORD}).to_string();
    let login = request_text("POST", "/auth/login", &Caller::Nobody, "", &body);
    let reply = tokio::task::spawn_blocking(move || https(port, &ca, login))
        .await
        .unwrap();
    let reply = parse_reply(&reply);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.header("set-cookie").unwrap().contains("secure"));

    // Plain HTTP on the TLS port gets nothing served.
    let plain = tokio::task::spawn_blocking(move || {
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = Vec::new();
        let _ = tcp.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    })
    .await
    .unwrap();
    assert!(!plain.contains("200 OK"), "{plain}");
}
