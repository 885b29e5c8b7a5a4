//! Interop with a reader written by others: the Python `mcap` package (Foxglove's) reads a
//! recording of each role, and tests/interop/test_recording.py checks channels, encodings,
//! schemas, counts against the recorder's own, JSON payloads, log_time order and every input's
//! CRC. It runs in the project venv (MEDLINK_VENV, else <repo>/.venv; bash
//! scripts/setup-python.sh makes it).

mod common;

use recorder::RecordingSummary;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The Python of the project venv (MEDLINK_VENV, else <repo>/.venv).
fn venv_python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = std::env::var_os("MEDLINK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run bash scripts/setup-python.sh",
        python.display()
    );
    python
}

fn run_python(role: &str, files: &[PathBuf], inputs: u64, outputs: u64) -> Output {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/test_recording.py");
    Command::new(venv_python())
        .arg(&script)
        .args(["--role", role])
        .args(["--inputs", &inputs.to_string()])
        .args(["--outputs", &outputs.to_string()])
        .args(files)
        .output()
        .expect("python runs")
}

fn check_with_python(role: &str, summary: &RecordingSummary) -> serde_json::Value {
    let output = run_python(role, &summary.files, summary.inputs, summary.outputs);
    assert!(
        output.status.success(),
        "{role}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON line of figures")
}

fn fails_with(output: Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the check passed");
    assert!(stderr.contains(expected), "{stderr}");
}

#[test]
fn python_mcap_reads_both_recordings_with_the_recorders_counts() {
    let dir = tempfile::tempdir().unwrap();
    let rec = common::record_sim(
        dir.path(),
        17,
        1.0,
        recorder::writer::DEFAULT_MAX_FILE_BYTES,
    );
    for (role, summary) in [("station", &rec.station), ("console", &rec.console)] {
        let figures = check_with_python(role, summary);
        assert_eq!(figures["inputs"], summary.inputs);
        assert_eq!(figures["outputs"], summary.outputs);
        assert_eq!(figures["parts"], 1);
    }
    // The check is not vacuous: a wrong count, or a changed digit in an input, fails it.
    let s = &rec.station;
    fails_with(
        run_python("station", &s.files, s.inputs + 1, s.outputs),
        "the recorder said",
    );
    let mut bytes = std::fs::read(&s.files[0]).unwrap();
    let at = common::find(&bytes, b"\"received_at\":{\"secs\":0,\"nanos\":").unwrap() + 32;
    bytes[at] = if bytes[at] == b'9' { b'1' } else { b'9' };
    std::fs::write(&s.files[0], &bytes).unwrap();
    let output = run_python("station", &s.files, s.inputs, s.outputs);
    // Named by its message, before MCAP's own data-section CRC is checked.
    fails_with(output, "/station/input sequence");
}

#[test]
fn python_mcap_reads_every_part_of_a_rotated_recording() {
    let dir = tempfile::tempdir().unwrap();
    let rec = common::record_sim(dir.path(), 18, 0.5, 60_000);
    assert!(rec.station.files.len() >= 3, "{:?}", rec.station.files);
    let figures = check_with_python("station", &rec.station);
    assert_eq!(figures["parts"], rec.station.files.len());
    assert_eq!(figures["inputs"], rec.station.inputs);
}
