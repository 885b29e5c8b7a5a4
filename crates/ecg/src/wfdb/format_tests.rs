//! Tests of the signal-file formats on hand-made bytes, and encode/decode round trips.

use super::*;
use crate::wfdb::{Header, Samples, signal};
use proptest::prelude::*;

/// A one-signal header in `format` with `length` samples and initial value `initial`.
fn header(format: u32, length: usize, initial: i32) -> Header {
    let text = format!("r 1 360 {length}\nr.dat {format} 200 0 0 {initial} 0 0 x\n");
    Header::parse(&text).unwrap()
}

fn decoded(format: u32, bytes: &[u8], length: usize, initial: i32) -> Vec<i32> {
    let samples = signal::decode(&header(format, length, initial), bytes).unwrap();
    samples.signals.into_iter().next().unwrap()
}

#[test]
fn format_8_adds_signed_differences_to_the_initial_value() {
    assert_eq!(
        decoded(8, &[0x00, 0x05, 0xFB, 0x80], 4, 100),
        [100, 105, 100, -28]
    );
}

#[test]
fn format_80_is_offset_binary_with_minus_128_missing() {
    assert_eq!(
        decoded(80, &[0x80, 0x00, 0xFF, 0x81], 4, 0),
        [0, -128, 127, 1]
    );
    let h = header(80, 1, 0);
    assert!(h.signals[0].to_physical(-128).is_nan());
}

#[test]
fn formats_16_61_and_160_are_16_bit_little_big_and_offset() {
    assert_eq!(
        decoded(16, &[0x34, 0x12, 0x00, 0x80], 2, 0),
        [0x1234, -32768]
    );
    assert_eq!(decoded(61, &[0x12, 0x34, 0xFF, 0xFE], 2, 0), [0x1234, -2]);
    assert_eq!(
        decoded(160, &[0x00, 0x80, 0x00, 0x00, 0xFF, 0xFF], 3, 0),
        [0, -32768, 32767]
    );
}

#[test]
fn formats_24_and_32_are_little_endian_twos_complement() {
    let bytes = [0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x80];
    assert_eq!(decoded(24, &bytes, 3, 0), [0x12_3456, -1, -8_388_608]);
    let bytes = [0x78, 0x56, 0x34, 0x12, 0xFE, 0xFF, 0xFF, 0xFF];
    assert_eq!(decoded(32, &bytes, 2, 0), [0x1234_5678, -2]);
    let h = header(32, 1, 0);
    assert!(h.signals[0].to_physical(i32::MIN).is_nan());
}

#[test]
fn format_310_packs_three_10_bit_samples_in_two_words() {
    // 341, -2 (0x3FE), -300 (0x2D4): w0 = 341 << 1 | (0x2D4 & 0x1F) << 11, w1 = 0x3FE << 1 | (0x2D4 >> 5) << 11.
    let bytes = [0xAA, 0xA2, 0xFC, 0xB7];
    assert_eq!(decoded(310, &bytes, 3, 0), [341, -2, -300]);
    // A partial last group: 2 bytes hold the first sample, 4 the first two.
    assert_eq!(
        decoded(310, &[0xAA, 0xA2, 0xFC, 0xB7, 0xAA, 0xA2], 4, 0),
        [341, -2, -300, 341]
    );
    assert_eq!(SignalFormat::Packed310.samples_in(7), 4);
}

#[test]
fn format_311_packs_three_10_bit_samples_in_one_word() {
    // 341 | 0x3FE << 10 | 0x2D4 << 20 = 0x2D4F_F955.
    let bytes = [0x55, 0xF9, 0x4F, 0x2D];
    assert_eq!(decoded(311, &bytes, 3, 0), [341, -2, -300]);
    assert_eq!(SignalFormat::Packed311.samples_in(6), 4);
    assert_eq!(SignalFormat::Packed311.samples_in(7), 5);
}

#[test]
fn encoders_write_the_hand_made_bytes() {
    let one = |values: Vec<i32>| Samples {
        signals: vec![values],
    };
    let e = |code: u32, values: Vec<i32>| {
        signal::encode(header(code, 0, 0).signals[0].format, &one(values))
    };
    assert_eq!(e(310, vec![341, -2, -300]), [0xAA, 0xA2, 0xFC, 0xB7]);
    assert_eq!(e(311, vec![341, -2, -300]), [0x55, 0xF9, 0x4F, 0x2D]);
    assert_eq!(e(310, vec![341]).len(), 2);
    assert_eq!(e(311, vec![341, -2]).len(), 4);
    assert_eq!(e(8, vec![100, 105, 100, -200]), [0x00, 0x05, 0xFB, 0x80]);
    assert_eq!(e(24, vec![-1]), [0xFF, 0xFF, 0xFF]);
    assert_eq!(e(160, vec![0]), [0x00, 0x80]);
}

#[test]
fn unknown_formats_are_named_with_the_ones_this_reader_knows() {
    let message = Header::parse("r 1 360\nr.dat 508\n")
        .unwrap_err()
        .to_string();
    assert!(message.contains("header line 2: signal format \"508\" is not supported"));
    assert!(message.contains("8, 16, 24, 32, 61, 80, 160, 212, 310 and 311"));
    for format in ALL_FORMATS {
        let text = format!("r 1 360\nr.dat {}\n", format.code());
        assert_eq!(Header::parse(&text).unwrap().signals[0].format, format);
    }
}

proptest! {
    #[test]
    fn every_format_decodes_what_it_encodes(
        which in 0usize..ALL_FORMATS.len(),
        channels in 1usize..4,
        length in 0usize..40,
        seed in proptest::collection::vec(any::<i32>(), 120),
    ) {
        let format = ALL_FORMATS[which];
        let (low, high) = format.sample_range();
        let signals: Vec<Vec<i32>> = (0..channels)
            .map(|c| {
                (0..length)
                    .map(|i| {
                        let raw = seed[(i * channels + c) % seed.len()];
                        if format == SignalFormat::Diff8 {
                            (raw % 60) + i as i32 // format 8 stores steps of at most ±127
                        } else {
                            i64::from(raw).clamp(i64::from(low) - 1, i64::from(high)) as i32
                        }
                    })
                    .collect()
            })
            .collect();
        let mut record = crate::wfdb::Record {
            header: Header::parse(&format!(
                "r {channels} 360\n{}",
                format!("r.dat {} 200 0 0 0 0 0 x\n", format.code()).repeat(channels)
            ))
            .unwrap(),
            samples: Samples { signals },
        };
        let (text, bytes) = record.encode();
        let back = crate::wfdb::Record::decode(text.as_bytes(), &bytes).unwrap();
        prop_assert!(back.checksum_mismatches().is_empty());
        record.header = back.header.clone();
        prop_assert_eq!(back, record);
    }
}
