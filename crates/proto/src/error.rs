//! Why a datagram or frame was rejected; each reason is counted by the receiver.

use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum DecodeError {
    #[error("too short: {0} bytes")]
    TooShort(usize),
    #[error("bad magic byte")]
    BadMagic,
    #[error("unsupported wire version {0}")]
    BadVersion(u8),
    #[error("unknown message kind {0}")]
    UnknownKind(u8),
    #[error("length does not match the message kind")]
    BadLength,
    #[error("checksum mismatch")]
    BadChecksum,
    #[error("a number is not finite")]
    NonFinite,
    #[error("frame longer than the limit")]
    Oversize,
    #[error("malformed event body")]
    BadEvent,
}

impl DecodeError {
    /// A short stable name, used as the key when counting rejections.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::TooShort(_) => "too_short",
            DecodeError::BadMagic => "bad_magic",
            DecodeError::BadVersion(_) => "bad_version",
            DecodeError::UnknownKind(_) => "unknown_kind",
            DecodeError::BadLength => "bad_length",
            DecodeError::BadChecksum => "bad_checksum",
            DecodeError::NonFinite => "non_finite",
            DecodeError::Oversize => "oversize",
            DecodeError::BadEvent => "bad_event",
        }
    }
}
