//! The `medlink ecg` commands end to end on record 100: eval's JSON, a noisy copy that is a valid
//! WFDB record, and detect's CSV and PNG.

mod common;

use std::path::PathBuf;

fn record_100() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/mitbih/100")
}

fn medlink(args: &[&std::ffi::OsStr]) -> String {
    String::from_utf8(common::medlink_succeeds(args).stdout).expect("UTF-8 output")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("medlink-ecg-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

#[test]
fn eval_json_has_the_ec57_fields_and_meets_acceptance() {
    let out = medlink(&[
        "ecg".as_ref(),
        "eval".as_ref(),
        record_100().as_os_str(),
        "--json".as_ref(),
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(
        json["tp"].as_u64().unwrap() + json["fn"].as_u64().unwrap(),
        2273
    );
    assert!(json["fp"].is_u64());
    assert!(json["sensitivity"].as_f64().unwrap() >= 0.997);
    assert!(json["ppv"].as_f64().unwrap() >= 0.997);
}

#[test]
fn noisy_copy_is_a_record_that_eval_reads() {
    let dir = scratch("noise");
    let noisy = dir.join("100_bw");
    medlink(&[
        "ecg".as_ref(),
        "noise".as_ref(),
        record_100().as_os_str(),
        "--snr".as_ref(),
        "-6".as_ref(),
        "--kind".as_ref(),
        "baseline".as_ref(),
        "--out".as_ref(),
        noisy.as_os_str(),
    ]);
    let header = std::fs::read_to_string(dir.join("100_bw.hea")).unwrap();
    assert!(header.starts_with("100_bw 2 360 650000"));
    let out = medlink(&[
        "ecg".as_ref(),
        "eval".as_ref(),
        noisy.as_os_str(),
        "--json".as_ref(),
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(json["sensitivity"].as_f64().unwrap() >= 0.997);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn detect_writes_a_beats_csv_and_a_png() {
    let dir = scratch("detect");
    let (csv, png) = (dir.join("beats.csv"), dir.join("strip.png"));
    medlink(&[
        "ecg".as_ref(),
        "detect".as_ref(),
        record_100().as_os_str(),
        "--csv".as_ref(),
        csv.as_os_str(),
        "--png".as_ref(),
        png.as_os_str(),
    ]);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 1 + 2272);
    assert!(text.lines().nth(1).unwrap().starts_with("77,"));
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    std::fs::remove_dir_all(dir).ok();
}
