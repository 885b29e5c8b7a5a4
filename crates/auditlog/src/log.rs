//! The log's handles: [`AuditLog`] opens the file and owns the writer thread; [`AuditSender`]
//! (cloneable, any thread) pushes records without blocking or allocating.

use crate::keys::{Certificate, PemSigner};
use crate::worker::{Opened, Worker};
use crate::{AuditError, AuditOptions, AuditSummary};
use crossbeam_queue::ArrayQueue;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::{SystemTime, UNIX_EPOCH};
use trust::AuditRecord;

/// What the handles and the writer thread share.
pub(crate) struct Shared {
    /// Records with the wall-clock time (µs since the Unix epoch) they were pushed at.
    pub queue: ArrayQueue<(i64, AuditRecord)>,
    /// Records refused since the writer last noted them.
    pub overflow: AtomicU64,
    /// Every record refused (queue full, writer failed or log closed).
    pub refused: AtomicU64,
    /// Pushes under way (the writer waits for them before its last drain).
    pub pushing: AtomicUsize,
    pub closing: AtomicBool,
    pub checkpoint_asked: AtomicBool,
    pub failed: AtomicBool,
    pub writer: OnceLock<Thread>,
}

impl Shared {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            queue: ArrayQueue::new(capacity.max(1)),
            overflow: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            pushing: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            checkpoint_asked: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            writer: OnceLock::new(),
        }
    }

    pub(crate) fn wake(&self) {
        if let Some(thread) = self.writer.get() {
            thread.unpark();
        }
    }
}

/// Pushes records into a log from any thread.
#[derive(Clone)]
pub struct AuditSender {
    shared: Arc<Shared>,
}

impl AuditSender {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Queues `record`, stamped with the wall-clock time now. Never blocks and never allocates.
    /// Returns false when the record was refused: the queue was full (the writer logs how many
    /// were lost), or the log is closed or its writer failed (counted in [`Self::refused`]).
    pub fn push(&self, record: AuditRecord) -> bool {
        let shared = &*self.shared;
        shared.pushing.fetch_add(1, Ordering::SeqCst);
        let queued =
            if shared.closing.load(Ordering::SeqCst) || shared.failed.load(Ordering::Relaxed) {
                false
            } else {
                match shared.queue.push((now_us(), record)) {
                    Ok(()) => true,
                    Err(_) => {
                        shared.overflow.fetch_add(1, Ordering::Relaxed);
                        false
                    }
                }
            };
        shared.pushing.fetch_sub(1, Ordering::SeqCst);
        if !queued {
            shared.refused.fetch_add(1, Ordering::Relaxed);
        }
        shared.wake();
        queued
    }

    /// Asks the writer to sign a checkpoint now (say, at the end of a session), if anything
    /// is unsigned. Does not wait.
    pub fn checkpoint_now(&self) {
        self.shared.checkpoint_asked.store(true, Ordering::Relaxed);
        self.shared.wake();
    }

    /// Records refused so far.
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }

    /// The writer could not write to its file: nothing more reaches the log.
    pub fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Relaxed)
    }
}

/// An open audit log and its writer thread.
pub struct AuditLog {
    sender: AuditSender,
    path: PathBuf,
    thread: Option<JoinHandle<Result<AuditSummary, AuditError>>>,
}

impl AuditLog {
    /// Starts a new log at `path` (refused if the file exists), signed with the role's key
    /// (`key`, PKCS#8 PEM) whose certificate is `cert`.
    pub fn create(
        path: &Path,
        key: &Path,
        cert: &Path,
        role: &str,
        options: AuditOptions,
    ) -> Result<Self, AuditError> {
        let signer = load_signer(key, cert)?;
        let opened = Worker::create(path, role, &signer, now_us())?;
        Self::start(path, signer, opened, options)
    }

    /// Continues the log at `path` (created when absent): it must verify and be signed by the
    /// same key. A line a crash cut short is removed, and a note says so.
    pub fn append(
        path: &Path,
        key: &Path,
        cert: &Path,
        role: &str,
        options: AuditOptions,
    ) -> Result<Self, AuditError> {
        let signer = load_signer(key, cert)?;
        let opened = match fs::metadata(path) {
            Ok(_) => Worker::resume(path, role, &signer, now_us())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Worker::create(path, role, &signer, now_us())?
            }
            Err(e) => return Err(AuditError::io(path)(e)),
        };
        Self::start(path, signer, opened, options)
    }

    fn start(
        path: &Path,
        signer: PemSigner,
        opened: Opened,
        options: AuditOptions,
    ) -> Result<Self, AuditError> {
        let shared = Arc::new(Shared::new(options.queue_capacity));
        let worker = Worker::new(shared.clone(), signer, opened, options);
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || worker.run())
            .map_err(AuditError::io(path))?;
        // Set before any push can have been made: the handles are not out yet.
        let _ = shared.writer.set(thread.thread().clone());
        Ok(Self {
            sender: AuditSender::new(shared),
            path: path.to_owned(),
            thread: Some(thread),
        })
    }

    /// A handle for other threads.
    pub fn sender(&self) -> AuditSender {
        self.sender.clone()
    }

    /// See [`AuditSender::push`].
    pub fn push(&self, record: AuditRecord) -> bool {
        self.sender.push(record)
    }

    /// See [`AuditSender::checkpoint_now`].
    pub fn checkpoint_now(&self) {
        self.sender.checkpoint_now()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the log: later pushes are refused, the queue is drained, a closing checkpoint is
    /// signed and the file is synced. Waits for the writer.
    pub fn finish(mut self) -> Result<AuditSummary, AuditError> {
        self.close()
    }

    fn close(&mut self) -> Result<AuditSummary, AuditError> {
        let Some(thread) = self.thread.take() else {
            return Err(AuditError::WriterPanicked);
        };
        self.sender.shared.closing.store(true, Ordering::SeqCst);
        thread.thread().unpark();
        thread.join().map_err(|_| AuditError::WriterPanicked)?
    }
}

impl Drop for AuditLog {
    /// A log dropped without [`AuditLog::finish`] is closed the same way.
    fn drop(&mut self) {
        if self.thread.is_some()
            && let Err(e) = self.close()
        {
            tracing::error!("closing the audit log {}: {e}", self.path.display());
        }
    }
}

fn load_signer(key: &Path, cert: &Path) -> Result<PemSigner, AuditError> {
    let key_pem = fs::read(key).map_err(AuditError::io(key))?;
    let cert_pem = fs::read_to_string(cert).map_err(AuditError::io(cert))?;
    // Name the certificate when it is the certificate that is wrong.
    Certificate::from_pem(&cert_pem).map_err(|problem| AuditError::Key {
        path: cert.to_owned(),
        problem,
    })?;
    PemSigner::from_pem(&key_pem, &cert_pem).map_err(|problem| AuditError::Key {
        path: key.to_owned(),
        problem,
    })
}

/// The wall-clock time, µs since the Unix epoch (negative before it).
pub(crate) fn now_us() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_micros()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |us| -us),
    }
}

/// A role's cores push their records through the sink; a refused record is counted by the log.
/// A session's end (a disconnection) or the role's stop is followed by a signed checkpoint.
impl trust::AuditSink for AuditSender {
    fn push(&self, record: AuditRecord) {
        let ends_a_session = matches!(
            record.action,
            trust::AuditAction::Disconnected | trust::AuditAction::Stopped
        );
        AuditSender::push(self, record);
        if ends_a_session {
            self.checkpoint_now();
        }
    }
}
