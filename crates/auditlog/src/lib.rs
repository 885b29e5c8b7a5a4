//! The tamper-evident audit log on disk (docs/audit.md). A role's cores emit
//! [`trust::AuditRecord`]s; the role pushes them into an [`AuditLog`], whose writer thread owns
//! the file: it appends each record as a hash-chained line (format: [`trust::chain`]), flushes
//! each line, and signs a checkpoint with the role's own TLS key every N entries or T seconds and
//! when the log is closed (fsynced each time). Pushing never blocks and never allocates: the
//! queue is a bounded lock-free array, so a servo or network thread may push; a record that finds
//! it full is counted, and the count is written into the log as a note (nothing silently lost).
//!
//! ```no_run
//! use auditlog::{AuditLog, AuditOptions};
//! use trust::{AuditAction, AuditRecord, Identity, Role};
//!
//! # fn main() -> Result<(), auditlog::AuditError> {
//! let log = AuditLog::create(
//!     "audit/station.jsonl".as_ref(),
//!     "pki/station.key".as_ref(),
//!     "pki/station.crt".as_ref(),
//!     "station",
//!     AuditOptions::default(),
//! )?;
//! let sender = log.sender(); // cloneable, for other threads
//! let surgeon = Identity::simulated("Dr Li Wei", Role::Surgeon);
//! sender.push(AuditRecord::new(1_000, Some(&surgeon), AuditAction::Request, "engage", "granted"));
//! let summary = log.finish()?; // drains, signs a closing checkpoint, fsyncs
//! println!("{} entries in {}", summary.entries, summary.path.display());
//!
//! let report = auditlog::verify_file(&summary.path, Some("pki/ca.crt".as_ref()))?;
//! assert!(report.passed());
//! # Ok(())
//! # }
//! ```

mod keys;
mod log;
mod verify;
mod worker;

#[cfg(test)]
mod tests;

pub use keys::{CertInfo, CertVerifier, Certificate, KeyProblem, PemSigner};
pub use log::{AuditLog, AuditSender};
pub use verify::{CaCheck, FileReport, verify_bytes, verify_file};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use thiserror::Error;
use trust::chain::{ChainError, ResumeError};

/// How the writer batches its signatures and how many records may wait for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditOptions {
    /// Records that may wait for the writer; more are counted as lost (and the count logged).
    pub queue_capacity: usize,
    /// Sign a checkpoint after this many entries.
    pub checkpoint_every: u64,
    /// Sign a checkpoint when entries have waited this long unsigned (milliseconds).
    pub checkpoint_interval_ms: u64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            queue_capacity: 4096,
            checkpoint_every: 64,
            checkpoint_interval_ms: 5_000,
        }
    }
}

/// What a closed log holds and what this run wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditSummary {
    pub path: PathBuf,
    /// Entries (records and notes) in the whole log, earlier runs included.
    pub entries: u64,
    /// Entries this run wrote.
    pub written: u64,
    /// Checkpoints this run signed, the closing one included.
    pub checkpoints: u64,
    /// Records lost this run (the queue was full): counted in the log's notes.
    pub lost: u64,
}

#[derive(Debug, Error)]
pub enum AuditError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {problem}")]
    Key { path: PathBuf, problem: KeyProblem },
    #[error("{0} already exists: an audit log is never overwritten (continue it with append)")]
    Exists(PathBuf),
    #[error("{path}: cannot continue this log: {source}")]
    Resume { path: PathBuf, source: ResumeError },
    #[error("{path}: the log is the {theirs}'s, not the {ours}'s")]
    OtherRole {
        path: PathBuf,
        theirs: String,
        ours: String,
    },
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("{path}: the audit writer failed ({error}); {lost} records were not written")]
    WriterFailed {
        path: PathBuf,
        error: String,
        lost: u64,
    },
    #[error("the audit writer thread panicked")]
    WriterPanicked,
}

impl AuditError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> AuditError {
        let path = path.to_owned();
        move |source| AuditError::Io { path, source }
    }
}
