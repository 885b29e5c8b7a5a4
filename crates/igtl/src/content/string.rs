//! STRING: a MIBenum encoding (3 US-ASCII, 106 UTF-8), a 16-bit length and the bytes.

use crate::IgtlError;
use crate::text::{Reader, utf8};

/// IANA MIBenum of US-ASCII, the protocol's recommended encoding.
pub const US_ASCII: u16 = 3;
/// IANA MIBenum of UTF-8.
pub const UTF_8: u16 = 106;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringMessage {
    pub encoding: u16,
    pub text: String,
}

impl StringMessage {
    /// US-ASCII when the text is ASCII, else UTF-8 (what pyigtl does).
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let encoding = if text.is_ascii() { US_ASCII } else { UTF_8 };
        StringMessage { encoding, text }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), IgtlError> {
        let bytes = self.text.as_bytes();
        let len = u16::try_from(bytes.len()).map_err(|_| IgtlError::TooLong {
            field: "STRING text",
            len: bytes.len(),
            max: u16::MAX as usize,
        })?;
        out.extend_from_slice(&self.encoding.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn decode(content: &[u8]) -> Result<StringMessage, IgtlError> {
        let mut r = Reader::new("STRING content", content);
        let encoding = r.u16()?;
        let len = r.u16()? as usize;
        let bytes = r.take(len)?;
        r.finish()?;
        if encoding == US_ASCII && !bytes.is_ascii() {
            return Err(IgtlError::Text {
                field: "STRING text",
                detail: "declared US-ASCII but has bytes over 127".into(),
            });
        }
        if encoding != US_ASCII && encoding != UTF_8 {
            return Err(IgtlError::Invalid {
                field: "STRING encoding",
                detail: format!("MIBenum {encoding} (only 3 US-ASCII and 106 UTF-8 are read)"),
            });
        }
        Ok(StringMessage {
            encoding,
            text: utf8("STRING text", bytes)?,
        })
    }
}
