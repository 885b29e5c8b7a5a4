//! The audit log's file format and its verification, without IO: a header line, hash-chained
//! entry lines and signed checkpoint lines, one JSON object per line (docs/audit.md).
//!
//! Each line is the JSON serialization of its body (fields in the order of the structs in
//! [`line`]) sealed by one last field: entries, notes and the header end with
//! `,"hash":"<hex SHA-256 of the body's bytes>"}`, checkpoints with
//! `,"signature":"<hex signature of the body's bytes>"}`. The body is the line without that last
//! field, closed by `}`. Each entry names the hash of the line before it (`prev`; entry 0 names
//! the header's), so an edit, deletion, insertion or reordering breaks the chain at the first
//! line it touches; a checkpoint signs the hash of the newest line, and so everything before it.
//!
//! The writer ([`ChainWriter`]) turns records into lines; [`verify`] walks a file's bytes and
//! names the first problem. Signing and signature checking come from the edge through the
//! [`Signer`] and [`SignatureVerifier`] traits.

mod hex;
mod line;
mod report;
mod verify;
mod writer;

pub use line::{Body, Checkpoint, Entry, FORMAT, Header, Note, sha256_hex};
pub use report::{Place, Report, Tamper, TamperKind, Verdict};
pub use verify::{ParsedLine, parse_lines, read_header, verify};
pub use writer::{ChainWriter, ResumeError, Resumed};

#[cfg(test)]
mod tests;

use thiserror::Error;

/// Signs checkpoints with the role's key (implemented by the edge that holds the key).
pub trait Signer {
    /// Names the key: the hex SHA-256 of the signer's certificate (DER), as the header states it.
    fn key_id(&self) -> &str;
    /// The signature of `message`, in the algorithm's usual encoding (ASN.1 DER for ECDSA).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// Checks checkpoint signatures against the signer's public key (implemented by the edge).
pub trait SignatureVerifier {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool;
}

/// A verifier that accepts no signature: for reading a log whose signer cannot be checked.
pub struct RejectAll;

impl SignatureVerifier for RejectAll {
    fn verify(&self, _message: &[u8], _signature: &[u8]) -> bool {
        false
    }
}

/// The signer could not sign.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("signing failed: {0}")]
pub struct SignError(pub String);

/// A line could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChainError {
    #[error("could not encode a line: {0}")]
    Encode(String),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("the log names signer {header}; this key is {signer}")]
    WrongSigner { header: String, signer: String },
}
