//! Why bytes from a peer were refused as an OpenIGTLink message; `is_fatal` tells whether the
//! stream's framing is lost (close the connection) or only this message is refused.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IgtlError {
    #[error("header version {0} is neither 1 (protocol v1/v2) nor 2 (protocol v3)")]
    UnknownHeaderVersion(u16),
    #[error("body of {size} bytes is over this receiver's limit of {limit} bytes")]
    BodyTooLarge { size: u64, limit: u64 },
    #[error("CRC-64 mismatch: the header says {expected:016x}, the body has {actual:016x}")]
    Crc { expected: u64, actual: u64 },
    #[error("message type {0:?} is not one medlink handles")]
    UnknownType(String),
    #[error("{what}: needs {needed} bytes, has {got}")]
    Truncated {
        what: &'static str,
        needed: usize,
        got: usize,
    },
    #[error("{what}: {got} bytes where {expected}")]
    Length {
        what: &'static str,
        expected: String,
        got: usize,
    },
    #[error("{field} is not valid text: {detail}")]
    Text { field: &'static str, detail: String },
    #[error("{field} is {len} bytes, longer than its {max}-byte field")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("invalid {field}: {detail}")]
    Invalid { field: &'static str, detail: String },
}

impl IgtlError {
    /// True when the stream can no longer be framed (the header's body size cannot be trusted):
    /// the connection must close. Every other error refuses one message and the next one is read.
    pub fn is_fatal(&self) -> bool {
        matches!(self, IgtlError::BodyTooLarge { .. })
    }

    /// A short stable name for counting refusals.
    pub fn reason(&self) -> &'static str {
        match self {
            IgtlError::UnknownHeaderVersion(_) => "unknown_header_version",
            IgtlError::BodyTooLarge { .. } => "body_too_large",
            IgtlError::Crc { .. } => "crc",
            IgtlError::UnknownType(_) => "unknown_type",
            IgtlError::Truncated { .. } => "truncated",
            IgtlError::Length { .. } => "length",
            IgtlError::Text { .. } => "text",
            IgtlError::TooLong { .. } => "too_long",
            IgtlError::Invalid { .. } => "invalid",
        }
    }
}
