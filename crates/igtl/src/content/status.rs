//! STATUS: a status code, a device-specific subcode, a 20-byte error name and a free-text
//! message (sent with a terminating NUL, as the C library does; trailing NULs are dropped on
//! decode).

use crate::IgtlError;
use crate::text::{Reader, get_fixed, put_fixed, utf8};

/// The status codes of `igtl_status.h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum StatusCode {
    Invalid = 0,
    Ok = 1,
    UnknownError = 2,
    Panic = 3,
    NotFound = 4,
    AccessDenied = 5,
    Busy = 6,
    TimeOut = 7,
    Overflow = 8,
    ChecksumError = 9,
    ConfigurationError = 10,
    NotEnoughResource = 11,
    UnknownInstruction = 12,
    NotReady = 13,
    ManualMode = 14,
    Disabled = 15,
    NotPresent = 16,
    UnknownVersion = 17,
    HardwareFailure = 18,
    ShuttingDown = 19,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// A code of `StatusCode` (others are kept as received).
    pub code: u16,
    pub subcode: i64,
    pub error_name: String,
    pub message: String,
}

impl Status {
    pub const HEADER_LEN: usize = 30;
    const ERROR_NAME_LEN: usize = 20;

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), IgtlError> {
        out.extend_from_slice(&self.code.to_be_bytes());
        out.extend_from_slice(&self.subcode.to_be_bytes());
        put_fixed(
            out,
            "STATUS error name",
            &self.error_name,
            Self::ERROR_NAME_LEN,
        )?;
        out.extend_from_slice(self.message.as_bytes());
        out.push(0);
        Ok(())
    }

    pub(crate) fn decode(content: &[u8]) -> Result<Status, IgtlError> {
        let mut r = Reader::new("STATUS content", content);
        let code = r.u16()?;
        let subcode = r.i64()?;
        let error_name = get_fixed("STATUS error name", r.take(Self::ERROR_NAME_LEN)?)?;
        let rest = r.rest();
        let end = rest.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        Ok(Status {
            code,
            subcode,
            error_name,
            message: utf8("STATUS message", &rest[..end])?,
        })
    }
}
