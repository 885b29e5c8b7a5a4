//! WFDB signal files (one interleaved file per record, any format of `format.rs`): decoding,
//! encoding and checksums.

use super::format::{decode_values, encode_values};
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
    let available = first.format.samples_in(bytes.len()) / channels;
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
    let interleaved = decode_values(first.format, bytes, length * channels);
    let mut signals = vec![Vec::with_capacity(length); channels];
    for frame in interleaved.chunks_exact(channels) {
        for (signal, &value) in signals.iter_mut().zip(frame) {
            signal.push(value);
        }
    }
    if first.format == SignalFormat::Diff8 {
        // Format 8 stores differences: each signal starts from its header initial value.
        for (signal, spec) in signals.iter_mut().zip(&header.signals) {
            let mut value = spec.initial_value;
            for sample in signal.iter_mut() {
                value = value.wrapping_add(*sample);
                *sample = value;
            }
        }
    }
    Ok(Samples { signals })
}

/// Encodes interleaved samples of equal-length signals; values are clipped to the format's range.
/// Format 8 stores each signal's differences from its first sample (the initial value that
/// `describe` writes into the header), each step clipped to ±127 as WFDB does.
pub fn encode(format: SignalFormat, samples: &Samples) -> Vec<u8> {
    let channels = samples.signals.len();
    let length = samples.len();
    let mut interleaved = Vec::with_capacity(length * channels);
    let mut previous: Vec<i32> = samples
        .signals
        .iter()
        .map(|signal| signal.first().copied().unwrap_or(0))
        .collect();
    for index in 0..length {
        for (signal, last) in samples.signals.iter().zip(previous.iter_mut()) {
            let value = signal.get(index).copied();
            if format == SignalFormat::Diff8 {
                let step = value
                    .unwrap_or(*last)
                    .saturating_sub(*last)
                    .clamp(-128, 127);
                *last += step;
                interleaved.push(step);
            } else {
                let missing = format.invalid_sample().unwrap_or(0);
                interleaved.push(clip(format, value.unwrap_or(missing)));
            }
        }
    }
    encode_values(format, &interleaved)
}

fn clip(format: SignalFormat, value: i32) -> i32 {
    if Some(value) == format.invalid_sample() {
        return value;
    }
    let (low, high) = format.sample_range();
    value.clamp(low, high)
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
