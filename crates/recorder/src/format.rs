//! What a recording holds, in one place for the writer, replay, the tests and the docs
//! (docs/recording.md): file names and parts, the metadata records and their keys, the channels
//! with their JSON schemas, and the two message envelopes with the input's CRC-64.

use serde::Deserialize;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The version of this layout, in the `session` metadata.
pub const FORMAT_VERSION: &str = "1";
/// The first record of every part: what the session was and how to rebuild its core.
pub const SESSION_METADATA: &str = "session";
/// The last record of every part: counts, drops, and whether another part follows.
pub const END_METADATA: &str = "end";
pub const MESSAGE_ENCODING: &str = "json";
pub const SCHEMA_ENCODING: &str = "jsonschema";
/// The roles a recording can be of.
pub const ROLES: [&str; 2] = ["station", "console"];

/// Keys of the `session` metadata record.
pub mod key {
    /// "station" or "console".
    pub const ROLE: &str = "role";
    /// The core's configuration as JSON (`StationSessionConfig`, its own clock announcement
    /// included, or `ConsoleSessionConfig`).
    pub const CONFIG: &str = "config";
    pub const WIRE_VERSION: &str = "wire_version";
    pub const MEDLINK_VERSION: &str = "medlink_version";
    /// The build's target triple, compiler and profile: replay is bit for bit on the same build.
    pub const TARGET: &str = "target";
    pub const RUSTC: &str = "rustc";
    pub const PROFILE: &str = "profile";
    pub const FORMAT: &str = "recording_format";
    /// What `log_time` means in this file.
    pub const LOG_TIME: &str = "log_time";
    /// Wall-clock start of the recording (UTC), for people; replay never uses it.
    pub const STARTED_UTC: &str = "started_utc";

    /// Keys of the `end` metadata record (counts are totals over every part up to this one).
    pub const INPUTS: &str = "inputs";
    pub const OUTPUTS: &str = "outputs";
    /// Records the tap could not queue (the writer fell behind) or could not encode.
    pub const DROPPED: &str = "dropped";
    /// "true" when no record was lost.
    pub const COMPLETE: &str = "complete";
    /// This part's number (1-based).
    pub const PART: &str = "part";
    /// "true" when the recording goes on in the next part.
    pub const CONTINUED: &str = "continued";
}

/// What `log_time` means, as the `session` metadata states it.
pub const LOG_TIME_MEANING: &str =
    "session time of the core (ns since its zero, the `now` it was handed), not wall time";

pub fn input_topic(role: &str) -> String {
    format!("/{role}/input")
}

pub fn output_topic(role: &str) -> String {
    format!("/{role}/output")
}

pub fn input_schema_name(role: &str) -> String {
    format!("medlink.{role}.input")
}

pub fn output_schema_name(role: &str) -> String {
    format!("medlink.{role}.output")
}

/// The JSON schema of an input message's envelope.
pub fn input_schema(role: &str) -> String {
    let core = core_name(role);
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("medlink {role} input"),
        "description": format!("One input of teleop::{core} with the session time it was handed at."),
        "type": "object",
        "properties": {
            "index": {"type": "integer", "minimum": 0, "description": "0-based input index over the whole recording"},
            "now_ns": {"type": "integer", "minimum": 0, "description": "session time (ns) the input was handed at; equals log_time"},
            "input": {"type": "object", "description": format!("teleop::{core} input, serde JSON, tagged by its \"input\" field")},
            "crc": {"type": "string", "pattern": "^[0-9a-f]{16}$", "description": "CRC-64/ECMA-182 of the input's JSON bytes, lowercase hex"}
        },
        "required": ["index", "now_ns", "input", "crc"],
        "additionalProperties": false
    })
    .to_string()
}

/// The JSON schema of an output message's envelope.
pub fn output_schema(role: &str) -> String {
    let core = core_name(role);
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("medlink {role} output"),
        "description": format!("One output of teleop::{core}, after the input that produced it."),
        "type": "object",
        "properties": {
            "input_index": {"type": ["integer", "null"], "minimum": 0, "description": "index of the input that produced it (null: before the first input)"},
            "now_ns": {"type": "integer", "minimum": 0, "description": "session time (ns) of that input; equals log_time"},
            "output": {"type": "object", "description": format!("teleop::{core} output, serde JSON, tagged by its \"output\" field")}
        },
        "required": ["input_index", "now_ns", "output"],
        "additionalProperties": false
    })
    .to_string()
}

fn core_name(role: &str) -> &'static str {
    match role {
        "console" => "ConsoleSession",
        _ => "StationSession",
    }
}

const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_ECMA_182);

/// CRC-64/ECMA-182 of an input's JSON bytes.
pub fn crc64(bytes: &[u8]) -> u64 {
    CRC64.checksum(bytes)
}

pub fn now_ns(now: Duration) -> u64 {
    u64::try_from(now.as_nanos()).unwrap_or(u64::MAX)
}

/// Writes `{"index":..,"now_ns":..,"input":<input_json>,"crc":".."}` into `out` (cleared first).
pub fn write_input_envelope(out: &mut Vec<u8>, index: u64, now_ns: u64, input_json: &[u8]) {
    out.clear();
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{{\"index\":{index},\"now_ns\":{now_ns},\"input\":");
    out.extend_from_slice(input_json);
    let _ = write!(out, ",\"crc\":\"{:016x}\"}}", crc64(input_json));
}

/// Writes `{"input_index":..,"now_ns":..,"output":<output_json>}` into `out` (cleared first).
pub fn write_output_envelope(
    out: &mut Vec<u8>,
    input_index: Option<u64>,
    now_ns: u64,
    output_json: &[u8],
) {
    out.clear();
    let _ = match input_index {
        Some(i) => write!(out, "{{\"input_index\":{i},\"now_ns\":{now_ns},\"output\":"),
        None => write!(
            out,
            "{{\"input_index\":null,\"now_ns\":{now_ns},\"output\":"
        ),
    };
    out.extend_from_slice(output_json);
    out.push(b'}');
}

/// An input message, decoded.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputEnvelope<I> {
    pub index: u64,
    pub now_ns: u64,
    pub input: I,
    pub crc: String,
}

/// An output message, decoded (the output stays JSON: replay compares it as such).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputEnvelope {
    pub input_index: Option<u64>,
    pub now_ns: u64,
    pub output: Value,
}

/// `{role}-{YYYYmmddTHHMMSSZ}-{pid}`: the name every part of one recording shares.
pub fn file_prefix(role: &str, unix_s: u64, pid: u32) -> String {
    format!("{role}-{}-{pid}", utc_stamp(unix_s))
}

/// `DIR/{prefix}-{part:03}.mcap`.
pub fn part_path(dir: &Path, prefix: &str, part: u32) -> PathBuf {
    dir.join(format!("{prefix}-{part:03}.mcap"))
}

/// The part number of a recording file and the path of its first part, when its name follows
/// `{prefix}-{NNN}.mcap`.
pub fn split_part(path: &Path) -> Option<(u32, PathBuf)> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".mcap")?;
    let (prefix, digits) = stem.rsplit_once('-')?;
    if digits.len() < 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let part = digits.parse().ok()?;
    Some((part, path.with_file_name(format!("{prefix}-{:03}.mcap", 1))))
}

/// The path of part `part` of the recording whose part `path` is.
pub fn sibling_part(path: &Path, part: u32) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".mcap")?;
    let (prefix, _) = stem.rsplit_once('-')?;
    Some(path.with_file_name(format!("{prefix}-{part:03}.mcap")))
}

/// `YYYYmmddTHHMMSSZ` of a Unix time (UTC, proleptic Gregorian).
pub fn utc_stamp(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let secs = unix_s % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps_follow_the_calendar() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        // 2000-02-29 (a leap day of a century leap year) 12:34:56.
        assert_eq!(utc_stamp(951_827_696), "20000229T123456Z");
        assert_eq!(utc_stamp(1_767_225_599), "20251231T235959Z");
    }

    #[test]
    fn parts_are_named_and_found() {
        let dir = Path::new("/rec");
        let p = part_path(dir, "station-20260101T000000Z-42", 2);
        assert_eq!(
            p,
            Path::new("/rec/station-20260101T000000Z-42-002.mcap").to_path_buf()
        );
        let (part, first) = split_part(&p).unwrap();
        assert_eq!(part, 2);
        assert_eq!(first, part_path(dir, "station-20260101T000000Z-42", 1));
        assert_eq!(
            sibling_part(&first, 3).unwrap(),
            part_path(dir, "station-20260101T000000Z-42", 3)
        );
        assert_eq!(split_part(Path::new("/rec/session.mcap")), None);
    }

    #[test]
    fn the_crc_is_crc64_ecma_182() {
        // The catalogue's check value: CRC of "123456789".
        assert_eq!(crc64(b"123456789"), 0x6c40_df5f_0b49_7347);
    }

    #[test]
    fn envelopes_are_json() {
        let mut out = Vec::new();
        write_input_envelope(&mut out, 7, 1_000, br#"{"input":"tick"}"#);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["index"], 7);
        assert_eq!(v["input"]["input"], "tick");
        assert_eq!(v["crc"].as_str().unwrap().len(), 16);
        write_output_envelope(&mut out, None, 5, br#"{"output":"x"}"#);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert!(v["input_index"].is_null());
        for role in ROLES {
            let _: Value = serde_json::from_str(&input_schema(role)).unwrap();
            let _: Value = serde_json::from_str(&output_schema(role)).unwrap();
        }
    }
}
