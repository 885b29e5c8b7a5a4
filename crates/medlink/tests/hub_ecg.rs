//! `medlink sim ecg` streams MIT-BIH record 100 into `medlink hub`: the heart rates served by
//! FHIR agree with the reference beat annotations, and an electrode fault raises and resolves
//! "check electrodes" without any arrhythmia alert.

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;

const SECONDS: f64 = 120.0;

/// Mean heart rate (/min) of the reference beats in the first `seconds` of record 100.
fn reference_mean_bpm(seconds: f64) -> f64 {
    let atr = std::fs::read(repo_root().join("tests/data/mitbih/100.atr")).unwrap();
    let rate = 360.0;
    let beats: Vec<f64> = ecg::wfdb::annotation::decode(&atr)
        .unwrap()
        .iter()
        .filter(|a| a.is_beat())
        .map(|a| a.sample as f64 / rate)
        .filter(|&t| t < seconds)
        .collect();
    let span = beats.last().unwrap() - beats.first().unwrap();
    60.0 * (beats.len() - 1) as f64 / span
}

#[test]
fn record_100_streamed_into_the_hub_gives_the_reference_heart_rate() {
    let dir = temp_dir("hub-ecg");
    let (http_port, mqtt_port) = (free_port(), free_port());
    let listen = vec!["--mqtt-listen".into(), format!("127.0.0.1:{mqtt_port}")];
    let _hub = start_hub(&dir.join("hub.db"), http_port, &listen);

    let record = repo_root().join("tests/data/mitbih/100");
    let output = Command::new(env!("CARGO_BIN_EXE_medlink"))
        .args(["sim", "ecg", "--record"])
        .arg(&record)
        .args(["--patient", "p-100", "--device", "holter-100"])
        .arg("--register")
        .arg(dir.join("hub.db"))
        .args(["--seconds", &SECONDS.to_string(), "--speed", "40"])
        .args(["--fault", "lead-off@60s+8s"])
        .args(["--mqtt", &format!("mqtt://127.0.0.1:{mqtt_port}")])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("120 committed by the hub"), "{stdout}");

    let bundle = get_json(
        http_port,
        "/fhir/Observation?patient=p-100&code=8867-4&_count=1000",
    );
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    let rates: Vec<f64> = entries
        .iter()
        .filter_map(|e| e["resource"]["valueQuantity"]["value"].as_f64())
        .collect();
    assert!(rates.len() >= 15, "{} heart-rate observations", rates.len());
    let first = &entries[0]["resource"];
    assert_eq!(first["method"]["coding"][0]["code"], "ecg");
    assert_eq!(first["device"]["reference"], "Device/holter-100.ecg.MLII");
    assert_eq!(first["valueQuantity"]["code"], "/min");

    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    let reference = reference_mean_bpm(SECONDS);
    assert!(
        (mean - reference).abs() <= 2.0,
        "mean heart rate {mean:.2} /min vs reference {reference:.2} /min"
    );

    // The lead-off fault: "check electrodes" raised and resolved, nothing else for this stream.
    let all = get_json(http_port, "/api/alerts?state=all");
    let mine: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["subject"] == "holter-100.ecg.MLII")
        .collect();
    let rules: Vec<&str> = mine.iter().filter_map(|a| a["rule"].as_str()).collect();
    assert_eq!(rules, ["check_electrodes"], "{mine:?}");
    assert!(!mine[0]["resolved_at_ms"].is_null(), "{mine:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
