//! The ward dashboard in a real browser: `medlink hub` on free ports with a temp dir, a charge
//! nurse's account, an ECG stream from `medlink sim ecg`, and tests/browser/test_dashboard.py (Playwright
//! from the project venv driving Debian's chromium) signing in through /login, watching a
//! deteriorating patient's alert appear, acknowledging it and finding it in the audit view.
//! Skipped, saying so, only when no chromium is installed (bash scripts/setup-browser.sh).
//! Screenshots go to the test's temp dir; with MEDLINK_UPDATE_SCREENSHOTS=1 also to docs/img.

mod common;

use common::*;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const USER: &str = "charge.ann";
const PASSWORD: &str = "ward-7 night shift";
/// The ward patient whose ECG `medlink sim ecg` streams.
const ECG_PATIENT: &str = "p-201";
/// The devices of tests/browser/test_dashboard.py and `medlink sim ecg`, with their patients.
const DEVICES: [(&str, &str); 8] = [
    ("w-p-201", "p-201"),
    ("w-p-202", "p-202"),
    ("w-p-203", "p-203"),
    ("w-p-204", "p-204"),
    ("w-p-207", "p-207"),
    ("amb-7", "p-310"),
    ("amb-7-monitor", "p-310"),
    ("holter-1", ECG_PATIENT),
];
const SCREENSHOTS: [&str; 4] = [
    "hub-dashboard.png",
    "hub-alerts.png",
    "hub-patient.png",
    "hub-audit.png",
];

#[test]
fn a_charge_nurse_signs_in_sees_the_alert_of_a_deteriorating_patient_acknowledges_it_and_finds_it_audited()
 {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let dir = temp_dir("dashboard-browser");
    let db = dir.join("hub.db");
    let password_file = dir.join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let medlink = |args: &[&str]| {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        medlink_succeeds(&args)
    };
    let text = |path: &PathBuf| path.to_str().expect("a UTF-8 temp path").to_string();
    let (db_arg, password_arg) = (text(&db), text(&password_file));
    medlink(&[
        "hub",
        "user",
        "add",
        USER,
        "--role",
        "charge_nurse",
        "--password-file",
        &password_arg,
        "--db",
        &db_arg,
    ]);
    // Every device the test publishes for, registered to its patient (docs/hub.md, "Devices").
    let credentials = dir.join("credentials");
    let credentials_arg = text(&credentials);
    for (device, patient) in DEVICES {
        medlink(&[
            "hub",
            "device",
            "add",
            device,
            "--patient",
            patient,
            "--db",
            &db_arg,
            "--credentials-file",
            &credentials_arg,
        ]);
    }

    let (http_port, mqtt_port) = (free_port(), free_port());
    let listen = vec![
        "--mqtt-listen".to_string(),
        format!("127.0.0.1:{mqtt_port}"),
    ];
    let _hub = start_hub(&db, http_port, &listen);
    let record = repo_root().join("tests/data/mitbih/100");
    let ecg_log = std::fs::File::create(dir.join("sim-ecg.log")).unwrap();
    let _ecg = Proc(
        Command::new(env!("CARGO_BIN_EXE_medlink"))
            .args([
                "sim",
                "ecg",
                "--patient",
                ECG_PATIENT,
                "--device",
                "holter-1",
            ])
            .arg("--record")
            .arg(&record)
            .arg("--credentials")
            .arg(&credentials)
            .args(["--seconds", "300", "--mqtt"])
            .arg(format!("mqtt://127.0.0.1:{mqtt_port}"))
            .stdout(Stdio::null())
            .stderr(ecg_log)
            .spawn()
            .unwrap(),
    );

    let shots = dir.join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let output = Command::new(venv_python())
        .arg(repo_root().join("tests/browser/test_dashboard.py"))
        .arg("--hub")
        .arg(format!("http://127.0.0.1:{http_port}"))
        .arg("--mqtt-port")
        .arg(mqtt_port.to_string())
        .args(["--user", USER, "--password", PASSWORD])
        .arg("--credentials")
        .arg(&credentials)
        .arg("--chromium")
        .arg(&chromium)
        .arg("--screenshots")
        .arg(&shots)
        .args(["--ecg-patient", ECG_PATIENT])
        .output()
        .expect("the venv's python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser test failed:\n{stdout}\n{}\nhub log: {}",
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(db.with_extension("log")).unwrap_or_default()
    );
    let result: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no JSON result line in:\n{stdout}"));
    println!(
        "alert row appeared {} ms after the reading was published; ECG: {}; audit: {}",
        result["alert_appeared_after_ms"], result["ecg_title"], result["audit_row"]
    );
    assert!(result["alert_appeared_after_ms"].is_i64(), "{result}");
    assert!(
        result["audit_row"].as_str().unwrap_or("").contains(USER),
        "{result}"
    );

    keep_screenshots(&shots, &SCREENSHOTS);
}
