//! The writer thread: the only owner of the log file. It drains the queue into chained lines,
//! notes records the queue lost, signs checkpoints (every N entries, when entries have waited
//! T unsigned, when asked, and when closing), flushes each line and syncs at each checkpoint.

use crate::keys::{Certificate, PemSigner};
use crate::log::Shared;
use crate::{AuditError, AuditOptions, AuditSummary};
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use trust::chain::{ChainWriter, RejectAll, Signer, Verdict, read_header, verify};

/// A log file ready for the writer.
pub(crate) struct Opened {
    file: File,
    path: PathBuf,
    chain: ChainWriter,
    /// A note to write first (how the log was resumed).
    note: Option<String>,
}

pub(crate) struct Worker {
    shared: Arc<Shared>,
    signer: PemSigner,
    file: File,
    path: PathBuf,
    chain: ChainWriter,
    note: Option<String>,
    every: u64,
    interval: Duration,
    /// When the oldest unsigned line was written.
    unsigned_since: Option<Instant>,
    written: u64,
    checkpoints: u64,
    lost: u64,
    /// The first write that failed: nothing is written after it.
    error: Option<String>,
}

impl Worker {
    /// A new file with its header, synced.
    pub fn create(
        path: &Path,
        role: &str,
        signer: &PemSigner,
        now_us: i64,
    ) -> Result<Opened, AuditError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => AuditError::Exists(path.to_owned()),
                _ => AuditError::io(path)(e),
            })?;
        Self::start_file(file, path, role, signer, now_us)
    }

    fn start_file(
        mut file: File,
        path: &Path,
        role: &str,
        signer: &PemSigner,
        now_us: i64,
    ) -> Result<Opened, AuditError> {
        let (chain, header) =
            ChainWriter::start(role, now_us, signer.key_id(), signer.certificate_pem())?;
        file.write_all(&header).map_err(AuditError::io(path))?;
        file.sync_data().map_err(AuditError::io(path))?;
        Ok(Opened {
            file,
            path: path.to_owned(),
            chain,
            note: None,
        })
    }

    /// The existing log at `path`, verified against our own certificate and cut back to its last
    /// whole line.
    pub fn resume(
        path: &Path,
        role: &str,
        signer: &PemSigner,
        now_us: i64,
    ) -> Result<Opened, AuditError> {
        let bytes = fs::read(path).map_err(AuditError::io(path))?;
        let mut file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(AuditError::io(path))?;
        let cert =
            Certificate::from_pem(signer.certificate_pem()).map_err(|problem| AuditError::Key {
                path: path.to_owned(),
                problem,
            })?;
        let only_a_cut_header = read_header(&bytes).is_none()
            && matches!(
                verify(&bytes, &RejectAll).verdict,
                Verdict::TruncatedTail { line: 1, .. }
            );
        if only_a_cut_header {
            // The previous run stopped before its header was whole: nothing was logged.
            file.set_len(0).map_err(AuditError::io(path))?;
            return Self::start_file(file, path, role, signer, now_us);
        }
        let resumed =
            ChainWriter::resume(&bytes, &cert.verifier(), signer.key_id()).map_err(|source| {
                AuditError::Resume {
                    path: path.to_owned(),
                    source,
                }
            })?;
        if let Some(header) = &resumed.report.header
            && header.role != role
        {
            return Err(AuditError::OtherRole {
                path: path.to_owned(),
                theirs: header.role.clone(),
                ours: role.to_string(),
            });
        }
        let keep = resumed.keep as u64;
        file.set_len(keep).map_err(AuditError::io(path))?;
        file.seek(SeekFrom::End(0)).map_err(AuditError::io(path))?;
        if resumed.needs_newline {
            file.write_all(b"\n").map_err(AuditError::io(path))?;
        }
        let cut = bytes.len() - resumed.keep;
        let note = match resumed.report.verdict {
            Verdict::TruncatedTail { .. } => format!(
                "resumed: the previous run stopped mid-line (a crash); its {cut} cut-short bytes \
                 were removed"
            ),
            _ if resumed.report.closed => "resumed after a closed run".to_string(),
            _ => "resumed: the previous run ended without closing the log".to_string(),
        };
        Ok(Opened {
            file,
            path: path.to_owned(),
            chain: resumed.writer,
            note: Some(note),
        })
    }

    pub fn new(
        shared: Arc<Shared>,
        signer: PemSigner,
        opened: Opened,
        options: AuditOptions,
    ) -> Self {
        Self {
            shared,
            signer,
            file: opened.file,
            path: opened.path,
            unsigned_since: opened.chain.needs_checkpoint().then(Instant::now),
            chain: opened.chain,
            note: opened.note,
            every: options.checkpoint_every.max(1),
            interval: Duration::from_millis(options.checkpoint_interval_ms),
            written: 0,
            checkpoints: 0,
            lost: 0,
            error: None,
        }
    }

    /// The thread's body: until closed, drain and sleep until woken or a checkpoint is due.
    pub fn run(mut self) -> Result<AuditSummary, AuditError> {
        if let Some(text) = self.note.take() {
            self.note_line(0, text);
        }
        loop {
            let closing = self.shared.closing.load(Ordering::SeqCst);
            if closing {
                // A push that saw the log open finishes before the last drain.
                while self.shared.pushing.load(Ordering::SeqCst) > 0 {
                    std::thread::yield_now();
                }
            }
            self.pump(Instant::now());
            if closing {
                return self.close();
            }
            std::thread::park_timeout(self.until_due(Instant::now()));
        }
    }

    /// Writes what is queued, notes what was lost, signs a checkpoint when one is due.
    pub fn pump(&mut self, now: Instant) {
        while let Some((wall_us, record)) = self.shared.queue.pop() {
            let line = self.chain.entry(wall_us, record);
            if self.write(line) {
                self.written += 1;
                self.unsigned_since.get_or_insert(now);
            } else {
                self.lost += 1;
            }
            if self.chain.unsigned() >= self.every {
                self.checkpoint(false);
            }
        }
        let lost = self.shared.overflow.swap(0, Ordering::Relaxed);
        if lost > 0 {
            self.lost += lost;
            let text = format!("{lost} records lost: the audit queue was full");
            self.note_line(lost, text);
        }
        let asked = self.shared.checkpoint_asked.swap(false, Ordering::Relaxed);
        let waited = self
            .unsigned_since
            .is_some_and(|since| now.saturating_duration_since(since) >= self.interval);
        if self.chain.needs_checkpoint() && (asked || waited) {
            self.checkpoint(false);
        }
    }

    /// How long to sleep when nothing wakes the writer.
    fn until_due(&self, now: Instant) -> Duration {
        match self.unsigned_since {
            Some(since) => (since + self.interval).saturating_duration_since(now),
            None => self.interval,
        }
        .max(Duration::from_millis(1))
    }

    fn note_line(&mut self, lost: u64, text: String) {
        let line = self.chain.note(crate::log::now_us(), lost, text);
        if self.write(line) {
            self.written += 1;
            self.unsigned_since.get_or_insert_with(Instant::now);
        }
    }

    fn checkpoint(&mut self, closing: bool) {
        let line = self.chain.checkpoint(&self.signer, closing);
        if self.write(line) {
            self.checkpoints += 1;
            self.unsigned_since = None;
            if let Err(e) = self.file.sync_data() {
                self.fail(e.to_string());
            }
        }
    }

    /// Appends a line; false when it was not written (now or since an earlier failure).
    fn write(&mut self, line: Result<Vec<u8>, trust::chain::ChainError>) -> bool {
        if self.error.is_some() {
            return false;
        }
        let written = line
            .map_err(|e| e.to_string())
            .and_then(|line| self.file.write_all(&line).map_err(|e| e.to_string()));
        match written {
            Ok(()) => true,
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    fn fail(&mut self, error: String) {
        tracing::error!(
            "audit log {}: {error}; nothing more is written to it",
            self.path.display()
        );
        self.shared.failed.store(true, Ordering::Relaxed);
        self.error.get_or_insert(error);
    }

    fn close(mut self) -> Result<AuditSummary, AuditError> {
        self.checkpoint(true);
        match self.error {
            None => Ok(AuditSummary {
                path: self.path,
                entries: self.chain.entries(),
                written: self.written,
                checkpoints: self.checkpoints,
                lost: self.lost,
            }),
            Some(error) => Err(AuditError::WriterFailed {
                path: self.path,
                error,
                lost: self.lost,
            }),
        }
    }
}
