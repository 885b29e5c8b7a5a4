//! A whole OpenIGTLink message: header, then (protocol v3, header version 2) the extended
//! header, the content, the metadata header and the metadata; the CRC-64 covers the whole body.

use crate::content::Body;
use crate::header::{HEADER_LEN, Header, Timestamp};
use crate::text::{Reader, utf8};
use crate::{IgtlError, crc64};

/// Size of the v3 extended header.
pub const EXTENDED_HEADER_LEN: u16 = 12;

/// Protocol v3's extended header fields and metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extended {
    pub message_id: u32,
    pub metadata: Vec<MetadataEntry>,
}

/// One key/value pair of v3 metadata; `encoding` is the value's IANA MIBenum (3 US-ASCII).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataEntry {
    pub key: String,
    pub encoding: u16,
    pub value: Vec<u8>,
}

impl MetadataEntry {
    /// A US-ASCII (or, when not ASCII, UTF-8) text value.
    pub fn text(key: impl Into<String>, value: &str) -> Self {
        MetadataEntry {
            key: key.into(),
            encoding: if value.is_ascii() { 3 } else { 106 },
            value: value.as_bytes().to_vec(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub device_name: String,
    pub timestamp: Timestamp,
    /// `None`: header version 1 (protocol v1/v2); `Some`: header version 2 (protocol v3).
    pub extended: Option<Extended>,
    pub body: Body,
}

impl Message {
    /// A protocol v1/v2 message (what pyigtl and most peers send by default).
    pub fn new(device_name: impl Into<String>, timestamp: Timestamp, body: Body) -> Self {
        Message {
            device_name: device_name.into(),
            timestamp,
            extended: None,
            body,
        }
    }

    /// Appends the encoded message to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), IgtlError> {
        let mut body = Vec::new();
        match &self.extended {
            None => self.body.encode(&mut body)?,
            Some(ext) => encode_v3(ext, &self.body, &mut body)?,
        }
        let header = Header {
            version: if self.extended.is_some() { 2 } else { 1 },
            type_name: self.body.type_name(),
            device_name: self.device_name.clone(),
            timestamp: self.timestamp,
            body_size: body.len() as u64,
            crc: crc64(&body),
        };
        out.reserve(HEADER_LEN + body.len());
        header.encode(out)?;
        out.extend_from_slice(&body);
        Ok(())
    }

    pub fn encode(&self) -> Result<Vec<u8>, IgtlError> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Decodes exactly one message (header and its whole body, nothing after it).
    pub fn decode(bytes: &[u8]) -> Result<Message, IgtlError> {
        if bytes.len() < HEADER_LEN {
            return Err(IgtlError::Truncated {
                what: "header",
                needed: HEADER_LEN,
                got: bytes.len(),
            });
        }
        let header = Header::decode(&bytes[..HEADER_LEN])?;
        let body = &bytes[HEADER_LEN..];
        if header.body_size != body.len() as u64 {
            return Err(IgtlError::Length {
                what: "body",
                expected: format!("the header's BODY_SIZE says {}", header.body_size),
                got: body.len(),
            });
        }
        Self::decode_body(&header, body)
    }

    /// Decodes the body that followed `header`: CRC, then framing, then content.
    pub fn decode_body(header: &Header, body: &[u8]) -> Result<Message, IgtlError> {
        let actual = crc64(body);
        if actual != header.crc {
            return Err(IgtlError::Crc {
                expected: header.crc,
                actual,
            });
        }
        let (extended, content) = match header.version {
            1 => (None, body),
            2 => {
                let (ext, content) = decode_v3(body)?;
                (Some(ext), content)
            }
            other => return Err(IgtlError::UnknownHeaderVersion(other)),
        };
        Ok(Message {
            device_name: header.device_name.clone(),
            timestamp: header.timestamp,
            extended,
            body: Body::decode(&header.type_name, content)?,
        })
    }
}

fn encode_v3(ext: &Extended, body: &Body, out: &mut Vec<u8>) -> Result<(), IgtlError> {
    let count = u16::try_from(ext.metadata.len()).map_err(|_| IgtlError::TooLong {
        field: "metadata entries",
        len: ext.metadata.len(),
        max: u16::MAX as usize,
    })?;
    let mut meta_header = Vec::new();
    let mut meta_body = Vec::new();
    if count > 0 {
        meta_header.extend_from_slice(&count.to_be_bytes());
        for entry in &ext.metadata {
            let key_len = u16::try_from(entry.key.len()).map_err(|_| IgtlError::TooLong {
                field: "metadata key",
                len: entry.key.len(),
                max: u16::MAX as usize,
            })?;
            let value_len = u32::try_from(entry.value.len()).map_err(|_| IgtlError::TooLong {
                field: "metadata value",
                len: entry.value.len(),
                max: u32::MAX as usize,
            })?;
            meta_header.extend_from_slice(&key_len.to_be_bytes());
            meta_header.extend_from_slice(&entry.encoding.to_be_bytes());
            meta_header.extend_from_slice(&value_len.to_be_bytes());
            meta_body.extend_from_slice(entry.key.as_bytes());
            meta_body.extend_from_slice(&entry.value);
        }
    }
    let meta_header_len = u16::try_from(meta_header.len()).map_err(|_| IgtlError::TooLong {
        field: "metadata header",
        len: meta_header.len(),
        max: u16::MAX as usize,
    })?;
    let meta_body_len = u32::try_from(meta_body.len()).map_err(|_| IgtlError::TooLong {
        field: "metadata",
        len: meta_body.len(),
        max: u32::MAX as usize,
    })?;
    out.extend_from_slice(&EXTENDED_HEADER_LEN.to_be_bytes());
    out.extend_from_slice(&meta_header_len.to_be_bytes());
    out.extend_from_slice(&meta_body_len.to_be_bytes());
    out.extend_from_slice(&ext.message_id.to_be_bytes());
    body.encode(out)?;
    out.extend_from_slice(&meta_header);
    out.extend_from_slice(&meta_body);
    Ok(())
}

/// Splits a v3 body into its extended header, metadata and content. Content size is
/// BODY_SIZE − EXT_HEADER_SIZE − METADATA_HEADER_SIZE − METADATA_SIZE (as the C library and
/// pyigtl compute it).
fn decode_v3(body: &[u8]) -> Result<(Extended, &[u8]), IgtlError> {
    if body.len() < EXTENDED_HEADER_LEN as usize {
        return Err(IgtlError::Truncated {
            what: "extended header",
            needed: EXTENDED_HEADER_LEN as usize,
            got: body.len(),
        });
    }
    let mut r = Reader::new("extended header", body);
    let ext_len = r.u16()? as usize;
    let meta_header_len = r.u16()? as usize;
    let meta_len = r.u32()? as usize;
    let message_id = r.u32()?;
    if ext_len < EXTENDED_HEADER_LEN as usize || ext_len > body.len() {
        return Err(IgtlError::Invalid {
            field: "EXT_HEADER_SIZE",
            detail: format!(
                "{ext_len} (at least 12 and within the {}-byte body)",
                body.len()
            ),
        });
    }
    let trailer = meta_header_len + meta_len;
    let Some(content_len) = (body.len() - ext_len).checked_sub(trailer) else {
        return Err(IgtlError::Length {
            what: "v3 body",
            expected: format!(
                "the extended header ({ext_len}) and metadata ({meta_header_len} + {meta_len}) fit"
            ),
            got: body.len(),
        });
    };
    let content = &body[ext_len..ext_len + content_len];
    let meta = &body[ext_len + content_len..];
    let metadata = decode_metadata(&meta[..meta_header_len], &meta[meta_header_len..])?;
    Ok((
        Extended {
            message_id,
            metadata,
        },
        content,
    ))
}

fn decode_metadata(header: &[u8], values: &[u8]) -> Result<Vec<MetadataEntry>, IgtlError> {
    if header.is_empty() {
        if !values.is_empty() {
            return Err(IgtlError::Length {
                what: "metadata",
                expected: "none without a metadata header".into(),
                got: values.len(),
            });
        }
        return Ok(Vec::new());
    }
    let mut h = Reader::new("metadata header", header);
    let count = h.u16()? as usize;
    if header.len() != 2 + 8 * count {
        return Err(IgtlError::Length {
            what: "metadata header",
            expected: format!("2 + 8 × {count} entries"),
            got: header.len(),
        });
    }
    let mut v = Reader::new("metadata", values);
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let key_len = h.u16()? as usize;
        let encoding = h.u16()?;
        let value_len = h.u32()? as usize;
        let key = utf8("metadata key", v.take(key_len)?)?;
        let value = v.take(value_len)?.to_vec();
        entries.push(MetadataEntry {
            key,
            encoding,
            value,
        });
    }
    v.finish()?;
    Ok(entries)
}
