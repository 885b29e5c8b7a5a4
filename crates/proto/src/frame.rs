//! Framing for reliable streams: `[len u32 LE][magic][version][json body][crc64 LE]`, with a
//! streaming decoder that takes bytes as they arrive and refuses oversize or corrupt frames. The
//! body is any serde type: the session's events are defined by the crate that owns the session.

use crate::{CRC64, DecodeError, MAGIC, WIRE_VERSION};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// No event frame may be longer than this (bytes after the length prefix).
pub const MAX_FRAME_LEN: usize = 64 * 1024;
/// No bulk frame (a plan, a thermometry frame with its slice maps) may be longer than this.
pub const MAX_BULK_FRAME_LEN: usize = 8 * 1024 * 1024;
const PREFIX_LEN: usize = 4;
const MIN_FRAME_LEN: usize = 2 + 8;

/// Encodes one message as a frame, appended to `out`. A message that cannot be serialised (a map
/// with non-string keys, say) is an error and nothing is appended.
pub fn encode_frame<T: Serialize>(message: &T, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    encode_frame_within(message, MAX_FRAME_LEN, out)
}

/// Encodes one message as a frame of at most `max_len` bytes (after the length prefix).
pub fn encode_frame_within<T: Serialize>(
    message: &T,
    max_len: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    let body = serde_json::to_vec(message).map_err(|_| DecodeError::BadEvent)?;
    if 2 + body.len() + 8 > max_len {
        return Err(DecodeError::Oversize);
    }
    let frame_len = 2 + body.len() + 8;
    out.extend_from_slice(&(frame_len as u32).to_le_bytes());
    let start = out.len();
    out.extend_from_slice(&[MAGIC, WIRE_VERSION]);
    out.extend_from_slice(&body);
    let crc = CRC64.checksum(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Accumulates stream bytes and yields whole frames. After an error the stream is unusable
/// (framing is lost), so the caller closes it.
pub struct FrameDecoder {
    pending: Vec<u8>,
    max_len: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::within(MAX_FRAME_LEN)
    }
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder that refuses frames longer than `max_len` (bulk streams take larger ones).
    pub fn within(max_len: usize) -> Self {
        Self {
            pending: Vec::new(),
            max_len,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// The next complete frame, `None` if more bytes are needed.
    pub fn next_message<T: DeserializeOwned>(&mut self) -> Option<Result<T, DecodeError>> {
        if self.pending.len() < PREFIX_LEN {
            return None;
        }
        let mut len_le = [0u8; 4];
        len_le.copy_from_slice(&self.pending[..PREFIX_LEN]);
        let frame_len = u32::from_le_bytes(len_le) as usize;
        if frame_len > self.max_len {
            return Some(Err(DecodeError::Oversize));
        }
        if frame_len < MIN_FRAME_LEN {
            return Some(Err(DecodeError::TooShort(frame_len)));
        }
        if self.pending.len() < PREFIX_LEN + frame_len {
            return None;
        }
        let frame: Vec<u8> = self
            .pending
            .drain(..PREFIX_LEN + frame_len)
            .skip(PREFIX_LEN)
            .collect();
        Some(decode_frame_body(&frame))
    }
}

fn decode_frame_body<T: DeserializeOwned>(frame: &[u8]) -> Result<T, DecodeError> {
    let (signed, crc_bytes) = frame.split_at(frame.len() - 8);
    let mut crc_le = [0u8; 8];
    crc_le.copy_from_slice(crc_bytes);
    if CRC64.checksum(signed) != u64::from_le_bytes(crc_le) {
        return Err(DecodeError::BadChecksum);
    }
    if signed[0] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    if signed[1] != WIRE_VERSION {
        return Err(DecodeError::BadVersion(signed[1]));
    }
    serde_json::from_slice(&signed[2..]).map_err(|_| DecodeError::BadEvent)
}
