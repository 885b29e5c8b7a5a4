//! `medlink hub --db postgres://...`: the hub on PostgreSQL end to end. A registered device
//! publishes readings to the embedded gateway, the hub confirms each after its commit, every
//! confirmed reading is in the database, FHIR search returns them, the audit trail verifies
//! with `medlink hub audit verify --db postgres://...`, and a hub restarted on the same
//! database keeps them. Needs the PostgreSQL of scripts/setup-postgres.sh (fails without it,
//! unless MEDLINK_SKIP_POSTGRES=1).

mod common;

use common::*;
use hub::device::Device;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const READINGS: u64 = 50;

fn payload(patient: &str, seq: u64) -> String {
    format!(
        r#"{{"patient":"{patient}","seq":{seq},"time_ms":{},"hr":{},"rr":16,"spo2":97,"o2":false,"temp":36.8,"sbp":125,"dbp":80,"acvpu":"A"}}"#,
        hub::now_ms() - 60_000 + seq as i64,
        60 + seq
    )
}

/// The hub's arguments beside --db and --http: the password file and the gateway's port.
fn hub_args(password_file: &Path, mqtt_port: u16) -> Vec<String> {
    vec![
        "--db-password-file".to_string(),
        password_file.display().to_string(),
        "--mqtt-listen".to_string(),
        format!("127.0.0.1:{mqtt_port}"),
    ]
}

/// Two free ports, not the same one twice.
fn two_ports() -> (u16, u16) {
    let first = free_port();
    let second = std::iter::repeat_with(free_port)
        .find(|p| *p != first)
        .unwrap_or(first);
    (first, second)
}

#[test]
fn a_hub_on_postgres_stores_confirms_and_serves_readings() {
    let Some(db) = store::testing::fresh_postgres().unwrap_or_else(|e| panic!("{e}")) else {
        return; // skipped, and said so
    };
    let dir = temp_dir("hub-postgres");
    let (url, password_file) = db.url_and_password_file(&dir).unwrap();
    let password = std::fs::read_to_string(&password_file).unwrap();
    // The hub's own child commands (`hub token issue` in start_hub) read the password from
    // PGPASSWORD; the hub itself gets --db-password-file. The other test of this file reads
    // no password, so setting the variable races with nothing that matters.
    unsafe { std::env::set_var("PGPASSWORD", password.trim()) };

    let location = db.location();
    let device_password = {
        let mut store = store::Store::connect(&location, store::Durability::Normal).unwrap();
        hub::registrations::register(&mut store, "pg-w1", "pg-p1", hub::now_ms()).unwrap()
    };
    let (http_port, mqtt_port) = two_ports();
    let args = hub_args(&password_file, mqtt_port);
    let db_arg = Path::new(&url);
    let mut hub = start_hub_logging_to(db_arg, http_port, &args, &dir.join("hub.log"));
    wait_for_port(mqtt_port);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let device = runtime.block_on(async {
        let device = Device::connect("127.0.0.1", mqtt_port, "pg-w1", &device_password, "pg-p1")
            .await
            .unwrap();
        assert!(device.wait_signed_in(Duration::from_secs(10)).await);
        for seq in 1..=READINGS {
            device
                .publish_vitals(seq, payload("pg-p1", seq))
                .await
                .unwrap();
        }
        device
    });
    let committed = || device.confirmations.lock().unwrap().committed.len() as u64;
    assert!(
        eventually(30, || committed() == READINGS),
        "the hub confirmed {} of {READINGS} readings",
        committed()
    );

    // Every confirmed reading is in PostgreSQL (read by a connection of our own).
    let store = store::Store::connect(&location, store::Durability::Normal).unwrap();
    for seq in device.confirmations.lock().unwrap().committed.iter() {
        assert!(store.contains("pg-w1", *seq).unwrap(), "seq {seq} missing");
    }
    assert_eq!(store.measurement_count().unwrap(), READINGS);

    // FHIR search through the hub: every heart rate, in time order.
    let search = "/fhir/Observation?patient=pg-p1&code=8867-4&_count=100";
    let bundle = get_json(http_port, search);
    assert_eq!(bundle["total"], READINGS, "{bundle}");
    let first = &bundle["entry"][0]["resource"];
    assert_eq!(first["valueQuantity"]["value"], 61.0, "{first}");

    // A restarted hub on the same database serves what the first one stored.
    hub.kill9();
    drop(runtime);
    let (http_port, mqtt_port) = two_ports();
    let args = hub_args(&password_file, mqtt_port);
    let _hub = start_hub_logging_to(db_arg, http_port, &args, &dir.join("hub2.log"));
    assert_eq!(get_json(http_port, search)["total"], READINGS);

    // The audit trail (the device registration is not in it: registered through the library;
    // the hub's token issue is) verifies through the command-line tool, on PostgreSQL.
    let verified = Command::new(env!("CARGO_BIN_EXE_medlink"))
        .args(["hub", "audit", "verify", "--db", &url, "--db-password-file"])
        .arg(&password_file)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verified.stdout);
    assert!(
        verified.status.success() && said.starts_with("OK: "),
        "{said}{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_database_beyond_loopback_is_refused_with_the_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_medlink"))
        .args([
            "hub",
            "--db",
            "postgres://ward@192.0.2.10:5432/medlink",
            "--http",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(said.contains("beyond loopback"), "{said}");
    let output = Command::new(env!("CARGO_BIN_EXE_medlink"))
        .args(["hub", "--db", "postgres://ward:secret@127.0.0.1/medlink"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("password in the URL is refused"), "{said}");
}
