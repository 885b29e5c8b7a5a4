//! Roles, expiry and revocation at the handshake, over real QUIC on loopback: a surgeon or an
//! observer from the site's CA gets a session and the station reads who they are; an expired, a
//! not-yet-valid, a revoked (while the station runs), a foreign-CA, a station and a role-less
//! certificate are refused, each with a log line naming the certificate and the reason.

use link::pki::{self, Identity, LeafRequest, PkiPaths, RevocationReason};
use link::{Revocations, Role};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DAY: i64 = 86_400;

/// Log lines written on this thread while the guard lives (the tests run on a current-thread
/// runtime, so the station's handshakes log here too).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || logs.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn site(dir: &Path) {
    pki::init(dir, &["localhost".into(), "127.0.0.1".into()], false).expect("pki init");
}

/// Issues a certificate from the CA in `ca_dir` into `out`, valid between the two offsets from now.
fn issue(ca_dir: &Path, out: &Path, role: Role, name: &str, from: i64, to: i64) -> pki::Issued {
    let now = pki::now_unix();
    let request = LeafRequest {
        role,
        name: name.into(),
        not_before: now + from,
        not_after: now + to,
        station_names: Vec::new(),
    };
    pki::issue(ca_dir, None, &request, out, false).expect("issue")
}

fn holder(issued: &pki::Issued) -> Identity {
    Identity::load(&PkiPaths {
        ca_cert: issued.ca_cert.clone(),
        cert: issued.cert.clone(),
        key: issued.key.clone(),
    })
    .expect("load the issued files")
}

struct Station {
    endpoint: quinn::Endpoint,
    addr: SocketAddr,
    revocations: Revocations,
}

fn station(dir: &Path) -> Station {
    station_with(dir, "station")
}

/// What one session attempt came to: the identities each side read, or why it failed.
#[derive(Debug)]
struct Session {
    console_saw: trust::Identity,
    station_saw: trust::Identity,
}

/// Connects `console` to `station`, and proves the session with a stream round trip (a refused
/// client certificate shows only after the client's side of the handshake is done).
async fn try_session(station: &Station, console: Identity) -> Result<Session, String> {
    let server = station.endpoint.clone();
    let accepting = tokio::spawn(async move {
        let connection = server.accept().await?.await.ok()?;
        let seen = link::peer_identity(&connection).ok();
        let (mut send, _recv) = connection.accept_bi().await.ok()?;
        send.write_all(b"ok").await.ok()?;
        send.finish().ok()?;
        connection.closed().await;
        seen
    });
    let client = link::client_endpoint(console, station.addr).map_err(|e| e.to_string())?;
    let attempt = async {
        let connection = link::connect(&client, station.addr, "localhost")
            .await
            .map_err(|e| e.to_string())?;
        let (mut send, mut recv) = connection.open_bi().await.map_err(|e| e.to_string())?;
        send.write_all(b"hello").await.map_err(|e| e.to_string())?;
        let reply = recv.read_to_end(16).await.map_err(|e| e.to_string())?;
        let console_saw = link::peer_identity(&connection).map_err(|e| e.to_string())?;
        connection.close(0u32.into(), b"done");
        if reply != b"ok" {
            return Err("bad reply".to_string());
        }
        Ok(console_saw)
    };
    let outcome = tokio::time::timeout(Duration::from_secs(10), attempt)
        .await
        .unwrap_or_else(|_| Err("no session within 10 s".into()));
    let station_saw = match outcome {
        Ok(_) => accepting.await.ok().flatten(),
        Err(_) => {
            accepting.abort();
            None
        }
    };
    match (outcome, station_saw) {
        (Ok(console_saw), Some(station_saw)) => Ok(Session {
            console_saw,
            station_saw,
        }),
        (Ok(_), None) => Err("the console got a session the station did not".into()),
        (Err(e), _) => Err(e),
    }
}

fn refused_line(logs: &Logs, name: &str, reason: &str) -> String {
    let text = logs.text();
    text.lines()
        .find(|line| {
            line.contains("WARN")
                && line.contains(&format!("refused certificate \"{name}\""))
                && line.contains(reason)
        })
        .unwrap_or_else(|| panic!("no refusal of {name} for {reason:?} in:\n{text}"))
        .to_string()
}

#[tokio::test]
async fn an_issued_surgeon_connects_and_the_station_reads_who_it_is() {
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let out = dir.path().join("people");
    let issued = issue(dir.path(), &out, Role::Surgeon, "Dr Li Wei", 0, DAY);
    let station = station(dir.path());
    let session = try_session(&station, holder(&issued))
        .await
        .expect("session");
    assert_eq!(session.station_saw, issued.identity);
    assert_eq!(session.station_saw.name, "Dr Li Wei");
    assert_eq!(session.station_saw.role, Role::Surgeon);
    assert_eq!(session.console_saw.role, Role::Station);
    assert!(!station.revocations.is_revoked(&issued.identity.serial));
}

#[tokio::test]
async fn an_observer_is_admitted_as_an_observer() {
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let issued = issue(
        dir.path(),
        &dir.path().join("o"),
        Role::Observer,
        "Student A",
        0,
        DAY,
    );
    let station = station(dir.path());
    let session = try_session(&station, holder(&issued))
        .await
        .expect("session");
    assert_eq!(session.station_saw.role, Role::Observer);
    assert!(!session.station_saw.role.may_operate());
}

#[tokio::test]
async fn the_demo_console_made_by_init_is_a_surgeon() {
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let station = station(dir.path());
    let console = Identity::load(&PkiPaths::in_dir(dir.path(), "console")).unwrap();
    let session = try_session(&station, console).await.expect("session");
    assert_eq!(session.station_saw.name, pki::DEMO_SURGEON);
    assert_eq!(session.station_saw.role, Role::Surgeon);
}

#[tokio::test]
async fn an_expired_certificate_is_refused_by_name() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let issued = issue(
        dir.path(),
        &dir.path().join("x"),
        Role::Surgeon,
        "Dr Gone",
        -30 * DAY,
        -DAY,
    );
    let station = station(dir.path());
    try_session(&station, holder(&issued))
        .await
        .expect_err("an expired certificate must be refused");
    let line = refused_line(&logs, "Dr Gone", ": expired");
    assert!(line.contains("role surgeon"), "{line}");
    assert!(line.contains(&issued.identity.serial), "{line}");
}

#[tokio::test]
async fn a_certificate_not_yet_valid_is_refused() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let issued = issue(
        dir.path(),
        &dir.path().join("x"),
        Role::Surgeon,
        "Dr Soon",
        DAY,
        30 * DAY,
    );
    let station = station(dir.path());
    try_session(&station, holder(&issued))
        .await
        .expect_err("a certificate not yet valid must be refused");
    refused_line(&logs, "Dr Soon", "not yet valid");
}

#[tokio::test]
async fn a_certificate_revoked_while_the_station_runs_is_refused_at_the_next_handshake() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let issued = issue(
        dir.path(),
        &dir.path().join("x"),
        Role::Surgeon,
        "Dr Lost Laptop",
        0,
        DAY,
    );
    let station = station(dir.path());
    let first = try_session(&station, holder(&issued))
        .await
        .expect("session before revoke");

    let update = pki::revoke(
        dir.path(),
        None,
        &issued.cert,
        RevocationReason::KeyCompromise,
        pki::now_unix(),
    )
    .expect("revoke");
    assert_eq!(update.number, 1);

    // The same endpoint, not restarted: the next handshake reads the new list.
    try_session(&station, holder(&issued))
        .await
        .expect_err("a revoked certificate must be refused");
    refused_line(&logs, "Dr Lost Laptop", "revoked (keyCompromise)");
    // The station can now drop the session that connected before the revocation.
    assert!(station.revocations.is_revoked(&issued.identity.serial));
    let live = station
        .revocations
        .check(&first.station_saw, pki::now_unix());
    assert!(
        matches!(live, Err(link::Refusal::Revoked { .. })),
        "{live:?}"
    );

    // Others are still admitted.
    let other = issue(
        dir.path(),
        &dir.path().join("y"),
        Role::Bedside,
        "Nurse Ana",
        0,
        DAY,
    );
    try_session(&station, holder(&other))
        .await
        .expect("another holder");
}

#[tokio::test]
async fn a_certificate_from_a_foreign_ca_is_refused() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    site(ours.path());
    site(theirs.path());
    let issued = issue(
        theirs.path(),
        &theirs.path().join("x"),
        Role::Surgeon,
        "Dr Elsewhere",
        0,
        DAY,
    );
    let station = station(ours.path());
    // Trusts our CA (so the station passes) but presents a certificate from theirs.
    let mut console = holder(&issued);
    console.roots = Identity::load(&PkiPaths::in_dir(ours.path(), "console"))
        .unwrap()
        .roots;
    try_session(&station, console)
        .await
        .expect_err("a foreign certificate must be refused");
    refused_line(&logs, "Dr Elsewhere", "not issued by this site's CA");
}

#[tokio::test]
async fn a_station_certificate_never_acts_as_a_console() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let station = station(dir.path());
    let impostor = Identity::load(&PkiPaths::in_dir(dir.path(), "station")).unwrap();
    try_session(&station, impostor)
        .await
        .expect_err("a station certificate must be refused as a console");
    refused_line(
        &logs,
        pki::DEMO_STATION,
        "role station may not act as a console",
    );
}

#[tokio::test]
async fn device_and_unknown_roles_are_not_consoles() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let station = station(dir.path());
    for (role, name) in [
        (Role::HifuDevice, "HIFU 1"),
        (Role::Other("anaesthetist".into()), "Dr Gas"),
    ] {
        let issued = issue(
            dir.path(),
            &dir.path().join("d"),
            role.clone(),
            name,
            0,
            DAY,
        );
        try_session(&station, holder(&issued))
            .await
            .expect_err("not a console role");
        refused_line(
            &logs,
            name,
            &format!("role {role} may not act as a console"),
        );
    }
}

/// A certificate from the right CA, valid, but with no role URI (as `pki init` made before roles).
fn roleless(dir: &Path) -> (PathBuf, PathBuf) {
    let ca_pem = std::fs::read_to_string(dir.join("ca.crt")).unwrap();
    let ca_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(dir.join("ca.key")).unwrap()).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca_pem, ca_key).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["medlink-console".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "medlink console");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let (cert_path, key_path) = (dir.join("old.crt"), dir.join("old.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

#[tokio::test]
async fn a_certificate_without_a_role_is_refused() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let station = station(dir.path());
    let (cert, key) = roleless(dir.path());
    let der = rustls_pemfile::certs(&mut std::fs::read(&cert).unwrap().as_slice())
        .next()
        .unwrap()
        .unwrap();
    let err = link::identity_of(&der).expect_err("no role");
    assert!(
        err.to_string()
            .contains("certificate medlink console carries no medlink role"),
        "{err}"
    );
    let console = Identity::load(&PkiPaths {
        ca_cert: dir.path().join("ca.crt"),
        cert,
        key,
    })
    .unwrap();
    try_session(&station, console)
        .await
        .expect_err("a certificate without a role must be refused");
    refused_line(&logs, "medlink console", "carries no medlink role");
}

#[tokio::test]
async fn the_console_refuses_a_station_whose_certificate_is_not_a_station_s() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    // A server certificate from the right CA for the right name, but with the role surgeon.
    let ca_pem = std::fs::read_to_string(dir.path().join("ca.crt")).unwrap();
    let ca_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(dir.path().join("ca.key")).unwrap())
            .unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca_pem, ca_key).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Not A Station");
    params
        .subject_alt_names
        .push(rcgen::SanType::URI(Role::Surgeon.uri().try_into().unwrap()));
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.path().join("fake.crt"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("fake.key"), key.serialize_pem()).unwrap();

    let station = station_with(dir.path(), "fake");
    let console = Identity::load(&PkiPaths::in_dir(dir.path(), "console")).unwrap();
    try_session(&station, console)
        .await
        .expect_err("the console must refuse a station without the station role");
    refused_line(
        &logs,
        "Not A Station",
        "role surgeon may not act as a station",
    );
}

fn station_with(dir: &Path, stem: &str) -> Station {
    let identity = Identity::load(&PkiPaths::in_dir(dir, stem)).unwrap();
    let revocations = Revocations::for_identity(&identity).unwrap();
    let endpoint =
        link::server_endpoint_with("127.0.0.1:0".parse().unwrap(), identity, &revocations).unwrap();
    let addr = endpoint.local_addr().unwrap();
    Station {
        endpoint,
        addr,
        revocations,
    }
}

#[tokio::test]
async fn a_console_with_the_sites_revocation_list_refuses_a_revoked_station() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let station = station(dir.path());
    let console = || Identity::load(&PkiPaths::in_dir(dir.path(), "console")).unwrap();
    try_session(&station, console())
        .await
        .expect("the station is trusted before its revocation");
    pki::revoke(
        dir.path(),
        None,
        &dir.path().join("station.crt"),
        pki::RevocationReason::KeyCompromise,
        pki::now_unix(),
    )
    .unwrap();
    // The console's PKI directory now holds ca.crl beside ca.crt (as a site would copy it).
    let refused = try_session(&station, console())
        .await
        .expect_err("a revoked station must be refused by the console");
    assert!(refused.to_lowercase().contains("revoked"), "{refused}");
}
