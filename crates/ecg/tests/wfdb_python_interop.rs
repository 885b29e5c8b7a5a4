//! Interop with PhysioNet's Python `wfdb` package (wfdb-python), the reference reader and
//! writer of WFDB records: records it writes in each format it writes (80, 212, 16, 24, 32)
//! are read here sample for sample, checksums included; records written here in every format
//! (8, 16, 24, 32, 61, 80, 160, 212, 310, 311) are read by `wfdb.rdrecord` with the same
//! stored and physical values. Runs in the project venv (MEDLINK_VENV, else <repo>/.venv;
//! `bash scripts/setup-python.sh` makes it from tests/interop/requirements.txt).

use std::path::{Path, PathBuf};
use std::process::Command;

use ecg::wfdb::{ALL_FORMATS, Header, Record, Samples};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python of the project venv (MEDLINK_VENV, else <repo>/.venv).
fn venv_python() -> PathBuf {
    let venv = std::env::var_os("MEDLINK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run bash scripts/setup-python.sh",
        python.display()
    );
    python
}

fn python(args: &[&str]) -> String {
    let output = Command::new(venv_python())
        .arg(repo_root().join("tests/interop/wfdb_formats.py"))
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "wfdb_formats.py {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("python prints UTF-8")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ecg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_record(dir: &Path, name: &str) -> Record {
    let header = std::fs::read(dir.join(format!("{name}.hea"))).unwrap();
    let signal = std::fs::read(dir.join(format!("{name}.dat"))).unwrap();
    Record::decode(&header, &signal).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn integers(value: &Value) -> Vec<Vec<i64>> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|signal| {
            signal
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn records_written_by_wfdb_python_are_read_sample_for_sample() {
    let dir = temp_dir("wfdb-python-writes");
    python(&["write", dir.to_str().unwrap()]);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("written.json")).unwrap()).unwrap();
    let records = written.as_object().unwrap();
    let mut formats: Vec<&str> = records
        .values()
        .map(|r| r["fmt"].as_str().unwrap())
        .collect();
    formats.sort_unstable();
    formats.dedup();
    assert_eq!(formats, ["16", "212", "24", "32", "80"]);
    for (name, expected) in records {
        let record = read_record(&dir, name);
        let ours: Vec<Vec<i64>> = record
            .samples
            .signals
            .iter()
            .map(|s| s.iter().map(|&v| i64::from(v)).collect())
            .collect();
        assert_eq!(ours, integers(&expected["digital"]), "{name}");
        assert_eq!(
            record.header.signals[0].format.code().to_string(),
            expected["fmt"].as_str().unwrap()
        );
        // wfdb-python stores checksums unsigned (sum mod 65536): they must verify.
        assert_eq!(record.checksum_mismatches(), [], "{name}");
        // The invalid-sample marker (placed by the script at the middle sample) reads as NaN.
        let lead = record.physical(0).unwrap();
        assert!(lead[lead.len() / 2].is_nan(), "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A deterministic walk over the format's range, with its extremes and one missing sample.
fn samples_for(format: ecg::wfdb::SignalFormat, channels: usize, length: usize) -> Samples {
    let (low, high) = format.sample_range();
    let (low, high) = (i64::from(low.max(-(1 << 30))), i64::from(high.min(1 << 30)));
    let step = if format.code() == 8 {
        90
    } else {
        ((high - low) / 150).max(1)
    };
    let signals = (0..channels)
        .map(|c| {
            let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (c as u64 + u64::from(format.code()));
            let mut value = 0i64;
            (0..length)
                .map(|i| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    value =
                        (value + (state % (2 * step as u64 + 1)) as i64 - step).clamp(low, high);
                    match (format.invalid_sample(), i) {
                        (_, 1) if format.code() != 8 => low,
                        (_, 2) if format.code() != 8 => high,
                        (Some(missing), i) if i == length / 2 => i64::from(missing),
                        _ => value,
                    }
                })
                .map(|v| v as i32)
                .collect()
        })
        .collect();
    Samples { signals }
}

fn close(ours: f32, theirs: f64) -> bool {
    (f64::from(ours) - theirs).abs() <= 1e-6 * theirs.abs().max(1.0)
}

#[test]
fn records_written_here_in_every_format_are_read_by_wfdb_python() {
    let dir = temp_dir("wfdb-python-reads");
    let mut names = Vec::new();
    let mut records = Vec::new();
    for format in ALL_FORMATS {
        for (shape, channels, length) in [("a", 1, 1001), ("b", 2, 1001), ("c", 3, 998)] {
            let name = format!("g{}_{shape}", format.code());
            let line = format!("{name}.dat {} 200(5)/mV 0 0 0 0 0 s\n", format.code());
            let text = format!("{name} {channels} 360\n{}", line.repeat(channels));
            let record = Record {
                header: Header::parse(&text).unwrap(),
                samples: samples_for(format, channels, length),
            };
            let (header, signal) = record.encode();
            std::fs::write(dir.join(format!("{name}.hea")), header).unwrap();
            std::fs::write(dir.join(format!("{name}.dat")), signal).unwrap();
            assert_eq!(read_record(&dir, &name).samples, record.samples, "{name}");
            names.push(name);
            records.push(record);
        }
    }
    let mut args = vec!["read", dir.to_str().unwrap()];
    args.extend(names.iter().map(String::as_str));
    let read: Value = serde_json::from_str(&python(&args)).unwrap();
    for (name, record) in names.iter().zip(&records) {
        let ours: Vec<Vec<i64>> = record
            .samples
            .signals
            .iter()
            .map(|s| s.iter().map(|&v| i64::from(v)).collect())
            .collect();
        assert_eq!(
            integers(&read[name]["digital"]),
            ours,
            "{name}: stored values"
        );
        for (signal, theirs) in read[name]["physical"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let mine = record.physical(signal).unwrap();
            for (i, (m, t)) in mine.iter().zip(theirs.as_array().unwrap()).enumerate() {
                match t.as_f64() {
                    None => assert!(m.is_nan(), "{name} signal {signal} sample {i}"),
                    Some(t) => assert!(
                        close(*m, t),
                        "{name} signal {signal} sample {i}: {m} vs {t}"
                    ),
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
