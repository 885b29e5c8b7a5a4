//! Frames OpenIGTLink messages out of a byte stream (TCP): bytes go in as they arrive, whole
//! messages (or the reason one was refused) come out. A refused message is skipped by its
//! BODY_SIZE and the stream goes on; a BODY_SIZE over the limit is fatal, since nothing after it
//! can be framed.

use crate::header::{HEADER_LEN, Header};
use crate::{IgtlError, Message};

/// Bodies above this are refused unless a limit is given (a 512×512×64 float32 volume fits).
pub const DEFAULT_MAX_BODY: u64 = 64 << 20;

pub struct StreamDecoder {
    buf: Vec<u8>,
    max_body: u64,
    failed: bool,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_BODY)
    }
}

impl StreamDecoder {
    pub fn new(max_body: u64) -> Self {
        StreamDecoder {
            buf: Vec::new(),
            max_body,
            failed: false,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        if !self.failed {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes received but not yet part of a whole message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole message, the reason the next one was refused, or `None` until more bytes
    /// arrive. After a fatal error it returns `None` for ever.
    pub fn next_message(&mut self) -> Option<Result<Message, IgtlError>> {
        if self.failed || self.buf.len() < HEADER_LEN {
            return None;
        }
        let mut size = [0u8; 8];
        size.copy_from_slice(&self.buf[42..50]);
        let body_size = u64::from_be_bytes(size);
        if body_size > self.max_body {
            self.failed = true;
            self.buf = Vec::new();
            return Some(Err(IgtlError::BodyTooLarge {
                size: body_size,
                limit: self.max_body,
            }));
        }
        let total = HEADER_LEN + body_size as usize;
        if self.buf.len() < total {
            return None;
        }
        let result = Header::decode(&self.buf[..HEADER_LEN])
            .and_then(|header| Message::decode_body(&header, &self.buf[HEADER_LEN..total]));
        self.buf.drain(..total);
        Some(result)
    }
}
