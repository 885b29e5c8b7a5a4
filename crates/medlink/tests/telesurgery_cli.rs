//! The telesurgery commands as a user runs them: `demo --json`, and station + console as two
//! processes joined by a PKI made with `pki init`.

mod common;

use common::{Proc, first_address};
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
    // The roles' audit logs (`audit/` by default) go to the temporary directory, not the tree.
    cmd.current_dir(std::env::temp_dir());
    cmd
}

/// The command exited 0; otherwise what it printed.
fn assert_succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_safe_session(summary: &Value) {
    assert_eq!(summary["unsafe_applied"], 0, "{summary:#}");
    // A busy host may stall a servo tick past its limit: the arm then holds until the scripted
    // surgeon engages again 0.5 s later, so only part of the run is spent following.
    assert!(
        summary["commands_applied"].as_u64().unwrap() > 300,
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
        summary["state_time_ms"]["ENGAGED"].as_f64().unwrap() > 300.0,
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
    assert_succeeded(&out);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_safe_session(&summary);
    assert!(
        summary["commands_sent"].as_u64().unwrap() >= summary["commands_applied"].as_u64().unwrap()
    );
}

/// A 3 s cut of the link 3 s after the relay starts, 5 ms each way otherwise.
const OUTAGE_PROFILE: &str = r#"
name = "outage-3s"
description = "5 ms each way, the whole link cut for 3 s at 3 s"
source = "test: a console must reconnect by itself"
[forward]
delay_ms = 5.0
[[outages]]
start_ms = 3000.0
duration_ms = 3000.0
"#;

/// Runs a console against `addr` for `seconds` and returns its JSON summary.
fn console_session(addr: &str, pki_dir: &str, seconds: &str) -> Value {
    let console = medlink()
        .args([
            "console",
            "--station",
            addr,
            "--pki",
            pki_dir,
            "--duration",
            seconds,
            "--no-record",
            "--json",
        ])
        .output()
        .unwrap();
    assert_succeeded(&console);
    serde_json::from_slice(&console.stdout).unwrap()
}

/// Every session applied motion after its own explicit engage: the station's report of it counts
/// applied commands, and the console asked to engage in it.
fn assert_session_moved(summary: &Value, session: &Value) {
    assert!(
        session["commands_applied"].as_u64().unwrap_or(0) > 0,
        "{session:#} in {summary:#}"
    );
    assert!(
        session["engage_requests"].as_u64().unwrap() >= 1,
        "{session:#}"
    );
}

#[test]
fn one_station_serves_consoles_in_turn_and_a_console_that_reconnects_after_an_outage() {
    let _session = one_session_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let pki_dir = pki.to_str().unwrap();
    let recordings = dir.path().join("recordings");
    let init = medlink()
        .args(["pki", "init", "--dir", pki_dir])
        .output()
        .unwrap();
    assert_succeeded(&init);
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
                "--record",
                recordings.to_str().unwrap(),
                "--json",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(station.0.stdout.take().unwrap()).lines();
    let addr = first_address(&mut lines);

    // Two consoles in turn: each is a new session that starts clean and moves the arm.
    let mut engage_requests = 0;
    for (turn, seconds) in [(1, "2"), (2, "2")] {
        let summary = console_session(&addr, pki_dir, seconds);
        assert_safe_session(&summary);
        let sessions = summary["sessions"].as_array().unwrap();
        assert_eq!(sessions.len(), 1, "{summary:#}");
        assert_eq!(sessions[0]["session_id"], turn, "{summary:#}");
        assert_session_moved(&summary, &sessions[0]);
        engage_requests += summary["engage_requests"].as_u64().unwrap();
    }

    // A console through the relay: the link is cut for 3 s; it reconnects by itself.
    let profile = dir.path().join("outage-3s.toml");
    std::fs::write(&profile, OUTAGE_PROFILE).unwrap();
    let mut relay = Proc(
        medlink()
            .args([
                "netem",
                "--listen",
                "127.0.0.1:0",
                "--forward",
                &addr,
                "--profile",
                profile.to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut relay_lines = BufReader::new(relay.0.stdout.take().unwrap()).lines();
    let relay_addr = first_address(&mut relay_lines);
    let summary = console_session(&relay_addr, pki_dir, "10");
    relay.kill9();
    assert_eq!(summary["unsafe_applied"], 0, "{summary:#}");
    assert!(summary["reconnects"].as_u64().unwrap() >= 1, "{summary:#}");
    let sessions = summary["sessions"].as_array().unwrap();
    assert!(sessions.len() >= 2, "{summary:#}");
    assert!(
        sessions[0]["ended"].as_str().unwrap().contains("station"),
        "the first session ended with the link: {summary:#}"
    );
    let last = sessions.last().unwrap();
    assert_session_moved(&summary, last);
    engage_requests += summary["engage_requests"].as_u64().unwrap();

    // The station's own operator: an e-stop it latches, then quit.
    let mut stdin = station.0.stdin.take().unwrap();
    writeln!(stdin, "estop").unwrap();
    writeln!(stdin, "quit").unwrap();
    let rest: String = lines.map_while(Result::ok).collect::<Vec<_>>().join("\n");
    assert!(station.0.wait().unwrap().success());
    let report_start = rest.find('{').expect("the final report");
    let final_report: Value = serde_json::from_str(&rest[report_start..]).unwrap();
    assert_eq!(final_report["unsafe_applied"], 0);
    assert!(
        final_report["sessions"].as_u64().unwrap() >= 4,
        "{final_report:#}"
    );
    let transitions = final_report["transitions"].as_array().unwrap();
    // Never engaged by itself: every engagement answers an engage the consoles asked for.
    let engagements = transitions.iter().filter(|t| t["to"] == "ENGAGED").count() as u64;
    assert!(engagements >= 4, "{final_report:#}");
    assert!(
        engagements <= engage_requests,
        "{engagements} > {engage_requests}"
    );
    assert!(
        transitions
            .iter()
            .all(|t| t["to"] != "ENGAGED" || t["reason"] == "engage requested"),
        "{final_report:#}"
    );
    assert!(
        transitions
            .iter()
            .any(|t| t["to"] == "ESTOP" && t["reason"] == "local e-stop"),
        "{rest}"
    );
    // The whole station life was recorded and replays bit for bit.
    let mut files: Vec<_> = std::fs::read_dir(&recordings)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let replay = medlink()
        .args(["replay", files[0].to_str().unwrap()])
        .output()
        .unwrap();
    assert_succeeded(&replay);
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_recorded_demo_replays_and_a_one_byte_edit_of_an_input_is_named() {
    let _session = one_session_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let out = medlink()
        .args(["demo", "--duration", "2", "--json", "--record"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_succeeded(&out);
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.starts_with("console-")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("station-")), "{names:?}");
    for file in &files {
        let replay = medlink().arg("replay").arg(file).output().unwrap();
        assert_succeeded(&replay);
    }
    let summary = medlink()
        .args(["replay", "--summary"])
        .arg(
            files
                .iter()
                .find(|f| f.to_string_lossy().contains("station-"))
                .unwrap(),
        )
        .output()
        .unwrap();
    assert!(summary.status.success());
    assert!(String::from_utf8_lossy(&summary.stdout).contains("unsafe applied"));

    // One byte of a recorded input changed: a digit of the first clock ping's send time.
    let station = files
        .iter()
        .find(|f| f.to_string_lossy().contains("station-"))
        .unwrap();
    let mut bytes = std::fs::read(station).unwrap();
    let ping = find(&bytes, b"\"t1_us\":").expect("a recorded clock echo") + b"\"t1_us\":".len();
    let digit = &mut bytes[ping];
    assert!(digit.is_ascii_digit());
    *digit = if *digit == b'9' { b'8' } else { *digit + 1 };
    std::fs::write(station, &bytes).unwrap();
    let replay = medlink().arg("replay").arg(station).output().unwrap();
    assert!(!replay.status.success());
    let said = String::from_utf8_lossy(&replay.stderr);
    assert!(said.contains("/station/input message"), "{said}");
}
