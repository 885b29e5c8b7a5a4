//! A reliable stream of a session: frames of any serde message type over one QUIC stream.

use crate::LinkError;
use proto::{FrameDecoder, encode_frame};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub struct EventWriter {
    stream: quinn::SendStream,
    buf: Vec<u8>,
}

impl EventWriter {
    pub fn new(stream: quinn::SendStream) -> Self {
        Self {
            stream,
            buf: Vec::with_capacity(256),
        }
    }

    pub async fn send<T: Serialize>(&mut self, message: &T) -> Result<(), LinkError> {
        self.buf.clear();
        encode_frame(message, &mut self.buf)?;
        self.stream
            .write_all(&self.buf)
            .await
            .map_err(|e| LinkError::Stream(e.to_string()))
    }

    /// Sends everything queued and closes our side of the stream.
    pub async fn finish(mut self) -> Result<(), LinkError> {
        self.stream
            .finish()
            .map_err(|e| LinkError::Stream(e.to_string()))?;
        let _ = self.stream.stopped().await;
        Ok(())
    }
}

pub struct EventReader {
    stream: quinn::RecvStream,
    decoder: FrameDecoder,
    chunk: Vec<u8>,
}

impl EventReader {
    pub fn new(stream: quinn::RecvStream) -> Self {
        Self {
            stream,
            decoder: FrameDecoder::new(),
            chunk: vec![0; 4096],
        }
    }

    /// The next message; `Ok(None)` when the peer closed the stream cleanly. A malformed frame is
    /// an error: framing is lost, so the caller ends the session.
    pub async fn next<T: DeserializeOwned>(&mut self) -> Result<Option<T>, LinkError> {
        loop {
            if let Some(frame) = self.decoder.next_message() {
                return Ok(Some(frame?));
            }
            match self
                .stream
                .read(&mut self.chunk)
                .await
                .map_err(|e| LinkError::Stream(e.to_string()))?
            {
                Some(n) => self.decoder.push(&self.chunk[..n]),
                None => return Ok(None),
            }
        }
    }
}
