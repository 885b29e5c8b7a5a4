//! The four kinds of line and how a line is sealed: its body's JSON bytes, then one last field,
//! the body's SHA-256 (`hash`) or the signer's signature over the body (`signature`).

use super::{ChainError, hex};
use crate::audit::AuditRecord;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The format this version writes and reads, named in every header.
pub const FORMAT: &str = "medlink-audit/1";

/// The first line: what the log is and who signs its checkpoints. Hashed like an entry; entry 0
/// names its hash as `prev`, so the header is in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// [`FORMAT`].
    pub format: String,
    /// The role that writes the log ("station", "console").
    pub role: String,
    /// When the writer started, µs since the Unix epoch (UTC).
    pub started_us: i64,
    /// The signer's key id: hex SHA-256 of its certificate (DER).
    pub signer: String,
    /// The signer's certificate, PEM: checkpoints are checked against its public key.
    pub signer_cert_pem: String,
}

/// One audited record, in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// 0, 1, 2, ... over entries and notes alike.
    pub seq: u64,
    /// When the record was handed to the log, µs since the Unix epoch (UTC), by the writer's
    /// host clock (the record's own `at_us` is on the role's clock).
    pub wall_us: i64,
    /// Hex SHA-256 of the line before (the header's for entry 0).
    pub prev: String,
    pub record: AuditRecord,
}

/// A statement by the writer itself, in the chain like an entry: records it lost (its queue was
/// full), a crash it resumed after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub seq: u64,
    pub wall_us: i64,
    pub prev: String,
    /// Records lost since the previous note (never written; only counted).
    pub lost: u64,
    pub text: String,
}

/// A signature over the chain so far: the signer vouches that `entries` entries were written
/// and that the newest line's hash is `tip` (the header's when `entries` is 0). Not itself in
/// the chain: entries after a checkpoint chain to the entry before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub entries: u64,
    pub tip: String,
    /// The key id, as in the header.
    pub signer: String,
    /// Written when the log was closed.
    pub closing: bool,
}

/// A line without its seal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    Header(Header),
    Entry(Entry),
    Note(Note),
    Checkpoint(Checkpoint),
}

impl Body {
    /// The chain position of an entry or a note.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Body::Entry(entry) => Some(entry.seq),
            Body::Note(note) => Some(note.seq),
            Body::Header(_) | Body::Checkpoint(_) => None,
        }
    }

    /// The field that seals this kind of line.
    pub(crate) fn seal_field(&self) -> SealField {
        match self {
            Body::Checkpoint(_) => SealField::Signature,
            _ => SealField::Hash,
        }
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SealField {
    Hash,
    Signature,
}

impl SealField {
    fn name(self) -> &'static str {
        match self {
            SealField::Hash => "hash",
            SealField::Signature => "signature",
        }
    }
}

/// A body's bytes: its JSON serialization, fields in declaration order, no whitespace.
pub(crate) fn body_bytes(body: &Body) -> Result<Vec<u8>, ChainError> {
    serde_json::to_vec(body).map_err(|e| ChainError::Encode(e.to_string()))
}

/// The line (with its newline) for body bytes sealed by `seal` (hex) in `field`.
pub(crate) fn seal(body: &[u8], field: SealField, seal_hex: &str) -> Vec<u8> {
    let open = body.strip_suffix(b"}").unwrap_or(body);
    let mut line = Vec::with_capacity(body.len() + seal_hex.len() + 16);
    line.extend_from_slice(open);
    line.extend_from_slice(b",\"");
    line.extend_from_slice(field.name().as_bytes());
    line.extend_from_slice(b"\":\"");
    line.extend_from_slice(seal_hex.as_bytes());
    line.extend_from_slice(b"\"}\n");
    line
}

/// A line taken apart: its body's bytes and parsed value, and its seal.
#[derive(Debug)]
pub(crate) struct Unsealed {
    pub bytes: Vec<u8>,
    pub body: Body,
    pub field: SealField,
    /// The seal as written (hex).
    pub seal_hex: String,
    /// The seal's bytes.
    pub seal: Vec<u8>,
}

/// Why a line could not be taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unreadable {
    /// Not a sealed JSON object of a known kind.
    Malformed(String),
    /// Well formed, but not the bytes the writer makes for this value (another spelling).
    NotCanonical,
}

/// Splits a line (without its newline) into body and seal, parses the body and checks that it
/// is spelled exactly as the writer spells it.
pub(crate) fn unseal(line: &[u8]) -> Result<Unsealed, Unreadable> {
    let malformed = |why: &str| Unreadable::Malformed(why.to_string());
    let rest = line
        .strip_suffix(b"\"}")
        .ok_or_else(|| malformed("it does not end with its seal"))?;
    // A seal's value is hex, so the last `,"` starts the seal field.
    let at = rest
        .windows(2)
        .rposition(|w| w == b",\"")
        .ok_or_else(|| malformed("it has no seal"))?;
    let seal_field = &rest[at + 2..];
    let (field, seal_hex) = if let Some(v) = seal_field.strip_prefix(b"hash\":\"") {
        (SealField::Hash, v)
    } else if let Some(v) = seal_field.strip_prefix(b"signature\":\"") {
        (SealField::Signature, v)
    } else {
        return Err(malformed("its last field is neither hash nor signature"));
    };
    let seal = hex::decode(seal_hex).ok_or_else(|| malformed("its seal is not lowercase hex"))?;
    if field == SealField::Hash && seal.len() != 32 {
        return Err(malformed("its hash is not 32 bytes"));
    }
    let mut bytes = rest[..at].to_vec();
    bytes.push(b'}');
    let body: Body = serde_json::from_slice(&bytes)
        .map_err(|e| Unreadable::Malformed(format!("its body is not a log line: {e}")))?;
    if body.seal_field() != field {
        return Err(malformed("it is sealed with the wrong field for its kind"));
    }
    let canonical = body_bytes(&body).map_err(|e| Unreadable::Malformed(e.to_string()))?;
    if canonical != bytes {
        return Err(Unreadable::NotCanonical);
    }
    Ok(Unsealed {
        bytes,
        body,
        field,
        seal_hex: String::from_utf8_lossy(seal_hex).into_owned(),
        seal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditAction;

    fn entry() -> Body {
        Body::Entry(Entry {
            seq: 3,
            wall_us: 1_700_000_000_000_000,
            prev: sha256_hex(b"before"),
            record: AuditRecord::new(5, None, AuditAction::Started, "station", "ok"),
        })
    }

    #[test]
    fn a_sealed_line_is_its_body_then_its_hash() {
        let body = body_bytes(&entry()).unwrap();
        assert!(body.starts_with(b"{\"kind\":\"entry\",\"seq\":3,\"wall_us\":"));
        let hash = sha256_hex(&body);
        let line = seal(&body, SealField::Hash, &hash);
        let text = String::from_utf8(line.clone()).unwrap();
        assert!(
            text.ends_with(&format!(",\"hash\":\"{hash}\"}}\n")),
            "{text}"
        );
        let unsealed = unseal(line.strip_suffix(b"\n").unwrap()).unwrap();
        assert_eq!(unsealed.bytes, body);
        assert_eq!(unsealed.body, entry());
        assert_eq!(unsealed.seal_hex, hash);
    }

    #[test]
    fn another_spelling_of_the_same_value_is_refused() {
        let body = body_bytes(&entry()).unwrap();
        let spaced = String::from_utf8(body)
            .unwrap()
            .replacen("\"seq\":3", "\"seq\": 3", 1);
        let line = seal(
            spaced.as_bytes(),
            SealField::Hash,
            &sha256_hex(spaced.as_bytes()),
        );
        assert_eq!(
            unseal(line.strip_suffix(b"\n").unwrap()).unwrap_err(),
            Unreadable::NotCanonical
        );
    }

    #[test]
    fn a_checkpoint_must_be_sealed_by_a_signature() {
        let body = body_bytes(&Body::Checkpoint(Checkpoint {
            entries: 0,
            tip: sha256_hex(b"x"),
            signer: "k".into(),
            closing: false,
        }))
        .unwrap();
        let line = seal(&body, SealField::Hash, &sha256_hex(&body));
        assert!(matches!(
            unseal(line.strip_suffix(b"\n").unwrap()),
            Err(Unreadable::Malformed(_))
        ));
        let line = seal(&body, SealField::Signature, "3045");
        assert!(unseal(line.strip_suffix(b"\n").unwrap()).is_ok());
    }
}
