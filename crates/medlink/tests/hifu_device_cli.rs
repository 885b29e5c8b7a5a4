//! `medlink hifu device` end to end on a small plan: commands from a pipe are acknowledged or refused
//! with their line number (bytes that are not UTF-8 too), frames show the focus heating, a sonication under way when input ends is
//! finished before the summary, and bad arguments are refused without a panic.

mod common;

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Plans the small fibroid of the CLI tests (3 mm grid, 30 mm lesion) into `dir`.
fn small_plan(dir: &Path) -> Value {
    let plan = dir.join("plan.json");
    common::small_hifu_plan(&plan);
    serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap()
}

/// Runs the device on `plan` with `script` on its stdin, then end of input.
fn run_device(plan: &Path, args: &[&str], script: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_medlink"))
        .args(["hifu", "device"])
        .arg(plan)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("medlink runs");
    child.stdin.take().unwrap().write_all(script).unwrap();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || send.send(child.wait_with_output()));
    receive
        .recv_timeout(Duration::from_secs(120))
        .expect("the device finishes")
        .unwrap()
}

fn events(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn is(event: &Value, kind: &str) -> bool {
    event["event"] == kind
}

#[test]
fn a_piped_session_is_acknowledged_framed_and_finished() {
    let dir = common::temp_dir("hifu-device");
    let plan = small_plan(&dir);
    let script =
        b"sonicate 0\nwait done\nbogus\nsonicate 9999\n\xff\xfe\nack\nwait 6\nsonicate 1 30 8\n";
    let output = run_device(
        &dir.join("plan.json"),
        &["--speed", "500", "--frame-interval", "4"],
        script,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let events = events(&output);
    let ready = &events[0];
    assert!(is(ready, "ready"), "{ready}");
    assert_eq!(
        ready["spots"].as_u64().unwrap() as usize,
        plan["spots"].as_array().unwrap().len()
    );

    let find = |what: &dyn Fn(&Value) -> bool| {
        events
            .iter()
            .position(what)
            .unwrap_or_else(|| panic!("{events:#?}"))
    };
    let first = find(&|e| is(e, "accepted") && e["line"] == 1);
    let sonicate = &events[first]["command"]["sonicate"];
    assert_eq!(sonicate["spot"], 0);
    assert_eq!(sonicate["power_w"], plan["spots"][0]["power_w"]);
    assert_eq!(sonicate["duration_s"], plan["spots"][0]["on_s"]);
    let first_done = find(&|e| is(e, "sonication_done") && e["spot"] == 0);
    assert!(events[first..first_done].iter().any(|e| is(e, "frame")
        && e["sonicating_spot"] == 0
        && e["focal_temperature_c"].as_f64().unwrap() > 45.0));

    let error_at = |line: u64, reason: &str| {
        let at = find(&|e| is(e, "error") && e["line"] == line);
        let message = events[at]["message"].as_str().unwrap();
        assert!(message.contains(reason), "line {line}: {message}");
        at
    };
    let bogus = error_at(3, "cannot read 'bogus");
    error_at(4, "no spot 9999");
    error_at(5, "cannot read '\u{fffd}\u{fffd} ...'");
    assert!(
        bogus > first_done,
        "line 3 is read after the wait for the first sonication"
    );
    assert!(stderr.contains("line 3: cannot read 'bogus"), "{stderr}");

    // `wait 6` holds line 8 back for six simulated seconds (line 6 acknowledges a safety stop,
    // should the supervisor have stopped the first spot at its focal ceiling).
    let done_s = events[first_done]["time_s"].as_f64().unwrap();
    let second = find(&|e| is(e, "accepted") && e["line"] == 8);
    assert!(events[second]["time_s"].as_f64().unwrap() >= done_s + 6.0 - 1e-6);
    // Input ends while spot 1 is being sonicated: the operator is gone, so the beam goes off at
    // once, says why, and the spot ends long before its 8 s.
    let second_done = find(&|e| is(e, "sonication_done") && e["spot"] == 1);
    assert!(second_done > second);
    let accepted_s = events[second]["time_s"].as_f64().unwrap();
    assert!(events[second_done]["time_s"].as_f64().unwrap() < accepted_s + 8.0);
    let off = find(&|e| is(e, "beam") && e["state"] == "off" && e["rule"] == "input_ended");
    assert!(off > second);
    let summary = events.last().unwrap();
    assert!(is(summary, "summary"), "{summary}");
    assert!(
        summary["treatment_time_s"].as_f64().unwrap()
            >= events[second_done]["time_s"].as_f64().unwrap()
    );
    assert!(summary["energy_j"].as_f64().unwrap() > 0.0);
    assert!(summary["peak_temperature_c"].as_f64().unwrap() > 45.0);
}

#[test]
fn bad_arguments_are_refused_with_a_clear_error() {
    let dir = common::temp_dir("hifu-device-args");
    let missing = dir.join("no-such-plan.json");
    for (args, message) in [
        (vec!["--speed", "0"], "--speed 0: must be a positive number"),
        (
            vec!["--frame-interval=-1"],
            "--frame-interval -1: must be a positive number",
        ),
        (vec![], "reading"),
    ] {
        let output = run_device(&missing, &args, b"");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn full_power_for_two_minutes_stops_at_the_first_limit_named_and_stays_off_until_acknowledged() {
    let dir = common::temp_dir("hifu-device-limit");
    small_plan(&dir);
    let script =
        b"sonicate 0 400 120\nwait done\nsonicate 0 20 2\nack\nsonicate 0 20 2\nwait done\n";
    let output = run_device(
        &dir.join("plan.json"),
        &[
            "--speed",
            "100",
            "--frame-interval",
            "0.5",
            "--max-step",
            "0.1",
        ],
        script,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let events = events(&output);
    let stop = events
        .iter()
        .find(|e| is(e, "beam") && e["state"] == "stopped")
        .unwrap_or_else(|| panic!("{events:#?}"));
    let rule = stop["rule"].as_str().unwrap();
    assert!(
        ["focal_ceiling", "oar_temperature", "oar_dose"].contains(&rule),
        "{stop}"
    );
    assert!(stop["reason"].as_str().unwrap().contains("limit") || rule == "focal_ceiling");
    // Far sooner than the 120 s asked for; nothing more was delivered after the stop.
    let stopped_s = stop["time_s"].as_f64().unwrap();
    assert!(stopped_s < 30.0, "{stop}");
    // The next spot is refused until the stop is acknowledged, then runs.
    let refused = events
        .iter()
        .find(|e| is(e, "error") && e["line"] == 3)
        .unwrap_or_else(|| panic!("{events:#?}"));
    assert!(
        refused["message"].as_str().unwrap().contains("acknowledge"),
        "{refused}"
    );
    assert!(events.iter().any(|e| is(e, "accepted") && e["line"] == 5));
    let summary = events.last().unwrap();
    assert_eq!(summary["oar_within_limits"], true, "{summary}");
}
