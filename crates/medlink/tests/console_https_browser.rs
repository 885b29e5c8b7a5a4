//! Both pages off loopback, over HTTPS, in a real browser that trusts the medlink CA: `medlink
//! station --ui IP:PORT` (the panel with the station's own certificate) and `medlink console --ui
//! IP:PORT --ui-certificate STEM` (a certificate the CA issued for that address) on this
//! machine's non-loopback address, and tests/browser/test_console_https.py (Playwright driving
//! Debian's chromium with the CA in its NSS database): the certificate is refused without the
//! CA; Secure, HttpOnly cookie; the one-time link spent; plain http refused; input over wss;
//! a drag, a standard gamepad and a 3D mouse move the arm the way the view says, the gamepad's
//! dead-man's button and the 3D mouse's let-go stop it; the panel without a bedside certificate
//! only watches (take-over 403). The station's report must then show the page's commands
//! applied and nothing unsafe. Skipped, saying so, without chromium, certutil or a
//! non-loopback address.

mod common;

use common::*;
use std::process::Command;

#[test]
fn off_loopback_both_pages_are_https_to_a_browser_trusting_the_ca_and_the_pads_drive_the_arm() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    if Command::new("certutil").arg("-H").output().is_err() {
        eprintln!("SKIPPED: no certutil (libnss3-tools); run bash scripts/setup-browser.sh");
        return;
    }
    let Some(ip) = non_loopback_address() else {
        eprintln!("SKIPPED: this machine has no non-loopback address");
        return;
    };
    let dir = temp_dir("console-https");
    let pki = dir.join("pki");
    let pki_arg = pki.to_str().expect("a UTF-8 temp path").to_string();
    let ip_text = ip.to_string();
    let medlink = |args: &[&str]| {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        medlink_succeeds(&args)
    };
    medlink(&[
        "pki",
        "init",
        "--dir",
        &pki_arg,
        "--station-name",
        "127.0.0.1",
        "--station-name",
        &ip_text,
    ]);
    // The console page's own certificate, for the address the browser uses.
    medlink(&[
        "pki",
        "issue",
        "--dir",
        &pki_arg,
        "--role",
        "station",
        "--name",
        "Console page",
        "--station-name",
        &ip_text,
        "--out",
        &pki_arg,
    ]);
    let console_args = [
        "--server-name",
        "127.0.0.1",
        "--ui-certificate",
        "console-page",
    ];
    // No camera: the video socket still opens (wss), and the page's heartbeat has more room on
    // a shared 2-core machine without the encoder and the decoder.
    let mut roles = start_station_and_console(&dir, &pki, ip, &console_args, "https://", false);
    let (url, panel_url) = (roles.console_url.clone(), roles.panel_url.clone());
    let shots = dir.join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let logs = || role_logs(&dir);
    let stdout = browser_script(
        "test_console_https.py",
        &[
            "--url".as_ref(),
            url.as_ref(),
            "--panel-url".as_ref(),
            panel_url.as_ref(),
            "--ca".as_ref(),
            pki.join("ca.crt").as_os_str(),
            "--chromium".as_ref(),
            chromium.as_os_str(),
            "--screenshots".as_ref(),
            shots.as_os_str(),
        ],
        logs,
    );
    println!("pages over HTTPS: {}", stdout.trim());
    let report = station_report(&mut roles.station, &mut roles.station_out, &logs());
    println!(
        "station: {} commands applied, {} unsafe",
        report["commands_applied"], report["unsafe_applied"]
    );
    assert_applied_safely(&report);
    drop(roles);
    keep_screenshots(&shots, &["console-gamepad.png", "bedside-https-watch.png"]);
}
