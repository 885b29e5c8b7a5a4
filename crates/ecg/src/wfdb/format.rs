//! WFDB signal-file formats: what each stores and how its bytes pack interleaved samples.
//!
//! Byte layouts follow the WFDB specification (signal(5)): 8 (8-bit first differences), 16
//! (little-endian), 24, 32, 61 (big-endian 16-bit), 80 and 160 (offset binary), 212 (two
//! 12-bit samples in 3 bytes), 310 (three 10-bit samples in two little-endian 16-bit words,
//! bit 0 unused) and 311 (three 10-bit samples in one little-endian 32-bit word).

use super::WfdbError;

/// The storage formats this crate reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalFormat {
    /// Format 8: each byte is the signed difference from the previous sample of the signal,
    /// starting from the header's initial value. Steps beyond ±127 cannot be stored.
    Diff8,
    /// Format 16: one 16-bit little-endian two's-complement sample per value.
    Int16,
    /// Format 24: 24-bit little-endian two's complement.
    Int24,
    /// Format 32: 32-bit little-endian two's complement.
    Int32,
    /// Format 61: 16-bit big-endian two's complement.
    BigEndian16,
    /// Format 80: 8-bit offset binary (stored byte − 128).
    Offset8,
    /// Format 160: 16-bit little-endian offset binary (stored value − 32768).
    Offset16,
    /// Format 212: two 12-bit two's-complement samples packed into three bytes.
    Packed212,
    /// Format 310: three 10-bit samples in two little-endian 16-bit words.
    Packed310,
    /// Format 311: three 10-bit samples in one little-endian 32-bit word.
    Packed311,
}

/// Every format, in the order of their WFDB numbers.
pub const ALL_FORMATS: [SignalFormat; 10] = [
    SignalFormat::Diff8,
    SignalFormat::Int16,
    SignalFormat::Int24,
    SignalFormat::Int32,
    SignalFormat::BigEndian16,
    SignalFormat::Offset8,
    SignalFormat::Offset16,
    SignalFormat::Packed212,
    SignalFormat::Packed310,
    SignalFormat::Packed311,
];

impl SignalFormat {
    /// The number WFDB headers use for this format.
    pub fn code(self) -> u32 {
        match self {
            SignalFormat::Diff8 => 8,
            SignalFormat::Int16 => 16,
            SignalFormat::Int24 => 24,
            SignalFormat::Int32 => 32,
            SignalFormat::BigEndian16 => 61,
            SignalFormat::Offset8 => 80,
            SignalFormat::Offset16 => 160,
            SignalFormat::Packed212 => 212,
            SignalFormat::Packed310 => 310,
            SignalFormat::Packed311 => 311,
        }
    }

    /// Bits per stored sample, the ADC resolution assumed when a header gives none.
    pub fn bits(self) -> u32 {
        match self {
            SignalFormat::Diff8 | SignalFormat::Offset8 => 8,
            SignalFormat::Packed310 | SignalFormat::Packed311 => 10,
            SignalFormat::Packed212 => 12,
            SignalFormat::Int16 | SignalFormat::BigEndian16 | SignalFormat::Offset16 => 16,
            SignalFormat::Int24 => 24,
            SignalFormat::Int32 => 32,
        }
    }

    /// The reserved value that marks a missing sample, the format's most negative value.
    /// Format 8 stores differences and has none.
    pub fn invalid_sample(self) -> Option<i32> {
        match self {
            SignalFormat::Diff8 => None,
            _ => Some((-(1i64 << (self.bits() - 1))) as i32),
        }
    }

    /// The smallest and largest storable valid sample.
    pub fn sample_range(self) -> (i32, i32) {
        match self {
            SignalFormat::Diff8 => (i32::MIN, i32::MAX),
            _ => {
                let half = 1i64 << (self.bits() - 1);
                ((-half + 1) as i32, (half - 1) as i32)
            }
        }
    }

    pub(crate) fn from_code(code: &str, line: usize) -> Result<Self, WfdbError> {
        ALL_FORMATS
            .into_iter()
            .find(|format| code.parse::<u32>().ok() == Some(format.code()))
            .ok_or_else(|| WfdbError::UnsupportedFormat {
                line,
                format: code.chars().take(40).collect(),
            })
    }

    /// How many whole samples `bytes` bytes of this format hold.
    pub(crate) fn samples_in(self, bytes: usize) -> usize {
        match self {
            SignalFormat::Diff8 | SignalFormat::Offset8 => bytes,
            SignalFormat::Int16 | SignalFormat::BigEndian16 | SignalFormat::Offset16 => bytes / 2,
            SignalFormat::Int24 => bytes / 3,
            SignalFormat::Int32 => bytes / 4,
            SignalFormat::Packed212 => bytes * 2 / 3,
            // A trailing partial group: 310 needs the whole second word for its second sample;
            // 311 has its second sample once the third byte is there.
            SignalFormat::Packed310 => bytes / 4 * 3 + usize::from(bytes % 4 >= 2),
            SignalFormat::Packed311 => bytes / 4 * 3 + (bytes % 4).saturating_sub(1),
        }
    }
}

/// Decodes the first `total` stored values (interleaved as in the file). For format 8 these
/// are the differences; the caller adds them up per signal.
pub(crate) fn decode_values(format: SignalFormat, bytes: &[u8], total: usize) -> Vec<i32> {
    let mut values: Vec<i32> = match format {
        SignalFormat::Diff8 => bytes.iter().map(|&b| i32::from(b as i8)).collect(),
        SignalFormat::Offset8 => bytes.iter().map(|&b| i32::from(b) - 128).collect(),
        SignalFormat::Int16 => fixed(bytes, |b: [u8; 2]| i32::from(i16::from_le_bytes(b))),
        SignalFormat::BigEndian16 => fixed(bytes, |b: [u8; 2]| i32::from(i16::from_be_bytes(b))),
        SignalFormat::Offset16 => {
            fixed(bytes, |b: [u8; 2]| i32::from(u16::from_le_bytes(b)) - 32768)
        }
        SignalFormat::Int24 => fixed(bytes, |[b0, b1, b2]: [u8; 3]| {
            sign_extend(i32::from_le_bytes([b0, b1, b2, 0]), 24)
        }),
        SignalFormat::Int32 => fixed(bytes, i32::from_le_bytes),
        SignalFormat::Packed212 => decode_groups(bytes, 3, |g| {
            let at = |i: usize| i32::from(g[i]);
            [
                sign_extend(at(0) | ((at(1) & 0x0F) << 8), 12),
                sign_extend(at(2) | ((at(1) & 0xF0) << 4), 12),
                0,
            ]
        }),
        SignalFormat::Packed310 => decode_groups(bytes, 4, |g| {
            let w0 = i32::from(u16::from_le_bytes([g[0], g[1]]));
            let w1 = i32::from(u16::from_le_bytes([g[2], g[3]]));
            [
                sign_extend((w0 >> 1) & 0x3FF, 10),
                sign_extend((w1 >> 1) & 0x3FF, 10),
                sign_extend(((w0 >> 11) & 0x1F) | (((w1 >> 11) & 0x1F) << 5), 10),
            ]
        }),
        SignalFormat::Packed311 => decode_groups(bytes, 4, |g| {
            let word = u32::from_le_bytes([g[0], g[1], g[2], g[3]]);
            let at = |shift: u32| sign_extend(((word >> shift) & 0x3FF) as i32, 10);
            [at(0), at(10), at(20)]
        }),
    };
    values.truncate(total.min(format.samples_in(bytes.len())));
    values
}

/// Values of a format with a fixed number of bytes per sample.
fn fixed<const N: usize>(bytes: &[u8], value: impl Fn([u8; N]) -> i32) -> Vec<i32> {
    bytes
        .chunks_exact(N)
        .map(|chunk| {
            let mut array = [0u8; N];
            array.copy_from_slice(chunk);
            value(array)
        })
        .collect()
}

/// Values of a packed format: groups of `size` bytes (the last one padded with zeros), each
/// giving two (212) or three (310, 311) samples; `samples_in` trims what a short group lacks.
fn decode_groups(bytes: &[u8], size: usize, group: impl Fn(&[u8; 4]) -> [i32; 3]) -> Vec<i32> {
    let per_group = if size == 3 { 2 } else { 3 };
    let mut values = Vec::with_capacity(bytes.len() / size * per_group + per_group);
    for chunk in bytes.chunks(size) {
        let mut padded = [0u8; 4];
        padded[..chunk.len()].copy_from_slice(chunk);
        values.extend_from_slice(&group(&padded)[..per_group]);
    }
    values
}

fn sign_extend(value: i32, bits: u32) -> i32 {
    let shift = 32 - bits;
    (value << shift) >> shift
}

/// Encodes interleaved values (already within the format's range; for format 8, differences).
pub(crate) fn encode_values(format: SignalFormat, values: &[i32]) -> Vec<u8> {
    match format {
        SignalFormat::Diff8 => values.iter().map(|&v| v as i8 as u8).collect(),
        SignalFormat::Offset8 => values.iter().map(|&v| (v + 128) as u8).collect(),
        SignalFormat::Int16 => values
            .iter()
            .flat_map(|&v| (v as i16).to_le_bytes())
            .collect(),
        SignalFormat::BigEndian16 => values
            .iter()
            .flat_map(|&v| (v as i16).to_be_bytes())
            .collect(),
        SignalFormat::Offset16 => values
            .iter()
            .flat_map(|&v| ((v + 32768) as u16).to_le_bytes())
            .collect(),
        SignalFormat::Int24 => values
            .iter()
            .flat_map(|&v| take3(v.to_le_bytes()))
            .collect(),
        SignalFormat::Int32 => values.iter().flat_map(|&v| v.to_le_bytes()).collect(),
        SignalFormat::Packed212 => encode_groups(values, 2, |[a, b, _]| {
            let (a, b) = (a & 0xFFF, b & 0xFFF);
            [a as u8, ((a >> 8) | ((b >> 8) << 4)) as u8, b as u8, 0]
        }),
        SignalFormat::Packed310 => encode_groups(values, 3, |[a, b, c]| {
            let w0 = ((a & 0x3FF) << 1) | ((c & 0x1F) << 11);
            let w1 = ((b & 0x3FF) << 1) | (((c >> 5) & 0x1F) << 11);
            let (w0, w1) = ((w0 as u16).to_le_bytes(), (w1 as u16).to_le_bytes());
            [w0[0], w0[1], w1[0], w1[1]]
        }),
        SignalFormat::Packed311 => encode_groups(values, 3, |[a, b, c]| {
            let word =
                (a & 0x3FF) as u32 | (((b & 0x3FF) as u32) << 10) | (((c & 0x3FF) as u32) << 20);
            word.to_le_bytes()
        }),
    }
}

fn take3([b0, b1, b2, _]: [u8; 4]) -> [u8; 3] {
    [b0, b1, b2]
}

/// Packs groups of `per_group` values; a last, partial group is padded with zeros and written
/// with the bytes its samples need, as the WFDB library and wfdb-python write it (212: one
/// sample in 2 bytes; 310 and 311: one sample in 2 bytes, two samples in 4).
fn encode_groups(values: &[i32], per_group: usize, group: impl Fn([i32; 3]) -> [u8; 4]) -> Vec<u8> {
    let size = if per_group == 2 { 3 } else { 4 };
    let mut bytes = Vec::with_capacity(values.len() / per_group * size + size);
    for chunk in values.chunks(per_group) {
        let mut padded = [0i32; 3];
        padded[..chunk.len()].copy_from_slice(chunk);
        let packed = group(padded);
        let keep = if chunk.len() == per_group {
            size
        } else if chunk.len() == 1 {
            2
        } else {
            4
        };
        bytes.extend_from_slice(&packed[..keep]);
    }
    bytes
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
