//! The writing side of the chain: a small state (next entry number, hash of the newest line,
//! what the last checkpoint signed) that turns records into sealed lines and signs checkpoints.
//! The edge writes the lines; this state never touches a file or a clock.

use super::line::{
    Body, Checkpoint, Entry, FORMAT, Header, Note, SealField, body_bytes, seal, sha256_hex,
};
use super::report::{Tamper, Verdict};
use super::verify::walk;
use super::{ChainError, Report, SignatureVerifier, Signer, hex};
use crate::audit::AuditRecord;
use thiserror::Error;

/// Where the chain stands for the next line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainWriter {
    signer: String,
    next_seq: u64,
    tip: String,
    signed_entries: u64,
    signed_tip: Option<String>,
}

/// A writer that continues an existing log.
#[derive(Debug)]
pub struct Resumed {
    pub writer: ChainWriter,
    /// Keep this many bytes of the file: everything after them is a cut-short line to remove.
    pub keep: usize,
    /// The kept part ends without a newline: write one before the next line.
    pub needs_newline: bool,
    /// What the existing log verified as.
    pub report: Report,
}

/// Why an existing log cannot be continued.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ResumeError {
    #[error("the log is tampered with: {0}")]
    Tampered(Tamper),
    #[error("the log has no header")]
    NoHeader,
    #[error("the log is signed by key {header}, not by this signer ({ours}): start a new log")]
    OtherSigner { header: String, ours: String },
}

impl ChainWriter {
    /// A new log: the writer and its header line. `signer` is the key id that will sign its
    /// checkpoints (hex SHA-256 of `signer_cert_pem`'s DER).
    pub fn start(
        role: &str,
        started_us: i64,
        signer: &str,
        signer_cert_pem: &str,
    ) -> Result<(Self, Vec<u8>), ChainError> {
        let header = Body::Header(Header {
            format: FORMAT.to_string(),
            role: role.to_string(),
            started_us,
            signer: signer.to_string(),
            signer_cert_pem: signer_cert_pem.to_string(),
        });
        let bytes = body_bytes(&header)?;
        let tip = sha256_hex(&bytes);
        let line = seal(&bytes, SealField::Hash, &tip);
        let writer = Self {
            signer: signer.to_string(),
            next_seq: 0,
            tip,
            signed_entries: 0,
            signed_tip: None,
        };
        Ok((writer, line))
    }

    /// Continues the log in `bytes` when it verifies (a cut-short last line is allowed and is to
    /// be removed) and is signed by `signer`.
    pub fn resume(
        bytes: &[u8],
        verifier: &dyn SignatureVerifier,
        signer: &str,
    ) -> Result<Resumed, ResumeError> {
        let walked = walk(bytes, verifier);
        if let Verdict::Tampered(tamper) = &walked.report.verdict {
            return Err(ResumeError::Tampered(tamper.clone()));
        }
        let (Some(header), Some(tip)) = (&walked.report.header, walked.tip) else {
            return Err(ResumeError::NoHeader);
        };
        if header.signer != signer {
            return Err(ResumeError::OtherSigner {
                header: header.signer.clone(),
                ours: signer.to_string(),
            });
        }
        let writer = Self {
            signer: signer.to_string(),
            next_seq: walked.report.entries,
            tip,
            signed_entries: walked.report.signed_entries,
            signed_tip: walked.signed_tip,
        };
        Ok(Resumed {
            writer,
            keep: walked.valid_len,
            needs_newline: walked.needs_newline,
            report: walked.report,
        })
    }

    /// The line for `record`, handed to the log at `wall_us` (µs since the Unix epoch, UTC).
    pub fn entry(&mut self, wall_us: i64, record: AuditRecord) -> Result<Vec<u8>, ChainError> {
        let body = Body::Entry(Entry {
            seq: self.next_seq,
            wall_us,
            prev: self.tip.clone(),
            record,
        });
        self.append(&body)
    }

    /// A note by the writer: `lost` records it could not write, and why.
    pub fn note(
        &mut self,
        wall_us: i64,
        lost: u64,
        text: impl Into<String>,
    ) -> Result<Vec<u8>, ChainError> {
        let body = Body::Note(Note {
            seq: self.next_seq,
            wall_us,
            prev: self.tip.clone(),
            lost,
            text: text.into(),
        });
        self.append(&body)
    }

    fn append(&mut self, body: &Body) -> Result<Vec<u8>, ChainError> {
        let bytes = body_bytes(body)?;
        let hash = sha256_hex(&bytes);
        let line = seal(&bytes, SealField::Hash, &hash);
        self.tip = hash;
        self.next_seq += 1;
        Ok(line)
    }

    /// A checkpoint line signing the chain so far; `closing` when the log ends with it.
    pub fn checkpoint(
        &mut self,
        signer: &dyn Signer,
        closing: bool,
    ) -> Result<Vec<u8>, ChainError> {
        if signer.key_id() != self.signer {
            return Err(ChainError::WrongSigner {
                header: self.signer.clone(),
                signer: signer.key_id().to_string(),
            });
        }
        let body = Body::Checkpoint(Checkpoint {
            entries: self.next_seq,
            tip: self.tip.clone(),
            signer: self.signer.clone(),
            closing,
        });
        let bytes = body_bytes(&body)?;
        let signature = signer.sign(&bytes)?;
        let line = seal(&bytes, SealField::Signature, &hex::encode(&signature));
        self.signed_entries = self.next_seq;
        self.signed_tip = Some(self.tip.clone());
        Ok(line)
    }

    /// Entries (and notes) written so far, over the whole log.
    pub fn entries(&self) -> u64 {
        self.next_seq
    }

    /// Entries after the last checkpoint.
    pub fn unsigned(&self) -> u64 {
        self.next_seq - self.signed_entries
    }

    /// Something (an entry, or the header itself) is not yet covered by a checkpoint.
    pub fn needs_checkpoint(&self) -> bool {
        self.signed_tip.as_deref() != Some(self.tip.as_str())
    }

    /// The hash of the newest line.
    pub fn tip(&self) -> &str {
        &self.tip
    }
}
