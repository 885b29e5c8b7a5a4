//! Mutual TLS: a console with a certificate from the medlink CA gets a session; one with a
//! certificate from another CA, or with none, is refused by the station.

use link::pki::{self, Identity, PkiPaths};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn pki_in(dir: &std::path::Path) {
    pki::init(
        dir,
        &["localhost".to_string(), "127.0.0.1".to_string()],
        false,
    )
    .expect("pki init");
}

async fn station(dir: &std::path::Path) -> (quinn::Endpoint, SocketAddr) {
    let identity = Identity::load(&PkiPaths::in_dir(dir, "station")).unwrap();
    let endpoint = link::server_endpoint("127.0.0.1:0".parse().unwrap(), identity).unwrap();
    let addr = endpoint.local_addr().unwrap();
    (endpoint, addr)
}

/// Connects, then waits for the session to prove itself by a stream round trip.
/// Errors name why the console failed; a refusal must also leave the station without a session.
async fn try_session(
    client: quinn::Endpoint,
    addr: SocketAddr,
    station: quinn::Endpoint,
) -> Result<(), String> {
    let station_accepted = Arc::new(AtomicBool::new(false));
    let accepted = station_accepted.clone();
    let accepting = tokio::spawn(async move {
        let conn = link::accept_session(&station)
            .await
            .ok_or("endpoint closed")?;
        accepted.store(true, Ordering::SeqCst);
        let (mut send, _recv) = conn.accept_bi().await.map_err(|e| e.to_string())?;
        send.write_all(b"ok").await.map_err(|e| e.to_string())?;
        send.finish().map_err(|e| e.to_string())?;
        conn.closed().await;
        Ok::<(), String>(())
    });
    let result = async {
        let conn = link::connect(&client, addr, "localhost")
            .await
            .map_err(|e| e.to_string())?;
        let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
        send.write_all(b"hello").await.map_err(|e| e.to_string())?;
        let reply = recv.read_to_end(16).await.map_err(|e| e.to_string())?;
        conn.close(0u32.into(), b"done");
        if reply == b"ok" {
            Ok(())
        } else {
            Err("bad reply".to_string())
        }
    };
    let outcome = tokio::time::timeout(Duration::from_secs(10), result)
        .await
        .unwrap_or_else(|_| Err("no session within 10 s".into()));
    accepting.abort();
    match outcome {
        Err(e) if station_accepted.load(Ordering::SeqCst) => {
            Err(format!("station accepted, yet: {e}"))
        }
        other => other,
    }
}

#[tokio::test]
async fn a_console_from_the_same_ca_gets_a_session() {
    let dir = tempfile::tempdir().unwrap();
    pki_in(dir.path());
    let (station, addr) = station(dir.path()).await;
    let console = Identity::load(&PkiPaths::in_dir(dir.path(), "console")).unwrap();
    let client = link::client_endpoint(console, addr).unwrap();
    try_session(client, addr, station).await.expect("session");
}

#[tokio::test]
async fn a_console_with_a_certificate_from_another_ca_is_refused() {
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    pki_in(ours.path());
    pki_in(theirs.path());
    let (station, addr) = station(ours.path()).await;
    // Trusts our CA (so the station passes) but presents a certificate the station cannot trust.
    let mut paths = PkiPaths::in_dir(theirs.path(), "console");
    paths.ca_cert = ours.path().join("ca.crt");
    let client = link::client_endpoint(Identity::load(&paths).unwrap(), addr).unwrap();
    let err = try_session(client, addr, station)
        .await
        .expect_err("must be refused");
    assert!(!err.contains("station accepted"), "{err}");
}

#[tokio::test]
async fn a_console_without_a_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    pki_in(dir.path());
    let (station, addr) = station(dir.path()).await;
    let roots = Identity::load(&PkiPaths::in_dir(dir.path(), "console"))
        .unwrap()
        .roots;
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![link::ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let mut client = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    client.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let err = try_session(client, addr, station)
        .await
        .expect_err("must be refused");
    assert!(!err.contains("station accepted"), "{err}");
}

#[tokio::test]
async fn a_station_with_a_certificate_from_another_ca_is_refused_by_the_console() {
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    pki_in(ours.path());
    pki_in(theirs.path());
    let (station, addr) = station(theirs.path()).await;
    let client = link::client_endpoint(
        Identity::load(&PkiPaths::in_dir(ours.path(), "console")).unwrap(),
        addr,
    )
    .unwrap();
    let err = try_session(client, addr, station)
        .await
        .expect_err("must be refused");
    assert!(
        err.contains("certificate") || err.contains("UnknownIssuer"),
        "{err}"
    );
}

#[test]
fn init_refuses_to_overwrite_and_load_names_the_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    pki_in(dir.path());
    let again = pki::init(dir.path(), &["localhost".into()], false);
    assert!(matches!(again, Err(pki::PkiError::Exists(_))));
    std::fs::write(dir.path().join("console.key"), "not a key").unwrap();
    let err = Identity::load(&PkiPaths::in_dir(dir.path(), "console"))
        .err()
        .expect("bad key");
    assert!(err.to_string().contains("console.key"), "{err}");
}
