//! Replay (copper's contract, reference/sans-io.md §5): rebuild the core from a recording's
//! `session` metadata, hand it every recorded input with its recorded time through
//! `teleop::Recorded`, drain its outputs after each, and compare each with the recorded output at
//! the same place, as JSON values with floats compared bit for bit. Every input's CRC is checked,
//! and so are MCAP's data and summary CRCs. The first difference stops replay with the file, the
//! channel, the message index, the session time and what differed.
//!
//! A recording runs on through its following parts (`-002.mcap`, ...). A recording whose `end`
//! metadata says records were dropped is refused: its outputs cannot be explained.
//!
//! Nothing read from a file can panic here: every fault is a `ReplayError`.

use crate::format::{self, InputEnvelope, OutputEnvelope, key};
use mcap::records::Record;
use mcap::sans_io::{LinearReadEvent, LinearReader, LinearReaderOptions};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use teleop::{
    ConsoleSession, ConsoleSessionConfig, Core, NoTap, Recorded, StationSession,
    StationSessionConfig,
};

/// The longest excerpt of a value an error message shows.
const EXCERPT: usize = 160;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a readable MCAP file: {source}", path.display())]
    Mcap {
        path: PathBuf,
        source: mcap::McapError,
    },
    /// The `session` metadata is missing, or does not say how to rebuild the core.
    #[error("{}: {reason}", path.display())]
    Metadata { path: PathBuf, reason: String },
    /// The file has no `end` record: the recorder never finished it (a crash, a full disk), or
    /// it was cut short. What it holds was replayed, up to its last whole message.
    #[error(
        "{}: the recording was never finished (no \"end\" record: the recorder stopped without \
         closing it, or the file was cut short); its first {inputs} inputs and {outputs} outputs, \
         up to session time {}, replayed and reproduced every output, and the rest is unknown",
        path.display(),
        SessionTime(*now_ns)
    )]
    Unfinished {
        path: PathBuf,
        inputs: u64,
        outputs: u64,
        now_ns: u64,
    },
    #[error(
        "{}: the recording is incomplete: {dropped} records were lost while recording (the \
         recorder fell behind), so its outputs cannot be reproduced; it is refused",
        path.display()
    )]
    Incomplete { path: PathBuf, dropped: u64 },
    #[error("{}: {reason}", path.display())]
    Parts { path: PathBuf, reason: String },
    /// The first place where the replay and the recording part ways.
    #[error(
        "{}: {channel} message {sequence} at session time {}: {what}",
        file.display(),
        SessionTime(*now_ns)
    )]
    Divergence {
        file: PathBuf,
        channel: String,
        /// The message's index on its channel (an input's index, or an output's).
        sequence: u64,
        now_ns: u64,
        what: String,
    },
}

/// A session time in seconds with nanoseconds.
struct SessionTime(u64);

impl fmt::Display for SessionTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09} s",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

/// The core at the end of a replay.
pub enum ReplayedCore {
    Station(Box<StationSession>),
    Console(Box<ConsoleSession>),
}

impl ReplayedCore {
    pub fn role(&self) -> &'static str {
        match self {
            ReplayedCore::Station(_) => "station",
            ReplayedCore::Console(_) => "console",
        }
    }
}

impl fmt::Debug for ReplayedCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplayedCore::{}", self.role())
    }
}

/// Which build made a recording, against this one: the bit-for-bit promise holds on the same
/// build and target (libm's `sin`, `exp`, ... may differ elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildIdentity {
    /// (key, recorded value, this build's value) for medlink version, target, rustc, profile.
    pub entries: Vec<(String, String, String)>,
}

impl BuildIdentity {
    pub fn same(&self) -> bool {
        self.entries.iter().all(|(_, a, b)| a == b)
    }

    /// "target: recorded x86_64-..., this build aarch64-..." for each entry that differs.
    pub fn differences(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(_, a, b)| a != b)
            .map(|(k, a, b)| format!("{k}: recorded {a}, this build {b}"))
            .collect()
    }
}

/// A replay that reproduced every output.
#[derive(Debug)]
pub struct ReplayOutcome {
    /// Every part replayed, in order.
    pub files: Vec<PathBuf>,
    pub inputs: u64,
    pub outputs: u64,
    /// The session times of the first and the last input (zero when there is none).
    pub first_now: Duration,
    pub last_now: Duration,
    /// The `session` metadata.
    pub metadata: BTreeMap<String, String>,
    pub build: BuildIdentity,
    pub core: ReplayedCore,
}

impl ReplayOutcome {
    pub fn role(&self) -> &'static str {
        self.core.role()
    }
}

/// Replays the recording that starts at `path` (its first part) through a core rebuilt from its
/// metadata, and checks every output.
pub fn replay(path: impl AsRef<Path>) -> Result<ReplayOutcome, ReplayError> {
    let path = path.as_ref();
    if let Some((part, first)) = format::split_part(path)
        && part != 1
    {
        return Err(ReplayError::Parts {
            path: path.to_path_buf(),
            reason: format!(
                "this is part {part} of a recording; replay starts at its first part, {}",
                first.display()
            ),
        });
    }
    let parts = scan_parts(path)?;
    let session = parts[0].session.clone();
    let role = session.get(key::ROLE).map(String::as_str);
    let config = session
        .get(key::CONFIG)
        .ok_or_else(|| metadata_error(path, "the session metadata has no \"config\""))?;
    let files: Vec<PathBuf> = parts.iter().map(|p| p.path.clone()).collect();
    let (core, counts) = match role {
        Some("station") => {
            let config: StationSessionConfig = serde_json::from_str(config).map_err(|e| {
                metadata_error(
                    path,
                    &format!("the \"config\" is not a station configuration: {e}"),
                )
            })?;
            let core = StationSession::new(config).map_err(|e| {
                metadata_error(
                    path,
                    &format!("the station core cannot be built from its \"config\": {e}"),
                )
            })?;
            let (core, counts) = drive(core, "station", &parts)?;
            (ReplayedCore::Station(Box::new(core)), counts)
        }
        Some("console") => {
            let config: ConsoleSessionConfig = serde_json::from_str(config).map_err(|e| {
                metadata_error(
                    path,
                    &format!("the \"config\" is not a console configuration: {e}"),
                )
            })?;
            let (core, counts) = drive(ConsoleSession::new(config), "console", &parts)?;
            (ReplayedCore::Console(Box::new(core)), counts)
        }
        Some(other) => {
            return Err(metadata_error(
                path,
                &format!("the role {other:?} is neither \"station\" nor \"console\""),
            ));
        }
        None => return Err(metadata_error(path, "the session metadata has no \"role\"")),
    };
    let build = BuildIdentity {
        entries: crate::writer::build_identity()
            .iter()
            .map(|(k, this)| {
                let recorded = session.get(*k).cloned().unwrap_or_else(|| "unknown".into());
                (k.to_string(), recorded, this.to_string())
            })
            .collect(),
    };
    Ok(ReplayOutcome {
        files,
        inputs: counts.inputs,
        outputs: counts.outputs,
        first_now: Duration::from_nanos(counts.first_now_ns.unwrap_or(0)),
        last_now: Duration::from_nanos(counts.last_now_ns),
        metadata: session,
        build,
        core,
    })
}

fn metadata_error(path: &Path, reason: &str) -> ReplayError {
    ReplayError::Metadata {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// One part as the first pass found it.
struct PartScan {
    path: PathBuf,
    session: BTreeMap<String, String>,
    /// (inputs, outputs) the `end` record counts up to this part, if it has one.
    end_counts: Option<(u64, u64)>,
    /// No `end` record, and the file ends early (or with no fault at all): replay what is there.
    unfinished: bool,
}

/// The first pass: reads every part's metadata, follows the parts, and refuses an unfinished or
/// incomplete recording before anything is replayed. An MCAP fault found here is left for the
/// second pass, which names the message it reaches first.
fn scan_parts(first: &Path) -> Result<Vec<PartScan>, ReplayError> {
    let mut parts: Vec<PartScan> = Vec::new();
    let mut path = first.to_path_buf();
    loop {
        let bytes = read(&path)?;
        let mut session = None;
        let mut end = None;
        let mut fault = None;
        for record in Records::new(&bytes) {
            match record {
                Ok(Record::Metadata(m)) if m.name == format::SESSION_METADATA => {
                    session.get_or_insert(m.metadata);
                }
                Ok(Record::Metadata(m)) if m.name == format::END_METADATA => end = Some(m.metadata),
                Ok(_) => {}
                Err(e) => {
                    fault = Some(e);
                    break;
                }
            }
        }
        let Some(session) = session else {
            return Err(match fault {
                Some(source) => ReplayError::Mcap { path, source },
                None => metadata_error(
                    &path,
                    "no \"session\" metadata record: not a medlink recording",
                ),
            });
        };
        if let Some(first) = parts.first()
            && first.session != session
        {
            return Err(ReplayError::Parts {
                path,
                reason: format!(
                    "its session metadata differs from that of {}: not the same recording",
                    first.path.display()
                ),
            });
        }
        let Some(end) = end else {
            // Cut short or never closed: replay what is there. Another fault is reported by the
            // second pass where it reaches it.
            let unfinished = matches!(fault, None | Some(mcap::McapError::UnexpectedEof));
            parts.push(PartScan {
                path,
                session,
                end_counts: None,
                unfinished,
            });
            return Ok(parts);
        };
        let number = |k: &str| -> Result<u64, ReplayError> {
            end.get(k).and_then(|v| v.parse().ok()).ok_or_else(|| {
                metadata_error(&path, &format!("the \"end\" record has no count {k:?}"))
            })
        };
        let dropped = number(key::DROPPED)?;
        if dropped > 0 {
            return Err(ReplayError::Incomplete { path, dropped });
        }
        let end_counts = Some((number(key::INPUTS)?, number(key::OUTPUTS)?));
        let continued = end.get(key::CONTINUED).is_some_and(|v| v == "true");
        let part = parts.len() as u32 + 1;
        parts.push(PartScan {
            path,
            session,
            end_counts,
            unfinished: false,
        });
        if !continued || fault.is_some() {
            return Ok(parts);
        }
        let current = &parts[parts.len() - 1].path;
        let Some(next) = format::sibling_part(current, part + 1) else {
            return Err(ReplayError::Parts {
                path: current.clone(),
                reason: "the recording continues in another part, but this file's name does not \
                         say which (expected {prefix}-NNN.mcap)"
                    .into(),
            });
        };
        if !next.exists() {
            return Err(ReplayError::Parts {
                path: current.clone(),
                reason: format!(
                    "the recording continues in part {}, but {} is missing",
                    part + 1,
                    next.display()
                ),
            });
        }
        path = next;
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ReplayError> {
    std::fs::read(path).map_err(|source| ReplayError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[derive(Debug, Default)]
struct Counts {
    inputs: u64,
    outputs: u64,
    first_now_ns: Option<u64>,
    last_now_ns: u64,
}

/// The second pass: every part's messages through the core.
fn drive<C>(core: C, role: &str, parts: &[PartScan]) -> Result<(C, Counts), ReplayError>
where
    C: Core,
    C::Input: DeserializeOwned + Serialize,
    C::Output: Serialize,
{
    let input_topic = format::input_topic(role);
    let output_topic = format::output_topic(role);
    let mut core = Recorded::new(core, NoTap);
    let mut counts = Counts::default();
    let mut last_input: Option<u64> = None;
    // What the core produced and the recording has not yet shown, oldest first.
    let mut pending: VecDeque<Value> = VecDeque::new();
    let mut encoded = Vec::new();
    // A core may hold outputs before its first input.
    drain(&mut core, &mut pending);
    for part in parts {
        let file = part.path.as_path();
        let bytes = read(file)?;
        let mut topics: BTreeMap<u16, String> = BTreeMap::new();
        for record in Records::new(&bytes) {
            let record = match record {
                Ok(record) => record,
                Err(mcap::McapError::UnexpectedEof) if part.unfinished => {
                    return Err(unfinished(file, &counts));
                }
                Err(source) => {
                    return Err(ReplayError::Mcap {
                        path: file.to_path_buf(),
                        source,
                    });
                }
            };
            let (header, data) = match record {
                Record::Channel(channel) => {
                    topics.insert(channel.id, channel.topic);
                    continue;
                }
                Record::Message { header, data } => (header, data),
                _ => continue,
            };
            let topic = topics.get(&header.channel_id).map(String::as_str);
            let diverged =
                |channel: &str, sequence: u64, now_ns: u64, what: String| ReplayError::Divergence {
                    file: file.to_path_buf(),
                    channel: channel.to_string(),
                    sequence,
                    now_ns,
                    what,
                };
            if topic == Some(input_topic.as_str()) {
                let index = counts.inputs;
                let envelope: InputEnvelope<C::Input> =
                    serde_json::from_slice(&data).map_err(|e| {
                        diverged(
                            &input_topic,
                            index,
                            header.log_time,
                            format!("the input cannot be decoded: {e}"),
                        )
                    })?;
                let now_ns = envelope.now_ns;
                let fail = |what: String| diverged(&input_topic, index, now_ns, what);
                if envelope.index != index {
                    return Err(fail(format!(
                        "the recording has input {} where input {index} belongs: an input is \
                         missing or out of order",
                        envelope.index
                    )));
                }
                if header.log_time != now_ns || header.sequence != index as u32 {
                    return Err(fail(format!(
                        "the message header (sequence {}, log_time {}) does not match its \
                         envelope (index {index}, now_ns {now_ns})",
                        header.sequence, header.log_time
                    )));
                }
                encoded.clear();
                serde_json::to_writer(&mut encoded, &envelope.input)
                    .map_err(|e| fail(format!("the input cannot be encoded again: {e}")))?;
                let crc = format::crc64(&encoded);
                if u64::from_str_radix(&envelope.crc, 16).ok() != Some(crc) {
                    return Err(fail(format!(
                        "the input does not match its CRC (recorded {}, computed {crc:016x}): \
                         the file was altered, or the input does not survive a JSON round trip \
                         (a NaN or an infinity?): {}",
                        excerpt(&envelope.crc),
                        excerpt(&String::from_utf8_lossy(&encoded))
                    )));
                }
                if let Some(extra) = pending.front() {
                    return Err(diverged(
                        &output_topic,
                        counts.outputs,
                        counts.last_now_ns,
                        format!(
                            "the replay produced an output the recording does not have, before \
                             input {index}: {}",
                            excerpt(&extra.to_string())
                        ),
                    ));
                }
                core.handle_input(envelope.input, Duration::from_nanos(now_ns));
                drain(&mut core, &mut pending);
                counts.inputs += 1;
                counts.first_now_ns.get_or_insert(now_ns);
                counts.last_now_ns = now_ns;
                last_input = Some(index);
            } else if topic == Some(output_topic.as_str()) {
                let sequence = counts.outputs;
                let envelope: OutputEnvelope = serde_json::from_slice(&data).map_err(|e| {
                    diverged(
                        &output_topic,
                        sequence,
                        header.log_time,
                        format!("the output cannot be decoded: {e}"),
                    )
                })?;
                let fail = |what: String| diverged(&output_topic, sequence, envelope.now_ns, what);
                if envelope.input_index != last_input
                    || envelope.now_ns != counts.last_now_ns
                    || header.log_time != envelope.now_ns
                    || header.sequence != sequence as u32
                {
                    return Err(fail(format!(
                        "the output is out of place: it says input {:?} at {} ns (header: \
                         sequence {}, log_time {}), but follows input {last_input:?} at {} ns as \
                         output {sequence}",
                        envelope.input_index,
                        envelope.now_ns,
                        header.sequence,
                        header.log_time,
                        counts.last_now_ns
                    )));
                }
                let Some(replayed) = pending.pop_front() else {
                    return Err(fail(format!(
                        "the recording has an output the replay did not produce: {}",
                        excerpt(&envelope.output.to_string())
                    )));
                };
                let mut at = String::from("output");
                if let Some((recorded, got)) =
                    first_difference(&mut at, &envelope.output, &replayed)
                {
                    return Err(fail(format!(
                        "the replayed output differs at {at}: recorded {recorded}, replayed {got}"
                    )));
                }
                counts.outputs += 1;
            }
        }
        if part.unfinished {
            return Err(unfinished(file, &counts));
        }
        if let Some((inputs, outputs)) = part.end_counts
            && (inputs, outputs) != (counts.inputs, counts.outputs)
        {
            return Err(ReplayError::Parts {
                path: file.to_path_buf(),
                reason: format!(
                    "its \"end\" record counts {inputs} inputs and {outputs} outputs up to here, \
                     but the file holds {} and {}: messages are missing",
                    counts.inputs, counts.outputs
                ),
            });
        }
    }
    if let Some(extra) = pending.front() {
        let file = parts.last().map_or_else(PathBuf::new, |p| p.path.clone());
        return Err(ReplayError::Divergence {
            file,
            channel: output_topic,
            sequence: counts.outputs,
            now_ns: counts.last_now_ns,
            what: format!(
                "the replay produced an output after the recording's last one: {}",
                excerpt(&extra.to_string())
            ),
        });
    }
    let (core, NoTap) = core.into_parts();
    Ok((core, counts))
}

fn unfinished(file: &Path, counts: &Counts) -> ReplayError {
    ReplayError::Unfinished {
        path: file.to_path_buf(),
        inputs: counts.inputs,
        outputs: counts.outputs,
        now_ns: counts.last_now_ns,
    }
}

fn drain<C>(core: &mut Recorded<C, NoTap>, pending: &mut VecDeque<Value>)
where
    C: Core,
    C::Output: Serialize,
{
    while let Some(output) = core.poll_output() {
        // An output that serde cannot turn into JSON cannot match a recorded one.
        pending.push_back(serde_json::to_value(&output).unwrap_or(Value::Null));
    }
}

/// The first place (a path like `output.datagram.joints[2]`) where two JSON values differ, with
/// excerpts of both there. Numbers are compared exactly: floats by their bits.
fn first_difference(
    at: &mut String,
    recorded: &Value,
    replayed: &Value,
) -> Option<(String, String)> {
    let differ = || {
        Some((
            excerpt(&recorded.to_string()),
            excerpt(&replayed.to_string()),
        ))
    };
    match (recorded, replayed) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let len = at.len();
                at.push('.');
                at.push_str(k);
                let found = match b.get(k) {
                    Some(vb) => first_difference(at, va, vb),
                    None => Some((excerpt(&va.to_string()), "(absent)".into())),
                };
                if found.is_some() {
                    return found;
                }
                at.truncate(len);
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    at.push('.');
                    at.push_str(k);
                    return Some(("(absent)".into(), excerpt(&vb.to_string())));
                }
            }
            None
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                let len = at.len();
                at.push_str(&format!("[{i}]"));
                let found = first_difference(at, va, vb);
                if found.is_some() {
                    return found;
                }
                at.truncate(len);
            }
            if a.len() != b.len() {
                return Some((format!("{} items", a.len()), format!("{} items", b.len())));
            }
            None
        }
        (Value::Number(a), Value::Number(b)) => {
            let same = match (a.as_u64(), b.as_u64(), a.as_i64(), b.as_i64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => {
                    a.is_f64()
                        && b.is_f64()
                        && a.as_f64().map(f64::to_bits) == b.as_f64().map(f64::to_bits)
                }
            };
            if same { None } else { differ() }
        }
        _ => {
            if recorded == replayed {
                None
            } else {
                differ()
            }
        }
    }
}

fn excerpt(text: &str) -> String {
    if text.len() <= EXCERPT {
        return text.to_string();
    }
    let mut end = EXCERPT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Every record of an MCAP file in file order, with its data and summary CRCs checked: the
/// sans-IO reader of the `mcap` crate over a byte slice, as `mcap::read::LinearReader` does it,
/// with the CRC checks that one leaves off.
struct Records<'a> {
    buf: &'a [u8],
    reader: LinearReader,
    done: bool,
}

impl<'a> Records<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            reader: LinearReader::new_with_options(
                LinearReaderOptions::default()
                    .with_record_length_limit(buf.len())
                    .with_validate_data_section_crc(true)
                    .with_validate_summary_section_crc(true),
            ),
            done: false,
        }
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Record<'static>, mcap::McapError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        while let Some(event) = self.reader.next_event() {
            match event {
                Ok(LinearReadEvent::ReadRequest(need)) => {
                    let len = need.min(self.buf.len());
                    self.reader.insert(len).copy_from_slice(&self.buf[..len]);
                    self.reader.notify_read(len);
                    self.buf = &self.buf[len..];
                }
                Ok(LinearReadEvent::Record { data, opcode }) => {
                    let record = mcap::parse_record(opcode, data).map(Record::into_owned);
                    if record.is_err() {
                        self.done = true;
                    }
                    return Some(record);
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        self.done = true;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_difference_is_named_with_its_path() {
        let a = json!({"output": "datagram", "datagram": {"joints": [0.1, 0.2, 0.3]}});
        let b =
            json!({"output": "datagram", "datagram": {"joints": [0.1, 0.2, 0.30000000000000004]}});
        let mut at = String::from("output");
        let (recorded, replayed) = first_difference(&mut at, &a, &b).unwrap();
        assert_eq!(at, "output.datagram.joints[2]");
        assert_eq!(recorded, "0.3");
        assert_eq!(replayed, "0.30000000000000004");
        let mut at = String::new();
        assert!(first_difference(&mut at, &a, &a.clone()).is_none());
    }

    #[test]
    fn floats_are_compared_by_their_bits_and_integers_exactly() {
        let mut at = String::new();
        assert!(first_difference(&mut at, &json!(-0.0), &json!(0.0)).is_some());
        assert!(first_difference(&mut at, &json!(1), &json!(1.0)).is_some());
        assert!(first_difference(&mut at, &json!(u64::MAX), &json!(u64::MAX)).is_none());
        assert!(first_difference(&mut at, &json!(-3), &json!(-3)).is_none());
    }

    #[test]
    fn session_times_read_in_seconds() {
        assert_eq!(SessionTime(1_234_567_890).to_string(), "1.234567890 s");
    }

    #[test]
    fn excerpts_are_cut_on_a_character() {
        let long = "µ".repeat(200);
        let cut = excerpt(&long);
        assert!(cut.ends_with('…') && cut.len() <= EXCERPT + 3);
    }
}
