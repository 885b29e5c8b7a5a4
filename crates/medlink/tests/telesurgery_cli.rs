//! The telesurgery commands as a user runs them: `demo --json`, and station + console as two
//! processes joined by a PKI made with `pki init`.

mod common;

use common::Proc;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};

/// The two sessions run one at a time: each keeps two or three threads busy on a real-time schedule,
/// and on a 2-core machine two at once miss their deadlines and track worse than a session does.
fn one_session_at_a_time() -> MutexGuard<'static, ()> {
    static SESSION: Mutex<()> = Mutex::new(());
    SESSION
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn medlink() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_medlink"));
    cmd.env("RUST_LOG", "warn");
    cmd
}

fn assert_safe_session(summary: &Value) {
    assert_eq!(summary["unsafe_applied"], 0, "{summary:#}");
    assert!(
        summary["commands_applied"].as_u64().unwrap() > 1000,
        "{summary:#}"
    );
    assert_tracks(summary);
    for key in ["p50", "p99", "p999"] {
        assert!(
            summary["latency_us"][key].as_f64().unwrap() > 0.0,
            "{summary:#}"
        );
    }
    assert!(summary["commands_dropped"].is_object());
    assert!(
        summary["state_time_ms"]["ENGAGED"].as_f64().unwrap() > 1000.0,
        "{summary:#}"
    );
}

/// The tool follows the operator: within 5 mm RMS always (a few millimetres is the whole motion at
/// the arm), and within 1 mm when both 1 kHz loops kept their schedule. On a shared machine the host
/// can stop a process for tens of milliseconds; the arm then lags and catches up under its slew
/// limits, which is the right behaviour but not the accuracy of a session that ran on time (the
/// fault matrix checks that accuracy in simulated time, where no host can interfere).
fn assert_tracks(summary: &Value) {
    let rms_mm = summary["tracking_rms_mm"].as_f64().unwrap();
    assert!(rms_mm < 5.0, "{summary:#}");
    let ticks = summary["duration_s"].as_f64().unwrap() * 1000.0;
    let missed = ["sender_missed_deadlines", "servo_missed_deadlines"]
        .map(|key| summary[key].as_f64().unwrap() / ticks);
    if missed.iter().all(|&share| share <= 0.01) {
        assert!(rms_mm < 1.0, "{summary:#}");
    } else {
        eprintln!(
            "the loops missed {:.1} % and {:.1} % of their deadlines: tracking RMS {rms_mm:.2} mm not held to 1 mm",
            100.0 * missed[0],
            100.0 * missed[1]
        );
    }
}

#[test]
fn demo_json_reports_a_safe_accurate_session() {
    let _session = one_session_at_a_time();
    let out = medlink()
        .args(["demo", "--duration", "3", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_safe_session(&summary);
    assert!(
        summary["commands_sent"].as_u64().unwrap() >= summary["commands_applied"].as_u64().unwrap()
    );
}

#[test]
fn station_and_console_run_as_separate_processes() {
    let _session = one_session_at_a_time();
    let pki = tempfile::tempdir().unwrap();
    let pki_dir = pki.path().to_str().unwrap();
    let init = medlink()
        .args(["pki", "init", "--dir", pki_dir])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let again = medlink()
        .args(["pki", "init", "--dir", pki_dir])
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "pki init must not overwrite silently"
    );

    let mut station = Proc(
        medlink()
            .args([
                "station",
                "--listen",
                "127.0.0.1:0",
                "--pki",
                pki_dir,
                "--json",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(station.0.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .split_whitespace()
        .find(|w| w.contains(':'))
        .expect("listening address")
        .to_string();

    let console = medlink()
        .args([
            "console",
            "--station",
            &addr,
            "--pki",
            pki_dir,
            "--duration",
            "2",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        console.status.success(),
        "{}",
        String::from_utf8_lossy(&console.stderr)
    );
    let summary: Value = serde_json::from_slice(&console.stdout).unwrap();
    assert_safe_session(&summary);

    // The station's own operator: an e-stop it latches, then quit.
    let mut stdin = station.0.stdin.take().unwrap();
    writeln!(stdin, "estop").unwrap();
    writeln!(stdin, "quit").unwrap();
    let rest: String = lines.map_while(Result::ok).collect::<Vec<_>>().join("\n");
    assert!(station.0.wait().unwrap().success());
    let final_report: Value = serde_json::from_str(&rest).unwrap();
    assert_eq!(final_report["unsafe_applied"], 0);
    let transitions = final_report["transitions"].as_array().unwrap();
    assert!(
        transitions
            .iter()
            .any(|t| t["to"] == "ESTOP" && t["reason"] == "local e-stop"),
        "{rest}"
    );
}
