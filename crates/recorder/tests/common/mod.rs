//! A simulated session recorded on both sides, for the recorder's tests.

#![allow(dead_code)]

use recorder::{ConsoleRecorder, RecorderConfig, RecordingSummary, StationRecorder};
use std::path::{Path, PathBuf};
use std::time::Duration;
use teleop::sim::{SimConfig, SimPair};
use teleop::{ConsoleReport, StationReport};

/// What a recorded simulation left behind.
pub struct Recorded {
    pub station: RecordingSummary,
    pub console: RecordingSummary,
    /// The live station's report at the end, to compare with the replayed one.
    pub station_report: StationReport,
    pub station_now: Duration,
    /// The live console's report at the end.
    pub console_report: ConsoleReport,
}

/// Records `duration_s` of a suturing session over 5G eMBB with `seed` into `dir`, both sides,
/// each part at most `max_file_bytes`.
pub fn record_sim(dir: &Path, seed: u64, duration_s: f64, max_file_bytes: u64) -> Recorded {
    let profile = netem::named_profile("5g-embb").expect("a named profile");
    let config = SimConfig::new(profile, seed);
    let (station_rec, station_tap) = StationRecorder::start(
        RecorderConfig::station(dir.join("station"), &config.station)
            .unwrap()
            .with_metadata("seed", seed.to_string())
            .with_max_file_bytes(max_file_bytes),
    )
    .unwrap();
    let (console_rec, console_tap) = ConsoleRecorder::start(
        RecorderConfig::console(dir.join("console"), &config.console)
            .unwrap()
            .with_max_file_bytes(max_file_bytes),
    )
    .unwrap();
    let input = Box::new(robot::script::SurgicalScript::suturing(seed));
    let mut pair = SimPair::new(&config, input, duration_s, console_tap, station_tap).unwrap();
    while pair.step() {}
    pair.finish();
    pair.settle(Duration::from_secs(2));
    let station_now = pair.now();
    let station_report = pair.station.core().report(station_now, false);
    let console_report = pair.console.core().report();
    assert_eq!(
        pair.station.tap().dropped(),
        0,
        "the station tap dropped records"
    );
    assert_eq!(
        pair.console.tap().dropped(),
        0,
        "the console tap dropped records"
    );
    Recorded {
        station: station_rec.finish().unwrap(),
        console: console_rec.finish().unwrap(),
        station_report,
        station_now,
        console_report,
    }
}

/// One decoded message: (topic, sequence, log_time, data).
pub type Decoded = (String, u32, u64, Vec<u8>);

/// Every message of every file, in file order, through the `mcap` crate's own reader.
pub fn decode(files: &[PathBuf]) -> Vec<Decoded> {
    let mut out = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).unwrap();
        for message in mcap::MessageStream::new(&bytes).unwrap() {
            let m = message.unwrap();
            out.push((
                m.channel.topic.clone(),
                m.sequence,
                m.log_time,
                m.data.into_owned(),
            ));
        }
    }
    out
}

/// Where `needle` starts in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
