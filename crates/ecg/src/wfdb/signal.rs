//! WFDB signal files in formats 212 and 16: decoding, encoding and checksums.

use super::{Header, SignalFormat, WfdbError};

/// Samples of a record, one vector of stored ADC values per signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Samples {
    pub signals: Vec<Vec<i32>>,
}

impl Samples {
    /// Samples per signal.
    pub fn len(&self) -> usize {
        self.signals.first().map_or(0, Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The WFDB checksum of each signal: the 16-bit two's-complement sum of its samples.
    pub fn checksums(&self) -> Vec<i16> {
        self.signals
            .iter()
            .map(|signal| {
                signal
                    .iter()
                    .fold(0i16, |sum, &v| sum.wrapping_add(v as i16))
            })
            .collect()
    }
}

/// A signal whose stored checksum or initial value does not match its samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumMismatch {
    pub signal: usize,
    pub expected: i16,
    pub computed: i16,
}

/// Decodes the signal file of a record whose signals all live in one interleaved file.
///
/// When the header states the samples per signal, a shorter file is an error and extra bytes
/// are ignored; otherwise the length is taken from the file.
pub fn decode(header: &Header, bytes: &[u8]) -> Result<Samples, WfdbError> {
    let Some(first) = header.signals.first() else {
        return Ok(Samples {
            signals: Vec::new(),
        });
    };
    let channels = header.signals.len();
    let available = match first.format {
        SignalFormat::Packed212 => bytes.len() * 2 / 3,
        SignalFormat::Int16 => bytes.len() / 2,
    } / channels;
    let length = match header.samples_per_signal {
        Some(stated) => {
            let stated = usize::try_from(stated).unwrap_or(usize::MAX);
            if stated > available {
                return Err(WfdbError::TruncatedSignal {
                    expected: stated,
                    found: available,
                });
            }
            stated
        }
        None => available,
    };
    let total = length * channels;
    let interleaved: Vec<i32> = match first.format {
        SignalFormat::Packed212 => decode_212(bytes, total),
        SignalFormat::Int16 => bytes
            .chunks_exact(2)
            .take(total)
            .map(|pair| i32::from(i16::from_le_bytes([pair[0], pair[1]])))
            .collect(),
    };
    let mut signals = vec![Vec::with_capacity(length); channels];
    for frame in interleaved.chunks_exact(channels) {
        for (signal, &value) in signals.iter_mut().zip(frame) {
            signal.push(value);
        }
    }
    Ok(Samples { signals })
}

fn decode_212(bytes: &[u8], total: usize) -> Vec<i32> {
    let mut values = Vec::with_capacity(total + 1);
    for group in bytes.chunks(3) {
        if values.len() >= total {
            break;
        }
        if let [b0, b1, rest @ ..] = group {
            values.push(sign_extend_12(
                i32::from(*b0) | (i32::from(*b1 & 0x0F) << 8),
            ));
            if let [b2] = rest {
                values.push(sign_extend_12(
                    i32::from(*b2) | (i32::from(*b1 & 0xF0) << 4),
                ));
            }
        }
    }
    values.truncate(total);
    values
}

fn sign_extend_12(value: i32) -> i32 {
    (value << 20) >> 20
}

/// Encodes interleaved samples of equal-length signals; values are clipped to the format's range.
pub fn encode(format: SignalFormat, samples: &Samples) -> Vec<u8> {
    let channels = samples.signals.len();
    let length = samples.len();
    let mut interleaved = Vec::with_capacity(length * channels);
    for index in 0..length {
        for signal in &samples.signals {
            let value = signal
                .get(index)
                .copied()
                .unwrap_or(format.invalid_sample());
            interleaved.push(clip(format, value));
        }
    }
    match format {
        SignalFormat::Packed212 => encode_212(&interleaved),
        SignalFormat::Int16 => interleaved
            .iter()
            .flat_map(|&v| (v as i16).to_le_bytes())
            .collect(),
    }
}

fn clip(format: SignalFormat, value: i32) -> i32 {
    if value == format.invalid_sample() {
        return value;
    }
    let (low, high) = format.sample_range();
    value.clamp(low, high)
}

fn encode_212(values: &[i32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(values.len() * 3 / 2 + 2);
    for pair in values.chunks(2) {
        let first = (pair[0] & 0xFFF) as u16;
        bytes.push((first & 0xFF) as u8);
        match pair.get(1) {
            Some(&second) => {
                let second = (second & 0xFFF) as u16;
                bytes.push(((first >> 8) as u8) | (((second >> 8) as u8) << 4));
                bytes.push((second & 0xFF) as u8);
            }
            None => bytes.push((first >> 8) as u8),
        }
    }
    bytes
}

/// Compares the header's checksums and initial values with the decoded samples.
pub fn verify(header: &Header, samples: &Samples) -> Vec<ChecksumMismatch> {
    let computed = samples.checksums();
    header
        .signals
        .iter()
        .zip(computed)
        .enumerate()
        .filter(|(_, (spec, sum))| spec.checksum != *sum)
        .map(|(signal, (spec, sum))| ChecksumMismatch {
            signal,
            expected: spec.checksum,
            computed: sum,
        })
        .collect()
}

/// Sets the header's samples per signal, initial values and checksums from the samples.
pub fn describe(header: &mut Header, samples: &Samples) {
    header.samples_per_signal = Some(samples.len() as u64);
    for ((spec, sum), signal) in header
        .signals
        .iter_mut()
        .zip(samples.checksums())
        .zip(&samples.signals)
    {
        spec.checksum = sum;
        spec.initial_value = signal.first().copied().unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header(format: u32, channels: usize, length: Option<u64>) -> Header {
        let mut text = format!("r {channels} 360");
        if let Some(length) = length {
            text.push_str(&format!(" {length}"));
        }
        text.push('\n');
        for _ in 0..channels {
            text.push_str(&format!("r.dat {format} 200 12 0 0 0 0 x\n"));
        }
        Header::parse(&text).unwrap()
    }

    #[test]
    fn decodes_212_nibbles_and_sign() {
        // Samples 0x123 and -1 (0xFFF): b0 = 0x23, b1 = 0xF1, b2 = 0xFF.
        let samples = decode(&header(212, 2, Some(1)), &[0x23, 0xF1, 0xFF]).unwrap();
        assert_eq!(samples.signals, vec![vec![0x123], vec![-1]]);
    }

    #[test]
    fn short_file_is_an_error() {
        let result = decode(&header(16, 1, Some(10)), &[0; 6]);
        assert!(matches!(
            result,
            Err(WfdbError::TruncatedSignal {
                expected: 10,
                found: 3
            })
        ));
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(
            channels in 1usize..4,
            length in 0usize..50,
            seed in proptest::collection::vec(-2047i32..=2047, 200),
            int16 in any::<bool>(),
        ) {
            let signals: Vec<Vec<i32>> = (0..channels)
                .map(|c| (0..length).map(|i| seed[(i * channels + c) % seed.len()]).collect())
                .collect();
            let samples = Samples { signals };
            let format = if int16 { 16 } else { 212 };
            let header = header(format, channels, Some(length as u64));
            let bytes = encode(header.signals[0].format, &samples);
            prop_assert_eq!(decode(&header, &bytes).unwrap(), samples);
        }
    }
}
