//! The recorder: an MCAP writer on its own thread (named "recorder"), fed by a `QueueTap` on the
//! driver's side. The tap is what the 1 kHz loop touches: it clones the input or output with its
//! time into a bounded lock-free queue and returns; it never blocks, never writes a file and never
//! logs. A full queue counts a drop; the recording is then marked incomplete in its `end`
//! metadata, `finish` reports it, and replay refuses it.
//!
//! The writer thread serializes each record to JSON in its envelope (format.rs), writes it
//! unchunked and uncompressed (so every message can be named and a one-byte edit is not hidden
//! behind a chunk CRC), flushes about once a second, and starts a new part when a file passes
//! `max_file_bytes`.

use crate::format::{self, key};
use crossbeam_queue::ArrayQueue;
use mcap::records::{MessageHeader, Metadata};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use teleop::{
    ConsoleInput, ConsoleOutput, ConsoleSessionConfig, StationInput, StationOutput,
    StationSessionConfig, Tap,
};

pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 << 20;
pub const DEFAULT_QUEUE_CAPACITY: usize = 1 << 16;
/// How long the writer thread sleeps when the queue is empty.
const IDLE_SLEEP: Duration = Duration::from_millis(2);
/// How often the writer flushes the file, so a crash loses at most about this much.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

pub type StationRecorder = Recorder<StationInput, StationOutput>;
pub type StationTap = QueueTap<StationInput, StationOutput>;
pub type ConsoleRecorder = Recorder<ConsoleInput, ConsoleOutput>;
pub type ConsoleTap = QueueTap<ConsoleInput, ConsoleOutput>;

#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Where the files go (created if missing).
    pub dir: PathBuf,
    /// "station" or "console".
    pub role: &'static str,
    /// A part is finished and the next one begun once a file passes this size.
    pub max_file_bytes: u64,
    /// The `session` metadata: must hold "config" (the core's configuration as JSON); the
    /// recorder adds role, versions and the build's identity.
    pub metadata: BTreeMap<String, String>,
    /// Records the queue holds between the tap and the writer thread.
    pub queue_capacity: usize,
}

impl RecorderConfig {
    /// A configuration with no metadata yet; see `station` and `console` for the usual ones.
    pub fn new(dir: impl Into<PathBuf>, role: &'static str) -> Self {
        Self {
            dir: dir.into(),
            role,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            metadata: BTreeMap::new(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
        }
    }

    /// For a station core built as `StationSession::new(config)` (its own clock announcement,
    /// if any, is in the configuration).
    pub fn station(
        dir: impl Into<PathBuf>,
        config: &StationSessionConfig,
    ) -> Result<Self, RecorderError> {
        Ok(Self::new(dir, "station")
            .with_metadata(key::CONFIG, to_json("the station configuration", config)?))
    }

    /// For a console core built as `ConsoleSession::new(config)`.
    pub fn console(
        dir: impl Into<PathBuf>,
        config: &ConsoleSessionConfig,
    ) -> Result<Self, RecorderError> {
        Ok(Self::new(dir, "console")
            .with_metadata(key::CONFIG, to_json("the console configuration", config)?))
    }

    /// Adds one entry to the `session` metadata (a seed, a scenario name, ...).
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    pub fn with_max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    pub fn with_queue_capacity(mut self, records: usize) -> Self {
        self.queue_capacity = records;
        self
    }
}

fn to_json<T: Serialize>(what: &'static str, value: &T) -> Result<String, RecorderError> {
    serde_json::to_string(value).map_err(|e| RecorderError::Config(format!("{what}: {e}")))
}

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("recorder configuration: {0}")]
    Config(String),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: writing MCAP: {source}", path.display())]
    Mcap {
        path: PathBuf,
        source: mcap::McapError,
    },
    #[error("the recorder thread could not start: {0}")]
    Spawn(io::Error),
    #[error("the recorder thread panicked; the recording is unfinished")]
    Panicked,
}

/// What a finished recording holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSummary {
    /// Every part, in order.
    pub files: Vec<PathBuf>,
    /// Input and output messages written (all parts).
    pub inputs: u64,
    pub outputs: u64,
    /// Records lost (queue full or not encodable); the recording is incomplete unless 0.
    pub dropped: u64,
}

impl RecordingSummary {
    pub fn complete(&self) -> bool {
        self.dropped == 0
    }
}

/// One record on its way from the tap to the writer.
enum Entry<I, O> {
    Input {
        index: u64,
        now: Duration,
        input: I,
    },
    Output {
        index: u64,
        input_index: Option<u64>,
        now: Duration,
        output: O,
    },
}

struct Shared<I, O> {
    queue: ArrayQueue<Entry<I, O>>,
    dropped: AtomicU64,
    stop: AtomicBool,
}

/// The driver's side of a recorder: a `teleop::Tap` that queues clones and never blocks.
pub struct QueueTap<I, O> {
    shared: Arc<Shared<I, O>>,
    next_input: u64,
    next_output: u64,
}

impl<I, O> QueueTap<I, O> {
    /// Records lost so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    fn push(&self, entry: Entry<I, O>) {
        if self.shared.queue.push(entry).is_err() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl<I: Clone, O: Clone> Tap<I, O> for QueueTap<I, O> {
    fn input(&mut self, now: Duration, input: &I) {
        // Indices are counted here, so a lost record leaves a visible gap.
        let index = self.next_input;
        self.next_input += 1;
        self.push(Entry::Input {
            index,
            now,
            input: input.clone(),
        });
    }

    fn output(&mut self, now: Duration, output: &O) {
        let index = self.next_output;
        self.next_output += 1;
        self.push(Entry::Output {
            index,
            input_index: self.next_input.checked_sub(1),
            now,
            output: output.clone(),
        });
    }
}

/// Owns the writer thread; `finish` drains the queue and closes the file.
pub struct Recorder<I, O> {
    shared: Arc<Shared<I, O>>,
    thread: Option<JoinHandle<Result<Totals, RecorderError>>>,
    first_file: PathBuf,
}

impl<I, O> Recorder<I, O>
where
    I: Serialize + Clone + Send + 'static,
    O: Serialize + Clone + Send + 'static,
{
    /// Creates the first file (so a bad directory is an error here, not later), writes its
    /// `session` metadata, and starts the writer thread. Hand the tap to `teleop::Recorded`.
    pub fn start(config: RecorderConfig) -> Result<(Self, QueueTap<I, O>), RecorderError> {
        if !format::ROLES.contains(&config.role) {
            return Err(RecorderError::Config(format!(
                "role {:?} is neither \"station\" nor \"console\"",
                config.role
            )));
        }
        match config.metadata.get(key::CONFIG) {
            None => {
                return Err(RecorderError::Config(
                    "the metadata has no \"config\" (the core's configuration as JSON)".into(),
                ));
            }
            Some(text) => {
                if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
                    return Err(RecorderError::Config(format!(
                        "the \"config\" metadata is not JSON: {e}"
                    )));
                }
            }
        }
        if config.queue_capacity == 0 {
            return Err(RecorderError::Config("the queue capacity is 0".into()));
        }
        std::fs::create_dir_all(&config.dir).map_err(|source| RecorderError::Io {
            path: config.dir.clone(),
            source,
        })?;
        let unix_s = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let prefix = format::file_prefix(config.role, unix_s, std::process::id());
        let mut metadata = config.metadata;
        let standard = [
            (key::ROLE, config.role.to_string()),
            (key::WIRE_VERSION, proto::WIRE_VERSION.to_string()),
            (key::MEDLINK_VERSION, env!("CARGO_PKG_VERSION").to_string()),
            (key::TARGET, BUILD_TARGET.to_string()),
            (key::RUSTC, BUILD_RUSTC.to_string()),
            (key::PROFILE, BUILD_PROFILE.to_string()),
            (key::FORMAT, format::FORMAT_VERSION.to_string()),
            (key::LOG_TIME, format::LOG_TIME_MEANING.to_string()),
            (key::STARTED_UTC, format::utc_stamp(unix_s)),
        ];
        for (k, v) in standard {
            metadata.insert(k.to_string(), v);
        }
        let shared = Arc::new(Shared {
            queue: ArrayQueue::new(config.queue_capacity),
            dropped: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let mut writer = FileWriter {
            dir: config.dir,
            prefix,
            role: config.role,
            max_file_bytes: config.max_file_bytes,
            metadata,
            part_number: 0,
            part: None,
            files: Vec::new(),
            totals: Totals::default(),
            encoded: Vec::with_capacity(4096),
            envelope: Vec::with_capacity(4096),
            shared: Arc::clone(&shared),
        };
        writer.open_next_part()?;
        let first_file = writer.files[0].clone();
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || writer.run())
            .map_err(RecorderError::Spawn)?;
        let recorder = Self {
            shared: Arc::clone(&shared),
            thread: Some(thread),
            first_file,
        };
        let tap = QueueTap {
            shared,
            next_input: 0,
            next_output: 0,
        };
        Ok((recorder, tap))
    }
}

impl<I, O> Recorder<I, O> {
    /// The recording's first part (the one to hand to replay).
    pub fn first_file(&self) -> &Path {
        &self.first_file
    }

    /// Records lost so far.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Writes what the tap queued before this call, closes the last part and stops the thread.
    /// Call it once the driver has handed its last input (records queued later are lost).
    pub fn finish(mut self) -> Result<RecordingSummary, RecorderError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<RecordingSummary, RecorderError> {
        self.shared.stop.store(true, Ordering::Release);
        let Some(thread) = self.thread.take() else {
            return Err(RecorderError::Panicked);
        };
        let totals = thread.join().map_err(|_| RecorderError::Panicked)??;
        Ok(RecordingSummary {
            files: totals.files,
            inputs: totals.inputs,
            outputs: totals.outputs,
            dropped: totals.dropped,
        })
    }
}

impl<I, O> Drop for Recorder<I, O> {
    /// A recorder dropped without `finish` still closes its file.
    fn drop(&mut self) {
        if self.thread.is_some()
            && let Err(e) = self.stop()
        {
            tracing::error!("recording {}: {e}", self.first_file.display());
        }
    }
}

const BUILD_TARGET: &str = env!("RECORDER_TARGET");
const BUILD_RUSTC: &str = env!("RECORDER_RUSTC");
const BUILD_PROFILE: &str = env!("RECORDER_PROFILE");

/// This build's identity as a recording's metadata states it: (medlink version, target, rustc,
/// profile).
pub fn build_identity() -> [(&'static str, &'static str); 4] {
    [
        (key::MEDLINK_VERSION, env!("CARGO_PKG_VERSION")),
        (key::TARGET, BUILD_TARGET),
        (key::RUSTC, BUILD_RUSTC),
        (key::PROFILE, BUILD_PROFILE),
    ]
}

#[derive(Debug, Default)]
struct Totals {
    files: Vec<PathBuf>,
    inputs: u64,
    outputs: u64,
    dropped: u64,
}

/// One part being written.
struct Part {
    writer: mcap::Writer<SizedFile>,
    size: Arc<AtomicU64>,
    path: PathBuf,
    input_channel: u16,
    output_channel: u16,
}

/// A buffered file that publishes how far it has been written, for rotation by size (the
/// `mcap::Writer` keeps its stream to itself, and asking the stream its position would flush).
struct SizedFile {
    inner: BufWriter<File>,
    position: u64,
    size: Arc<AtomicU64>,
}

impl Write for SizedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.position += n as u64;
        self.size.store(self.position, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Seek for SizedFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.position = self.inner.seek(pos)?;
        self.size.store(self.position, Ordering::Relaxed);
        Ok(self.position)
    }
}

/// The writer thread's state.
struct FileWriter<I, O> {
    dir: PathBuf,
    prefix: String,
    role: &'static str,
    max_file_bytes: u64,
    metadata: BTreeMap<String, String>,
    part_number: u32,
    part: Option<Part>,
    files: Vec<PathBuf>,
    totals: Totals,
    /// The record's JSON, then its envelope: reused, so the thread allocates little.
    encoded: Vec<u8>,
    envelope: Vec<u8>,
    shared: Arc<Shared<I, O>>,
}

impl<I: Serialize, O: Serialize> FileWriter<I, O> {
    fn run(mut self) -> Result<Totals, RecorderError> {
        let result = self.pump();
        // Close the last part even after an error, so what was written stays readable.
        let closed = self.close_part(false);
        if let Err(e) = &result {
            tracing::error!("recorder stopped: {e}");
        }
        result.and(closed)?;
        self.totals.files = std::mem::take(&mut self.files);
        self.totals.dropped = self.shared.dropped.load(Ordering::Acquire);
        if self.totals.dropped > 0 {
            tracing::warn!(
                "recording {} is incomplete: {} records were dropped",
                self.prefix,
                self.totals.dropped
            );
        }
        Ok(std::mem::take(&mut self.totals))
    }

    /// Writes queued records until asked to stop, then drains what is left.
    fn pump(&mut self) -> Result<(), RecorderError> {
        let mut last_flush = Instant::now();
        loop {
            // Read the flag before draining: everything queued before `finish` set it is
            // written by this pass.
            let stopping = self.shared.stop.load(Ordering::Acquire);
            let mut wrote = false;
            while let Some(entry) = self.shared.queue.pop() {
                self.write(entry)?;
                wrote = true;
            }
            if stopping {
                return Ok(());
            }
            if last_flush.elapsed() >= FLUSH_EVERY {
                self.flush()?;
                last_flush = Instant::now();
            }
            if !wrote {
                std::thread::sleep(IDLE_SLEEP);
            }
        }
    }

    fn write(&mut self, entry: Entry<I, O>) -> Result<(), RecorderError> {
        if self
            .part
            .as_ref()
            .is_some_and(|p| p.size.load(Ordering::Relaxed) >= self.max_file_bytes)
        {
            self.close_part(true)?;
            self.open_next_part()?;
        }
        let Some(part) = self.part.as_mut() else {
            return Ok(());
        };
        self.encoded.clear();
        let (header, is_input) = match entry {
            Entry::Input { index, now, input } => {
                if let Err(e) = serde_json::to_writer(&mut self.encoded, &input) {
                    lost(&self.shared, "an input", &e);
                    return Ok(());
                }
                let now_ns = format::now_ns(now);
                format::write_input_envelope(&mut self.envelope, index, now_ns, &self.encoded);
                (header(part.input_channel, index, now_ns), true)
            }
            Entry::Output {
                index,
                input_index,
                now,
                output,
            } => {
                if let Err(e) = serde_json::to_writer(&mut self.encoded, &output) {
                    lost(&self.shared, "an output", &e);
                    return Ok(());
                }
                let now_ns = format::now_ns(now);
                format::write_output_envelope(
                    &mut self.envelope,
                    input_index,
                    now_ns,
                    &self.encoded,
                );
                (header(part.output_channel, index, now_ns), false)
            }
        };
        part.writer
            .write_to_known_channel(&header, &self.envelope)
            .map_err(|source| RecorderError::Mcap {
                path: part.path.clone(),
                source,
            })?;
        if is_input {
            self.totals.inputs += 1;
        } else {
            self.totals.outputs += 1;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), RecorderError> {
        if let Some(part) = self.part.as_mut() {
            part.writer.flush().map_err(|source| RecorderError::Mcap {
                path: part.path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    fn open_next_part(&mut self) -> Result<(), RecorderError> {
        self.part_number += 1;
        let path = format::part_path(&self.dir, &self.prefix, self.part_number);
        let io_error = |source| RecorderError::Io {
            path: path.clone(),
            source,
        };
        let mcap_error = |source| RecorderError::Mcap {
            path: path.clone(),
            source,
        };
        let file = File::create_new(&path).map_err(io_error)?;
        let size = Arc::new(AtomicU64::new(0));
        let probe = SizedFile {
            inner: BufWriter::with_capacity(1 << 16, file),
            position: 0,
            size: Arc::clone(&size),
        };
        let mut writer = mcap::WriteOptions::new()
            .compression(None)
            .use_chunks(false)
            .create(probe)
            .map_err(mcap_error)?;
        writer
            .write_metadata(&Metadata {
                name: format::SESSION_METADATA.into(),
                metadata: self.metadata.clone(),
            })
            .map_err(mcap_error)?;
        let role = self.role;
        let no_metadata = BTreeMap::new();
        let input_schema = writer
            .add_schema(
                &format::input_schema_name(role),
                format::SCHEMA_ENCODING,
                format::input_schema(role).as_bytes(),
            )
            .map_err(mcap_error)?;
        let output_schema = writer
            .add_schema(
                &format::output_schema_name(role),
                format::SCHEMA_ENCODING,
                format::output_schema(role).as_bytes(),
            )
            .map_err(mcap_error)?;
        let input_channel = writer
            .add_channel(
                input_schema,
                &format::input_topic(role),
                format::MESSAGE_ENCODING,
                &no_metadata,
            )
            .map_err(mcap_error)?;
        let output_channel = writer
            .add_channel(
                output_schema,
                &format::output_topic(role),
                format::MESSAGE_ENCODING,
                &no_metadata,
            )
            .map_err(mcap_error)?;
        if self.part_number > 1 {
            tracing::info!("recording continues in {}", path.display());
        }
        self.files.push(path.clone());
        self.part = Some(Part {
            writer,
            size,
            path,
            input_channel,
            output_channel,
        });
        Ok(())
    }

    /// Writes the part's `end` metadata and its summary; `continued` when another part follows.
    fn close_part(&mut self, continued: bool) -> Result<(), RecorderError> {
        let Some(mut part) = self.part.take() else {
            return Ok(());
        };
        let mcap_error = |source| RecorderError::Mcap {
            path: part.path.clone(),
            source,
        };
        let dropped = self.shared.dropped.load(Ordering::Acquire);
        let end = BTreeMap::from([
            (key::INPUTS.to_string(), self.totals.inputs.to_string()),
            (key::OUTPUTS.to_string(), self.totals.outputs.to_string()),
            (key::DROPPED.to_string(), dropped.to_string()),
            (key::COMPLETE.to_string(), (dropped == 0).to_string()),
            (key::PART.to_string(), self.part_number.to_string()),
            (key::CONTINUED.to_string(), continued.to_string()),
        ]);
        part.writer
            .write_metadata(&Metadata {
                name: format::END_METADATA.into(),
                metadata: end,
            })
            .map_err(mcap_error)?;
        part.writer.finish().map_err(mcap_error)?;
        let mut probe = part.writer.into_inner();
        probe
            .flush()
            .and_then(|()| probe.inner.get_ref().sync_data())
            .map_err(|source| RecorderError::Io {
                path: part.path.clone(),
                source,
            })
    }
}

fn header(channel_id: u16, index: u64, now_ns: u64) -> MessageHeader {
    MessageHeader {
        channel_id,
        // MCAP's sequence is 32 bits; the envelope's index is the full count.
        sequence: index as u32,
        log_time: now_ns,
        publish_time: now_ns,
    }
}

/// A record that cannot be encoded is lost like a dropped one: the recording is incomplete.
fn lost<I, O>(shared: &Shared<I, O>, what: &str, e: &serde_json::Error) {
    shared.dropped.fetch_add(1, Ordering::Relaxed);
    tracing::error!("recorder: {what} could not be encoded and is lost: {e}");
}
