//! TLS to PostgreSQL: with `?sslmode=verify-full&sslrootcert=CA` the store connects over TLS
//! (the server's `pg_stat_ssl` says so) and writes and reads as over loopback TCP; a server
//! whose certificate another CA signed is refused before any credential is sent. Runs against
//! the cluster scripts/setup-postgres.sh starts (TLS on, its CA in target/pg/ca.crt).

use store::db::{Conn, Location};
use store::testing::test_server;
use store::{Durability, values};

/// The test server's URL with TLS asked for, against `ca`; `None` when PostgreSQL is skipped
/// or not the setup script's own cluster (said so).
fn tls_location(ca: &std::path::Path) -> Option<Location> {
    let Some(Location::Postgres(server)) = test_server().unwrap() else {
        return None;
    };
    if std::env::var_os("MEDLINK_PG_URL").is_some() {
        eprintln!("MEDLINK_PG_URL is set: its server's CA is unknown here, TLS test skipped");
        return None;
    }
    let url = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        server.url(),
        ca.display()
    );
    let target = store::PgTarget::parse_url(&url)
        .unwrap()
        .with_password(server.password().map(str::to_string));
    Some(Location::Postgres(target))
}

fn setup_ca() -> std::path::PathBuf {
    let ca = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pg/ca.crt");
    assert!(
        ca.exists() || std::env::var_os("MEDLINK_SKIP_POSTGRES").is_some(),
        "{} missing: run scripts/setup-postgres.sh",
        ca.display()
    );
    ca
}

#[test]
fn verify_full_connects_over_tls_and_stores() {
    let Some(location) = tls_location(&setup_ca()) else {
        return;
    };
    let conn = Conn::open(&location, Durability::Full).unwrap();
    let tls: i64 = conn
        .query_value(
            "SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap();
    assert_eq!(tls, 1, "the connection is not TLS");
    let echoed: String = conn
        .query_value("SELECT ?1::text", &values!["over tls"])
        .unwrap();
    assert_eq!(echoed, "over tls");
}

#[test]
fn a_server_signed_by_another_ca_is_refused() {
    setup_ca();
    let dir = std::env::temp_dir().join(format!("medlink-pg-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let other = dir.join("other-ca.crt");
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=another CA", "-keyout"])
        .arg(dir.join("other-ca.key"))
        .arg("-out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let Some(location) = tls_location(&other) else {
        return;
    };
    let refused = Conn::open(&location, Durability::Full)
        .err()
        .expect("connected to a server another CA signed")
        .to_string();
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("refused: {refused}");
    assert!(
        refused.to_lowercase().contains("certificate") || refused.contains("UnknownIssuer"),
        "{refused}"
    );
}
