//! docs/deploy.md's backup and restore, end to end: `deploy/backup.sh` copies a running hub's
//! store (hub.db and the alert journal hub.alerts.db) while simulated wearables publish to it,
//! `deploy/restore.sh` puts the copy in a new directory, and a hub started there serves every
//! reading committed before the backup began, the SpO2 scale set through the API, and an audit
//! trail that `medlink hub audit verify` accepts and that holds every row written before the
//! backup. Also the upgrade rule the rollback procedure rests on: a store whose schema is newer
//! than the program is refused at start.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs `sqlite3 DB SQL` and returns its output lines (the test needs the CLI anyway: the
/// backup script uses it).
fn sqlite(db: &Path, sql: &str) -> Vec<String> {
    let output = Command::new("sqlite3")
        .arg("-bail")
        .arg(db)
        .arg(".timeout 10000")
        .arg(sql)
        .output()
        .expect("sqlite3 runs (apt-get install sqlite3)");
    assert!(
        output.status.success(),
        "sqlite3 {} {sql}: {}",
        db.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every `device/seq` stored in the measurements database `db`.
fn stored_readings(db: &Path) -> BTreeSet<String> {
    sqlite(db, "SELECT device || '/' || seq FROM measurements")
        .into_iter()
        .collect()
}

/// Every audit row as `seq action hash`, from the journal beside `db`.
fn audit_rows(db: &Path) -> Vec<String> {
    sqlite(
        &db.with_extension("alerts.db"),
        "SELECT seq || ' ' || action || ' ' || hash FROM audit ORDER BY seq",
    )
}

fn script(name: &str) -> PathBuf {
    repo_root().join("deploy").join(name)
}

/// Runs a deploy script with bash; its stdout, after checking that it succeeded.
fn run_script(name: &str, args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new("bash")
        .arg(script(name))
        .args(args)
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "{name}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn hub_audit_verify(db: &Path) -> String {
    let output = medlink_succeeds(&[
        "hub".as_ref(),
        "audit".as_ref(),
        "verify".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
    ]);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_backup_taken_while_the_hub_ingests_restores_into_a_hub_with_its_readings_and_audit_trail() {
    let dir = temp_dir("deploy-backup");
    let db = dir.join("live").join("hub.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let mqtt_port = free_port();
    let http_port = free_port();
    let hub = start_hub(
        &db,
        http_port,
        &["--mqtt-listen".into(), format!("127.0.0.1:{mqtt_port}")],
    );

    // Four wearables at 20 readings a second each, for long enough that the backup runs while
    // they publish.
    let sim_log = std::fs::File::create(dir.join("sim.log")).unwrap();
    let mut sim = Proc(
        Command::new(env!("CARGO_BIN_EXE_medlink"))
            .args(["sim", "wearables", "--patients", "4", "--rate", "20"])
            .args(["--speed", "10", "--duration", "6", "--mqtt"])
            .arg(format!("mqtt://127.0.0.1:{mqtt_port}"))
            .arg("--register")
            .arg(&db)
            .stdout(Stdio::null())
            .stderr(sim_log)
            .spawn()
            .unwrap(),
    );
    assert!(
        eventually(20, || stored_readings(&db).len() >= 100),
        "the hub stored no readings: see {}",
        dir.join("sim.log").display()
    );
    // A clinician's change through the API: stored in hub.db, audited in hub.alerts.db.
    let (status, body) = http(
        http_port,
        "PUT",
        "/api/patients/resident-002/spo2-scale",
        Some(r#"{"scale":2}"#),
    );
    assert_eq!(status, 200, "{body}");

    let before = stored_readings(&db);
    let audit_before = audit_rows(&db);
    let printed = run_script(
        "backup.sh",
        &[db.as_os_str(), dir.join("backups").as_os_str()],
    );
    let after = stored_readings(&db);
    let backup = PathBuf::from(printed.lines().last().unwrap_or_default().trim());
    assert!(
        backup.join("MANIFEST").is_file(),
        "backup.sh printed {printed:?}"
    );
    assert!(
        sim.0.try_wait().unwrap().is_none(),
        "the wearables were still publishing while the backup ran"
    );
    let _ = sim.0.wait();
    drop(hub);
    assert!(
        stored_readings(&db).len() > after.len(),
        "the hub went on storing readings after the backup, so it was taken under load"
    );

    // Restore into a new directory and start a hub there.
    let restored_db = dir.join("restored").join("hub.db");
    run_script("restore.sh", &[backup.as_os_str(), restored_db.as_os_str()]);
    let refused = Command::new("bash")
        .arg(script("restore.sh"))
        .arg(&backup)
        .arg(&restored_db)
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "restore.sh must not overwrite a store"
    );

    let restored = stored_readings(&restored_db);
    let missing: Vec<&String> = before.difference(&restored).collect();
    assert!(
        missing.is_empty(),
        "{} readings committed before the backup are not in it: {:?}",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
    assert!(
        restored.is_subset(&after),
        "the backup holds only readings the hub had stored"
    );
    let restored_audit = audit_rows(&restored_db);
    assert!(
        restored_audit.starts_with(&audit_before),
        "the restored trail begins with every row written before the backup"
    );
    let verified = hub_audit_verify(&restored_db);
    assert!(verified.starts_with("OK"), "{verified}");

    let http_port = free_port();
    let mqtt_port = free_port();
    let _restored_hub = start_hub(
        &restored_db,
        http_port,
        &["--mqtt-listen".into(), format!("127.0.0.1:{mqtt_port}")],
    );
    let search = get_json(
        http_port,
        "/fhir/Observation?patient=resident-002&code=8867-4&_count=1",
    );
    let resident_002: u64 = sqlite(
        &restored_db,
        "SELECT count(hr) FROM measurements WHERE patient = 'resident-002'",
    )[0]
    .parse()
    .unwrap();
    assert!(resident_002 > 0);
    assert_eq!(
        search["total"].as_u64(),
        Some(resident_002),
        "one heart-rate Observation per stored reading of resident-002: {search}"
    );
    let patient = get_json(http_port, "/fhir/Patient/resident-002");
    assert!(
        patient.to_string().contains("spo2-scale") && patient.to_string().contains('2'),
        "the SpO2 scale set before the backup is restored: {patient}"
    );
    let trail = get_json(http_port, "/api/audit?count=1000");
    let actions: Vec<&str> = trail["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    for action in ["device_registered", "token_issued", "spo2_scale_changed"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_store_from_a_newer_hub_is_refused_at_start_so_rollback_means_restoring_the_backup() {
    let dir = temp_dir("deploy-newer-schema");
    let db = dir.join("hub.db");
    // Made by this hub (both databases, every migration), then marked as a later version's.
    medlink_succeeds(&[
        "hub".as_ref(),
        "device".as_ref(),
        "add".as_ref(),
        "w-1".as_ref(),
        "--patient".as_ref(),
        "p-1".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
    ]);
    let version: i64 = sqlite(&db, "PRAGMA user_version")[0].parse().unwrap();
    sqlite(&db, &format!("PRAGMA user_version = {}", version + 1));
    let output = Command::new(env!("CARGO_BIN_EXE_medlink"))
        .arg("hub")
        .arg("--db")
        .arg(&db)
        .arg("--http")
        .arg(format!("127.0.0.1:{}", free_port()))
        .arg("--mqtt-listen")
        .arg(format!("127.0.0.1:{}", free_port()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a newer store must be refused");
    assert!(
        stderr.contains("newer than this program knows"),
        "the refusal says why: {stderr}"
    );
    assert_eq!(
        sqlite(&db, "PRAGMA user_version")[0],
        (version + 1).to_string(),
        "and the store is left as it was"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
