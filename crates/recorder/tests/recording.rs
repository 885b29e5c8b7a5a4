//! Recording a simulated session and replaying it: the replay reproduces every output, one seed
//! gives identical recordings, an edited byte is named by its message, parts are followed, and a
//! file that is not a whole medlink recording gets a clear error.

mod common;

use common::{decode, find, record_sim};
use recorder::format::{self, key};
use recorder::writer::DEFAULT_MAX_FILE_BYTES;
use recorder::{RecorderConfig, RecorderError, ReplayError, ReplayedCore, StationRecorder, replay};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use teleop::{StationInput, StationSession, StationSessionConfig, Tap};

fn replay_err(path: &Path) -> ReplayError {
    match replay(path) {
        Ok(outcome) => panic!("{} replayed: {outcome:?}", path.display()),
        Err(e) => e,
    }
}

#[test]
fn a_recorded_simulated_session_replays_with_the_same_counts_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record_sim(dir.path(), 11, 2.0, DEFAULT_MAX_FILE_BYTES);
    assert!(rec.station.complete() && rec.console.complete());
    assert_eq!(rec.station.files.len(), 1);
    assert!(rec.station.inputs > 2_000, "{:?}", rec.station);
    assert!(rec.station.outputs > 2_000, "{:?}", rec.station);
    assert!(rec.console.inputs > 2_000, "{:?}", rec.console);

    let station = replay(&rec.station.files[0]).unwrap();
    assert_eq!(station.role(), "station");
    assert_eq!(
        (station.inputs, station.outputs),
        (rec.station.inputs, rec.station.outputs)
    );
    assert_eq!(station.files, rec.station.files);
    assert!(station.build.same(), "{:?}", station.build.differences());
    assert_eq!(station.metadata.get("seed").map(String::as_str), Some("11"));
    assert_eq!(station.last_now, rec.station_now);
    let ReplayedCore::Station(core) = &station.core else {
        panic!("not a station: {:?}", station.core);
    };
    // The replayed core ends where the live one did: the same report, to the bit.
    assert_eq!(core.report(station.last_now, false), rec.station_report);
    assert!(
        rec.station_report.commands_applied > 1_000,
        "{:?}",
        rec.station_report
    );

    let console = replay(&rec.console.files[0]).unwrap();
    assert_eq!(console.role(), "console");
    assert_eq!(
        (console.inputs, console.outputs),
        (rec.console.inputs, rec.console.outputs)
    );
    let ReplayedCore::Console(core) = &console.core else {
        panic!("not a console");
    };
    assert_eq!(core.report(), rec.console_report);
    // The console got the station's report of the session over the (simulated) link.
    assert!(core.report().station.is_some());
}

#[test]
fn one_seed_recorded_twice_gives_identical_streams() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ra = record_sim(a.path(), 5, 1.0, DEFAULT_MAX_FILE_BYTES);
    let rb = record_sim(b.path(), 5, 1.0, DEFAULT_MAX_FILE_BYTES);
    for (x, y) in [(&ra.station, &rb.station), (&ra.console, &rb.console)] {
        let (dx, dy) = (decode(&x.files), decode(&y.files));
        assert_eq!(dx.len() as u64, x.inputs + x.outputs);
        assert_eq!(dx.len(), dy.len());
        if let Some(i) = (0..dx.len()).find(|&i| dx[i] != dy[i]) {
            panic!(
                "message {i} differs:\n{}\n{}",
                String::from_utf8_lossy(&dx[i].3),
                String::from_utf8_lossy(&dy[i].3)
            );
        }
    }
    // Another seed is another session.
    let c = tempfile::tempdir().unwrap();
    let rc = record_sim(c.path(), 6, 1.0, DEFAULT_MAX_FILE_BYTES);
    assert_ne!(decode(&ra.station.files), decode(&rc.station.files));
}

/// The station recording of a short session, as bytes, with its path.
fn short_station_recording(dir: &Path) -> (PathBuf, Vec<u8>) {
    let rec = record_sim(dir, 3, 0.5, DEFAULT_MAX_FILE_BYTES);
    let path = rec.station.files[0].clone();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

#[test]
fn a_changed_digit_in_a_recorded_input_is_named_by_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut bytes) = short_station_recording(dir.path());
    // A datagram input whose receive time has a nanosecond count of several digits.
    let messages = decode(std::slice::from_ref(&path));
    let (index, data) = messages
        .iter()
        .filter(|(topic, ..)| topic == "/station/input")
        .find_map(|(_, _, _, data)| {
            let v: Value = serde_json::from_slice(data).unwrap();
            let nanos = v["input"]["received_at"]["nanos"].as_u64()?;
            (nanos >= 100).then(|| (v["index"].as_u64().unwrap(), data.clone()))
        })
        .expect("a datagram input");
    let at = find(&bytes, &data).unwrap();
    let nanos = find(&data, b"\"received_at\":{\"secs\":").unwrap();
    let digits = at + nanos + find(&data[nanos..], b"\"nanos\":").unwrap() + "\"nanos\":".len();
    // The second digit of the number, so it stays a number of the same length.
    let digit = &mut bytes[digits + 1];
    assert!(digit.is_ascii_digit());
    *digit = if *digit == b'9' { b'0' } else { *digit + 1 };
    std::fs::write(&path, &bytes).unwrap();

    let err = replay_err(&path);
    let text = err.to_string();
    match err {
        ReplayError::Divergence {
            file,
            channel,
            sequence,
            what,
            ..
        } => {
            assert_eq!(file, path);
            assert_eq!(channel, "/station/input");
            assert_eq!(sequence, index, "{text}");
            assert!(what.contains("CRC"), "{text}");
        }
        other => panic!("{other}"),
    }
    assert!(
        text.contains(&format!("/station/input message {index} ")),
        "{text}"
    );
    assert!(text.contains(&path.display().to_string()), "{text}");
}

#[test]
fn a_changed_recorded_output_is_a_divergence_at_that_output() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut bytes) = short_station_recording(dir.path());
    let messages = decode(std::slice::from_ref(&path));
    // The verdict of a command: "applied" becomes "applieD".
    let (sequence, data) = messages
        .iter()
        .find(|(topic, _, _, data)| {
            topic == "/station/output" && find(data, b"\"verdict\":\"applied\"").is_some()
        })
        .map(|(_, seq, _, data)| (*seq as u64, data.clone()))
        .expect("an applied command");
    let at = find(&bytes, &data).unwrap() + find(&data, b"applied").unwrap() + 6;
    bytes[at] = b'D';
    std::fs::write(&path, &bytes).unwrap();
    match replay_err(&path) {
        ReplayError::Divergence {
            channel,
            sequence: s,
            what,
            ..
        } => {
            assert_eq!(channel, "/station/output");
            assert_eq!(s, sequence);
            assert!(
                what.contains("output.verdict") && what.contains("applieD"),
                "{what}"
            );
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_changed_byte_in_the_metadata_is_caught_by_the_data_crc() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut bytes) = short_station_recording(dir.path());
    // The servo period in the recorded configuration: 1 ms becomes 2 ms.
    let at = find(&bytes, b"\"servo_period\":{\"secs\":0,\"nanos\":1000000}").unwrap();
    let digit = at + "\"servo_period\":{\"secs\":0,\"nanos\":".len();
    bytes[digit] = b'2';
    std::fs::write(&path, &bytes).unwrap();
    let err = replay_err(&path);
    // Either the rebuilt core diverges first, or MCAP's data-section CRC fails: never silence.
    assert!(
        matches!(
            err,
            ReplayError::Divergence { .. } | ReplayError::Mcap { .. }
        ),
        "{err}"
    );
}

#[test]
fn a_small_part_size_rotates_and_replay_runs_through_every_part() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record_sim(dir.path(), 21, 1.0, 100_000);
    assert!(rec.station.files.len() >= 3, "{:?}", rec.station.files);
    for (i, file) in rec.station.files.iter().enumerate() {
        let (part, _) = format::split_part(file).unwrap();
        assert_eq!(part as usize, i + 1);
    }
    let station = replay(&rec.station.files[0]).unwrap();
    assert_eq!(station.files, rec.station.files);
    assert_eq!(
        (station.inputs, station.outputs),
        (rec.station.inputs, rec.station.outputs)
    );
    let console = replay(&rec.console.files[0]).unwrap();
    assert_eq!(console.inputs, rec.console.inputs);

    // Replay starts at the first part ...
    let err = replay_err(&rec.station.files[1]);
    assert!(matches!(err, ReplayError::Parts { .. }), "{err}");
    assert!(err.to_string().contains("-001.mcap"), "{err}");
    // ... and needs every part.
    let last = rec.station.files.last().unwrap();
    std::fs::remove_file(last).unwrap();
    let err = replay_err(&rec.station.files[0]);
    assert!(err.to_string().contains("is missing"), "{err}");
}

/// Writes an MCAP file with the given `session` metadata (or none), station channels, no messages.
fn write_mcap(path: &Path, session: Option<BTreeMap<String, String>>) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut w = mcap::WriteOptions::new()
        .compression(None)
        .use_chunks(false)
        .create(file)
        .unwrap();
    if let Some(metadata) = session {
        w.write_metadata(&mcap::records::Metadata {
            name: format::SESSION_METADATA.into(),
            metadata,
        })
        .unwrap();
    }
    let end = BTreeMap::from([
        (key::INPUTS.to_string(), "0".to_string()),
        (key::OUTPUTS.to_string(), "0".to_string()),
        (key::DROPPED.to_string(), "0".to_string()),
    ]);
    w.write_metadata(&mcap::records::Metadata {
        name: format::END_METADATA.into(),
        metadata: end,
    })
    .unwrap();
    w.finish().unwrap();
}

fn session(role: &str, config: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (key::ROLE.to_string(), role.to_string()),
        (key::CONFIG.to_string(), config.to_string()),
    ])
}

#[test]
fn missing_or_invalid_metadata_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.mcap");
    let good = serde_json::to_string(&StationSessionConfig::default()).unwrap();

    // A valid station recording with no messages replays to nothing.
    write_mcap(&path, Some(session("station", &good)));
    let outcome = replay(&path).unwrap();
    assert_eq!((outcome.inputs, outcome.outputs), (0, 0));

    let cases: [(Option<BTreeMap<String, String>>, &str); 6] = [
        (None, "no \"session\" metadata"),
        (
            Some(session("arm", &good)),
            "neither \"station\" nor \"console\"",
        ),
        (
            Some(session("station", "{not json")),
            "not a station configuration",
        ),
        (
            Some(session("station", r#"{"servo_period": 3}"#)),
            "not a station configuration",
        ),
        (
            Some(session("console", &good)),
            "not a console configuration",
        ),
        (
            Some(BTreeMap::from([(key::ROLE.into(), "station".into())])),
            "has no \"config\"",
        ),
    ];
    for (metadata, expected) in cases {
        write_mcap(&path, metadata);
        let err = replay_err(&path);
        assert!(matches!(err, ReplayError::Metadata { .. }), "{err}");
        assert!(err.to_string().contains(expected), "{err} lacks {expected}");
    }

    // Not MCAP at all, an empty file, a missing file.
    std::fs::write(&path, b"time,x,y\n0,1,2\n").unwrap();
    assert!(matches!(replay_err(&path), ReplayError::Mcap { .. }));
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(replay_err(&path), ReplayError::Mcap { .. }));
    let err = replay_err(&dir.path().join("absent.mcap"));
    assert!(matches!(err, ReplayError::Io { .. }), "{err}");
}

#[test]
fn an_unfinished_recording_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = short_station_recording(dir.path());
    // Cut in the middle: no end record, no end magic.
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = replay_err(&path);
    let ReplayError::Unfinished {
        inputs, outputs, ..
    } = err
    else {
        panic!("{err}");
    };
    // What is there was replayed: the first half of the session, output for output.
    assert!(inputs > 100 && outputs > 100, "{err}");
    assert!(err.to_string().contains("never finished"), "{err}");
}

#[test]
fn a_recording_that_lost_records_is_marked_incomplete_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = RecorderConfig::station(dir.path(), &StationSessionConfig::default())
        .unwrap()
        .with_queue_capacity(4);
    let (recorder, mut tap) = StationRecorder::start(config).unwrap();
    // Far faster than the writer thread can take them: the tap drops, and never blocks.
    for i in 0..200_000u64 {
        tap.input(Duration::from_micros(i), &StationInput::Tick);
    }
    assert!(tap.dropped() > 0);
    let summary = recorder.finish().unwrap();
    assert!(!summary.complete());
    assert_eq!(summary.dropped, tap.dropped());
    assert_eq!(summary.inputs + summary.dropped, 200_000);
    let err = replay_err(&summary.files[0]);
    assert!(
        matches!(err, ReplayError::Incomplete { dropped, .. } if dropped == summary.dropped),
        "{err}"
    );
    assert!(err.to_string().contains("incomplete"), "{err}");
}

#[test]
fn a_recorder_refuses_a_configuration_it_cannot_replay() {
    let dir = tempfile::tempdir().unwrap();
    let no_config = RecorderConfig::new(dir.path(), "station");
    assert!(matches!(
        StationRecorder::start(no_config),
        Err(RecorderError::Config(_))
    ));
    let bad_role = RecorderConfig::new(dir.path(), "arm").with_metadata(key::CONFIG, "{}");
    assert!(matches!(
        StationRecorder::start(bad_role),
        Err(RecorderError::Config(_))
    ));
    let not_json = RecorderConfig::new(dir.path(), "station").with_metadata(key::CONFIG, "{");
    assert!(matches!(
        StationRecorder::start(not_json),
        Err(RecorderError::Config(_))
    ));
    // A directory that cannot be made.
    let file = dir.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let config =
        RecorderConfig::station(file.join("sub"), &StationSessionConfig::default()).unwrap();
    assert!(matches!(
        StationRecorder::start(config),
        Err(RecorderError::Io { .. })
    ));
}

#[test]
fn a_recording_names_its_parts_and_states_its_session() {
    let dir = tempfile::tempdir().unwrap();
    let config = StationSessionConfig::default();
    let (recorder, tap) =
        StationRecorder::start(RecorderConfig::station(dir.path(), &config).unwrap()).unwrap();
    let first = recorder.first_file().to_path_buf();
    let mut station = teleop::Recorded::new(StationSession::new(config.clone()).unwrap(), tap);
    let mut outputs = 0;
    station.drive(StationInput::Tick, Duration::from_millis(1), |_| {
        outputs += 1
    });
    let summary = recorder.finish().unwrap();
    assert_eq!(summary.files, vec![first.clone()]);
    assert_eq!(
        (summary.inputs, summary.outputs, summary.dropped),
        (1, outputs, 0)
    );
    let name = first.file_name().unwrap().to_str().unwrap();
    // station-YYYYmmddTHHMMSSZ-PID-001.mcap
    let pid = std::process::id().to_string();
    let parts: Vec<&str> = name.trim_end_matches(".mcap").split('-').collect();
    assert_eq!(parts.len(), 4, "{name}");
    assert_eq!(parts[0], "station");
    assert_eq!(parts[1].len(), 16, "{name}");
    assert!(
        parts[1].ends_with('Z') && parts[1].as_bytes()[8] == b'T',
        "{name}"
    );
    assert_eq!(parts[2], pid);
    assert_eq!(parts[3], "001");

    let outcome = replay(&first).unwrap();
    let m = &outcome.metadata;
    assert_eq!(m[key::ROLE], "station");
    assert_eq!(m[key::WIRE_VERSION], proto::WIRE_VERSION.to_string());
    assert_eq!(m[key::MEDLINK_VERSION], env!("CARGO_PKG_VERSION"));
    let recorded: StationSessionConfig = serde_json::from_str(&m[key::CONFIG]).unwrap();
    assert_eq!(recorded, config);
    for k in [
        key::TARGET,
        key::RUSTC,
        key::PROFILE,
        key::LOG_TIME,
        key::STARTED_UTC,
    ] {
        assert!(!m[k].is_empty(), "{k}");
    }
}
