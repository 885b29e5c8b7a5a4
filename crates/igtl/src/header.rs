//! The 58-byte OpenIGTLink header: version, type, device name, timestamp, body size and the
//! CRC-64 of the body, all big-endian.

use crate::IgtlError;
use crate::text::{Reader, get_fixed, put_fixed};

/// Every message starts with this many header bytes.
pub const HEADER_LEN: usize = 58;
/// Width of the TYPE field.
pub const TYPE_LEN: usize = 12;
/// Width of the DEVICE_NAME field.
pub const DEVICE_NAME_LEN: usize = 20;

/// An OpenIGTLink timestamp: seconds since 1970 and a fraction in units of 2⁻³² s; all zero
/// means "not set".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timestamp {
    pub seconds: u32,
    pub fraction: u32,
}

impl Timestamp {
    /// From seconds since 1970 (negative or non-finite gives "not set"; beyond 2106 saturates).
    pub fn from_secs_f64(secs: f64) -> Timestamp {
        if !(secs.is_finite() && secs > 0.0) {
            return Timestamp::default();
        }
        let whole = secs.floor().min(u32::MAX as f64);
        let fraction = ((secs - whole) * 4_294_967_296.0)
            .floor()
            .min(u32::MAX as f64);
        Timestamp {
            seconds: whole as u32,
            fraction: fraction as u32,
        }
    }

    pub fn as_secs_f64(&self) -> f64 {
        self.seconds as f64 + self.fraction as f64 / 4_294_967_296.0
    }
}

/// The header's fields as they are on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// 1: protocol v1/v2 framing; 2: protocol v3 (the body starts with the extended header).
    pub version: u16,
    pub type_name: String,
    pub device_name: String,
    pub timestamp: Timestamp,
    pub body_size: u64,
    pub crc: u64,
}

impl Header {
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), IgtlError> {
        out.extend_from_slice(&self.version.to_be_bytes());
        put_fixed(out, "message type", &self.type_name, TYPE_LEN)?;
        put_fixed(out, "device name", &self.device_name, DEVICE_NAME_LEN)?;
        out.extend_from_slice(&self.timestamp.seconds.to_be_bytes());
        out.extend_from_slice(&self.timestamp.fraction.to_be_bytes());
        out.extend_from_slice(&self.body_size.to_be_bytes());
        out.extend_from_slice(&self.crc.to_be_bytes());
        Ok(())
    }

    /// Decodes the first 58 bytes. The version is checked by the message decoder, after the
    /// body has been read past, so an unknown version refuses one message, not the stream.
    pub fn decode(bytes: &[u8]) -> Result<Header, IgtlError> {
        let mut r = Reader::new("header", bytes);
        let version = r.u16()?;
        let type_name = get_fixed("message type", r.take(TYPE_LEN)?)?;
        let device_name = get_fixed("device name", r.take(DEVICE_NAME_LEN)?)?;
        let timestamp = Timestamp {
            seconds: r.u32()?,
            fraction: r.u32()?,
        };
        Ok(Header {
            version,
            type_name,
            device_name,
            timestamp,
            body_size: r.u64()?,
            crc: r.u64()?,
        })
    }
}
