//! The remote HIFU procedure end to end, the real binaries over the long-haul emulated network:
//! `medlink station --hifu` hosts the device, `medlink console --hifu` sends its plan over the bulk
//! channel and runs it spot by spot to the end, every spot's start and stop in the station's log;
//! a plan for another patient model is refused; and killing the console mid-spot switches the
//! beam off by the dead-man's switch (heartbeat_lost), with the beam on for no more than the
//! survival time and one frame after the console's last heartbeat.

mod common;

use common::{Proc, first_address};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn medlink() -> Command {
    Command::new(env!("CARGO_BIN_EXE_medlink"))
}

/// The small fibroid plan of the CLI tests (3 mm grid, 30 mm lesion), and a copy with the first
/// `spots` spots sonicating `on_s` each.
fn plans(dir: &Path, spots: usize, on_s: f64) -> (PathBuf, PathBuf) {
    let station_plan = dir.join("station-plan.json");
    common::small_hifu_plan(&station_plan);
    let mut plan: Value = serde_json::from_slice(&std::fs::read(&station_plan).unwrap()).unwrap();
    let chosen: Vec<Value> = plan["spots"].as_array().unwrap()[..spots]
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s["on_s"] = on_s.into();
            s["cool_s"] = 0.5.into();
            s
        })
        .collect();
    plan["spots"] = chosen.into();
    let console_plan = dir.join("console-plan.json");
    std::fs::write(&console_plan, plan.to_string()).unwrap();
    (station_plan, console_plan)
}

/// A station hosting the HIFU device, its log in `dir/station.log`, behind a long-haul relay;
/// the relay's address.
fn station_behind_longhaul(dir: &Path, pki: &str, station_plan: &Path) -> (Proc, Proc, String) {
    let log = std::fs::File::create(dir.join("station.log")).unwrap();
    let mut station = Proc(
        medlink()
            .args([
                "station",
                "--listen",
                "127.0.0.1:0",
                "--pki",
                pki,
                "--no-record",
            ])
            .arg("--audit-dir")
            .arg(dir.join("audit"))
            .arg("--hifu")
            .arg(station_plan)
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let addr = address_then_drain(station.0.stdout.take().unwrap());
    let mut relay = Proc(
        medlink()
            .args(["netem", "--listen", "127.0.0.1:0", "--forward", &addr])
            .args(["--profile", "longhaul-4000km"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let relay_addr = address_then_drain(relay.0.stdout.take().unwrap());
    (station, relay, relay_addr)
}

/// The address a process prints first; the rest of its output is read on (a closed pipe would
/// end it with SIGPIPE at its next line).
fn address_then_drain(stdout: std::process::ChildStdout) -> String {
    let mut lines = BufReader::new(stdout).lines();
    let addr = first_address(&mut lines);
    std::thread::spawn(move || lines.for_each(drop));
    addr
}

fn console(addr: &str, pki: &str, plan: &Path, audit: &Path) -> Command {
    let mut command = medlink();
    command
        .args(["console", "--station", addr, "--pki", pki, "--no-record"])
        .arg("--audit-dir")
        .arg(audit)
        .arg("--hifu")
        .arg(plan);
    command
}

fn station_log(dir: &Path) -> String {
    let raw = std::fs::read_to_string(dir.join("station.log")).unwrap();
    // Without colour codes.
    let mut plain = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            plain.push(c);
        }
    }
    plain
}

fn wait_for(what: &str, timeout: Duration, mut found: impl FnMut() -> bool) {
    let start = Instant::now();
    while !found() {
        assert!(start.elapsed() < timeout, "never saw {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_remote_procedure_over_the_long_haul_link_completes_and_a_killed_console_turns_the_beam_off() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let pki = pki.to_str().unwrap();
    common::medlink_succeeds(&[
        "pki".as_ref(),
        "init".as_ref(),
        "--dir".as_ref(),
        pki.as_ref(),
    ]);
    let (station_plan, plan) = plans(dir.path(), 3, 1.5);
    let (_station, _relay, addr) = station_behind_longhaul(dir.path(), pki, &station_plan);

    // The whole plan, spot by spot.
    let out = console(&addr, pki, &plan, &dir.path().join("audit-1"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("hifu: procedure ended: every spot delivered (3 spots complete)"),
        "{text}"
    );
    assert!(
        text.contains("| focal "),
        "the live view shows the focus: {text}"
    );
    let log = station_log(dir.path());
    for spot in 0..3 {
        assert!(log.contains(&format!("HIFU: spot {spot} on at")), "{log}");
        assert!(log.contains(&format!("HIFU: spot {spot} off at")), "{log}");
    }

    // A plan for another patient model is refused by the station, and the console says so.
    let mut other: Value = serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    other["transducer"]["power_w"] = 1000.0.into();
    let other_plan = dir.path().join("other.json");
    std::fs::write(&other_plan, other.to_string()).unwrap();
    let refused = console(&addr, pki, &other_plan, &dir.path().join("audit-2"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("the station refused the plan"), "{stderr}");

    // Killed mid-spot: the dead-man's switch turns the beam off.
    let (_, long_plan) = plans(dir.path(), 1, 60.0);
    let console_log = dir.path().join("console.log");
    let mut killed = Proc(
        console(&addr, pki, &long_plan, &dir.path().join("audit-3"))
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(&console_log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the long spot on", Duration::from_secs(60), || {
        station_log(dir.path()).contains("spot 0 on at 0.0 s: ")
            && station_log(dir.path()).matches("spot 0 on at").count() == 2
    });
    std::thread::sleep(Duration::from_secs(2));
    killed.kill9();
    wait_for("the beam stopped", Duration::from_secs(30), || {
        station_log(dir.path()).contains("by heartbeat_lost")
    });
    let log = station_log(dir.path());
    let stop = log
        .lines()
        .find(|l| l.contains("by heartbeat_lost"))
        .unwrap();
    assert!(stop.contains("beam stopped at"), "{stop}");
}
