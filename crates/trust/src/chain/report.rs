//! What verifying a log says: its counts and its verdict (intact, cut short by a crash, or
//! tampered with at a named line), with the words `medlink audit verify` prints.

use super::line::{FORMAT, Header};
use serde::Serialize;
use std::fmt;

/// What a walk through a log found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The header, when the first line is a valid one.
    pub header: Option<Header>,
    /// Entries and notes verified (before any problem).
    pub entries: u64,
    /// Records the writer's notes say it lost.
    pub lost: u64,
    /// Valid checkpoints.
    pub checkpoints: u64,
    /// Entries covered by the last valid checkpoint's signature.
    pub signed_entries: u64,
    /// The last line read is a closing checkpoint: the writer closed the log.
    pub closed: bool,
    pub verdict: Verdict,
}

impl Report {
    /// Entries after the last checkpoint: chained but unsigned. Deleting them would not be
    /// detected (a crash that cut them looks the same).
    pub fn unsigned_tail(&self) -> u64 {
        self.entries - self.signed_entries
    }

    /// The seq of the last signed entry.
    pub fn signed_through(&self) -> Option<u64> {
        self.signed_entries.checked_sub(1)
    }

    pub fn is_tampered(&self) -> bool {
        matches!(self.verdict, Verdict::Tampered(_))
    }

    /// Lines before this one were verified.
    pub fn first_unverified_line(&self) -> usize {
        match &self.verdict {
            Verdict::Intact => usize::MAX,
            Verdict::TruncatedTail { line, .. } => *line,
            Verdict::Tampered(tamper) => tamper.line,
        }
    }
}

/// The log's state, in one word and its details.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verdict {
    /// Every line verified.
    Intact,
    /// The last line stops mid-way (no newline, and its JSON is cut short): the writer stopped
    /// while writing it, as a crash or a full disk does. Everything before it verified.
    TruncatedTail {
        line: usize,
        /// The last entry before it; `None` when it cut the header or the first entry.
        after_seq: Option<u64>,
    },
    /// The first line that is not what the writer wrote.
    Tampered(Tamper),
}

/// Where the chain breaks and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tamper {
    /// 1-based line number in the file.
    pub line: usize,
    pub place: Place,
    pub kind: TamperKind,
}

impl Tamper {
    /// The entry named, when the line is (or would be, by its position) an entry.
    pub fn seq(&self) -> Option<u64> {
        match self.place {
            Place::Entry { seq } => Some(seq),
            _ => None,
        }
    }
}

/// What the tampered line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Place {
    Header,
    /// The entry (or note) at this position in the chain: `seq` is the number that belongs
    /// there, whatever the line claims.
    Entry {
        seq: u64,
    },
    /// A checkpoint written after `after_entries` entries.
    Checkpoint {
        after_entries: u64,
    },
    /// A line too damaged to say what it was.
    Line {
        after_entries: u64,
    },
}

/// How the line differs from what the writer wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum TamperKind {
    /// Not a sealed log line.
    Malformed { why: String },
    /// A valid value, but not spelled as the writer spells it.
    NotCanonical,
    /// The first line is not a header.
    MissingHeader,
    /// A header of a format this version does not read.
    UnsupportedFormat { format: String },
    /// A second header.
    ExtraHeader,
    /// The line's bytes do not hash to its seal: edited.
    HashMismatch,
    /// The entry's number is not the next one.
    SeqMismatch { expected: u64, found: u64 },
    /// The entry's `prev` is not the hash of the line before it.
    PrevMismatch,
    /// A checkpoint names another key than the header's.
    WrongSigner { signer: String },
    /// A checkpoint's signature is not the signer's.
    BadSignature,
    /// A validly signed checkpoint that does not match the chain before it.
    CheckpointMismatch { signed_entries: u64 },
}

impl fmt::Display for Tamper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.line;
        match self.place {
            Place::Header => write!(f, "header (line {line})")?,
            Place::Entry { seq } => write!(f, "entry {seq} (line {line})")?,
            Place::Checkpoint { after_entries } => write!(
                f,
                "checkpoint at line {line} (after {after_entries} entries)"
            )?,
            Place::Line { after_entries } => {
                write!(f, "line {line} (after {after_entries} entries)")?
            }
        }
        write!(f, ": {}", self.kind)
    }
}

impl fmt::Display for TamperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TamperKind::Malformed { why } => write!(f, "not a log line ({why}): edited"),
            TamperKind::NotCanonical => {
                write!(f, "not spelled as the writer spells it (edited)")
            }
            TamperKind::MissingHeader => write!(f, "the log does not start with its header"),
            TamperKind::UnsupportedFormat { format } => {
                write!(f, "format {format:?}; this version reads {FORMAT:?}")
            }
            TamperKind::ExtraHeader => write!(f, "a second header (inserted)"),
            TamperKind::HashMismatch => write!(f, "hash does not match its contents (edited)"),
            TamperKind::SeqMismatch { expected, found } if found > expected => write!(
                f,
                "numbered {found} where entry {expected} belongs (entries deleted or reordered)"
            ),
            TamperKind::SeqMismatch { expected, found } => write!(
                f,
                "numbered {found} where entry {expected} belongs (an entry inserted, repeated \
                 or reordered)"
            ),
            TamperKind::PrevMismatch => write!(
                f,
                "not chained to the line before it (a line before it was deleted, inserted, \
                 reordered or rewritten)"
            ),
            TamperKind::WrongSigner { signer } => {
                write!(f, "signed by key {signer}, not the header's signer")
            }
            TamperKind::BadSignature => {
                write!(f, "signature is not the signer's (forged or edited)")
            }
            TamperKind::CheckpointMismatch { signed_entries } => write!(
                f,
                "signed a chain of {signed_entries} entries that is not this one (the entries it \
                 covers were rewritten, or the checkpoint was moved)"
            ),
        }
    }
}
