//! Fixed-size NUL-padded text fields (type, device name, point names) and big-endian readers
//! that answer a short buffer with an error instead of a panic.

use crate::IgtlError;

/// Writes `text` into a NUL-padded field of `width` bytes.
pub(crate) fn put_fixed(
    out: &mut Vec<u8>,
    field: &'static str,
    text: &str,
    width: usize,
) -> Result<(), IgtlError> {
    let bytes = text.as_bytes();
    if bytes.len() > width {
        return Err(IgtlError::TooLong {
            field,
            len: bytes.len(),
            max: width,
        });
    }
    out.extend_from_slice(bytes);
    out.resize(out.len() + width - bytes.len(), 0);
    Ok(())
}

/// Reads a NUL-padded field (not necessarily NUL-terminated) as UTF-8.
pub(crate) fn get_fixed(field: &'static str, bytes: &[u8]) -> Result<String, IgtlError> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    utf8(field, &bytes[..end])
}

pub(crate) fn utf8(field: &'static str, bytes: &[u8]) -> Result<String, IgtlError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| IgtlError::Text {
        field,
        detail: e.to_string(),
    })
}

/// A cursor over a big-endian buffer; every read names what it was reading when it runs short.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(what: &'static str, bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0, what }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], IgtlError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(IgtlError::Truncated {
                what: self.what,
                needed: self.at.saturating_add(n),
                got: self.bytes.len(),
            });
        };
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], IgtlError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, IgtlError> {
        Ok(self.array::<1>()?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16, IgtlError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, IgtlError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, IgtlError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    pub(crate) fn i64(&mut self) -> Result<i64, IgtlError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    pub(crate) fn f32(&mut self) -> Result<f32, IgtlError> {
        Ok(f32::from_be_bytes(self.array()?))
    }
    pub(crate) fn f32s<const N: usize>(&mut self) -> Result<[f32; N], IgtlError> {
        let mut out = [0.0; N];
        for v in &mut out {
            *v = self.f32()?;
        }
        Ok(out)
    }
    pub(crate) fn u16s<const N: usize>(&mut self) -> Result<[u16; N], IgtlError> {
        let mut out = [0; N];
        for v in &mut out {
            *v = self.u16()?;
        }
        Ok(out)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let rest = &self.bytes[self.at..];
        self.at = self.bytes.len();
        rest
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// Errors when bytes are left over after a fixed-size content.
    pub(crate) fn finish(&self) -> Result<(), IgtlError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(IgtlError::Length {
                what: self.what,
                expected: format!("exactly {} are expected", self.at),
                got: self.bytes.len(),
            })
        }
    }
}

pub(crate) fn put_f32s(out: &mut Vec<u8>, values: &[f32]) {
    for v in values {
        out.extend_from_slice(&v.to_be_bytes());
    }
}
