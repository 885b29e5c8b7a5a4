//! The surgeon's console page in a real browser: `medlink station` (with its simulated endoscope
//! camera) and `medlink console --ui` on free ports with a fresh PKI, and
//! tests/browser/test_console.py (Playwright from the project venv driving Debian's chromium):
//! sign-in by the one-time link, enable and engage from the page, a drag moves the station's arm,
//! video frames painted in capture order, closing the page holds the arm, the e-stop request
//! latches. The station's own report then has to agree: commands applied, ENGAGED -> HOLD,
//! the e-stop, nothing unsafe. Skipped, saying so, only when no chromium is installed.
//! Screenshots go to the test's temp dir; with MEDLINK_UPDATE_SCREENSHOTS=1 also to docs/img.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const SCREENSHOTS: [&str; 6] = [
    "console-engaged.png",
    "console-hold.png",
    "console-estop.png",
    "bedside-estop.png",
    "bedside-takeover.png",
    "bedside-handback.png",
];

#[test]
fn a_surgeon_engages_from_the_page_moves_the_arm_by_dragging_and_closing_the_page_holds_it() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let dir = temp_dir("console-browser");
    let pki = dir.join("pki");
    medlink_succeeds(&[
        "pki".as_ref(),
        "init".as_ref(),
        "--dir".as_ref(),
        pki.as_os_str(),
    ]);
    let loopback = std::net::IpAddr::from([127, 0, 0, 1]);
    let mut roles = start_station_and_console(&dir, &pki, loopback, &[], "http://", true);
    let (url, panel_url) = (roles.console_url.clone(), roles.panel_url.clone());
    let shots = dir.join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let logs = || role_logs(&dir);
    let stdout = browser_script(
        "test_console.py",
        &[
            "--url".as_ref(),
            url.as_ref(),
            "--chromium".as_ref(),
            chromium.as_os_str(),
            "--screenshots".as_ref(),
            shots.as_os_str(),
            "--expect-video".as_ref(),
        ],
        logs,
    );
    let result: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no JSON result line in:\n{stdout}"));
    println!("page: {result}");

    let stdout = browser_script(
        "test_console_bedside.py",
        &[
            "--url".as_ref(),
            panel_url.as_ref(),
            "--chromium".as_ref(),
            chromium.as_os_str(),
            "--screenshots".as_ref(),
            shots.as_os_str(),
        ],
        logs,
    );
    println!("bedside panel: {}", stdout.trim());

    // The station's own account of what happened.
    let report = station_report(&mut roles.station, &mut roles.station_out, &logs());
    let transitions: Vec<(String, String, String)> = report["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let field = |k: &str| t[k].as_str().unwrap_or("").to_string();
            (field("from"), field("to"), field("reason"))
        })
        .collect();
    println!(
        "station: {} commands applied, transitions {transitions:?}",
        report["commands_applied"]
    );
    assert_applied_safely(&report);
    assert!(
        transitions
            .iter()
            .any(|(from, to, _)| from.eq_ignore_ascii_case("engaged")
                && to.eq_ignore_ascii_case("hold")),
        "no ENGAGED -> HOLD at the station: {transitions:?}"
    );
    let estops = |reason: &str| {
        transitions
            .iter()
            .any(|(_, to, why)| to.eq_ignore_ascii_case("estop") && why.contains(reason))
    };
    assert!(
        estops("console") && estops("local"),
        "the console's and the bedside panel's e-stops should both be at the station: {transitions:?}"
    );
    drop(roles);

    keep_screenshots(&shots, &SCREENSHOTS);
}

#[test]
fn off_loopback_the_bedside_panel_is_https_and_only_a_bedside_certificate_presses_its_buttons() {
    let Some(ip) = non_loopback_address() else {
        eprintln!("SKIPPED: this machine has no non-loopback address");
        return;
    };
    let dir = temp_dir("bedside-https");
    let pki = dir.join("pki");
    let text = |p: &std::path::Path| p.to_str().expect("a UTF-8 temp path").to_string();
    let pki_arg = text(&pki);
    let ip_text = ip.to_string();
    let medlink = |args: &[&str]| {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        medlink_succeeds(&args)
    };
    medlink(&["pki", "init", "--dir", &pki_arg, "--station-name", &ip_text]);
    medlink(&[
        "pki",
        "issue",
        "--dir",
        &pki_arg,
        "--role",
        "bedside",
        "--name",
        "Nurse Ana",
        "--out",
        &pki_arg,
    ]);
    let panel_port = free_port();
    let mut station = Proc(
        Command::new(env!("CARGO_BIN_EXE_medlink"))
            .arg("station")
            .args(["--listen", &format!("127.0.0.1:{}", free_port())])
            .args(["--ui", &format!("{ip}:{panel_port}")])
            .args(["--pki", &pki_arg])
            .arg("--audit-dir")
            .arg(dir.join("audit"))
            .arg("--no-record")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("station.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(station.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    let url = page_url(&line, "https://");
    let output = Command::new(venv_python())
        .arg(repo_root().join("tests/browser/test_console_bedside_https.py"))
        .args(["--url", &url])
        .arg("--ca")
        .arg(pki.join("ca.crt"))
        .arg("--bedside")
        .arg(pki.join("nurse-ana"))
        .arg("--surgeon")
        .arg(pki.join("console"))
        .output()
        .expect("the venv's python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the HTTPS panel test failed:\n{stdout}\n{}\nstation log: {}",
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(dir.join("station.log")).unwrap_or_default()
    );
    println!("bedside panel over HTTPS: {}", stdout.trim());
    station
        .0
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"quit\n")
        .unwrap();
    let _ = station.0.wait();
}
