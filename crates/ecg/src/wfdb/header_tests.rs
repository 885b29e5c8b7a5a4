//! Tests of header parsing: record 100, checksums as WFDB defines them, and error messages.

use super::*;

const RECORD_100: &str = "# unnecessary comment\n100 2 360 650000\n100.dat 212 200 11 1024 995 -22131 0 MLII\n\n100.dat 212 200 11 1024 1011 20052 0 V5\n# 69 M 1085 1629 x1\n";

#[test]
fn parses_record_100_with_comments_and_blank_lines() {
    let header = Header::parse(RECORD_100).unwrap();
    assert_eq!(header.record_name, "100");
    assert_eq!(header.sampling_frequency, 360.0);
    assert_eq!(header.samples_per_signal, Some(650_000));
    assert_eq!(header.signals.len(), 2);
    let lead = &header.signals[0];
    assert_eq!(lead.format, SignalFormat::Packed212);
    assert_eq!(lead.gain, 200.0);
    assert_eq!(lead.baseline, 1024);
    assert_eq!(lead.initial_value, 995);
    assert_eq!(lead.checksum, -22131);
    assert_eq!(lead.description, "MLII");
    assert_eq!(header.signals[1].description, "V5");
    assert_eq!(header.comments.len(), 2);
}

#[test]
fn written_header_parses_back_identically() {
    let header = Header::parse(RECORD_100).unwrap();
    assert_eq!(Header::parse(&header.to_text()).unwrap(), header);
}

#[test]
fn explicit_baseline_and_units_are_read() {
    let header = Header::parse("r 1 500\nr.dat 16 1000(-3)/uV 16 0 0 0 0 lead I\n").unwrap();
    let s = &header.signals[0];
    assert_eq!((s.gain, s.baseline, s.units.as_str()), (1000.0, -3, "uV"));
    assert_eq!(s.description, "lead I");
    assert_eq!(header.samples_per_signal, None);
}

#[test]
fn malformed_headers_give_clear_errors() {
    assert!(matches!(
        Header::parse("# only\n"),
        Err(WfdbError::MissingRecordLine)
    ));
    assert!(matches!(
        Header::parse("r 2 360\nr.dat 212\n"),
        Err(WfdbError::MissingSignalLines {
            expected: 2,
            found: 1
        })
    ));
    assert!(matches!(
        Header::parse("r 1 360\nr.dat 508\n"),
        Err(WfdbError::UnsupportedFormat { .. })
    ));
    assert!(matches!(
        Header::parse("r x 360\n"),
        Err(WfdbError::BadField {
            field: "number of signals",
            ..
        })
    ));
    assert!(matches!(
        Header::parse("r/3 1 360\n"),
        Err(WfdbError::MultiSegment)
    ));
    assert!(matches!(
        Header::parse("r 2 360\na.dat 16\nb.dat 16\n"),
        Err(WfdbError::MixedSignalFiles)
    ));
}

#[test]
fn checksums_are_16_bit_stored_signed_or_unsigned() {
    // wfdb-python writes checksums unsigned (sum mod 65536); the WFDB library signed.
    let unsigned = Header::parse("r 1 360\nr.dat 16 200 16 0 1000 42496 0 a\n").unwrap();
    let signed = Header::parse("r 1 360\nr.dat 16 200 16 0 1000 -23040 0 a\n").unwrap();
    assert_eq!(unsigned.signals[0].checksum, -23040);
    assert_eq!(unsigned, signed);
    for edge in ["65535", "-32768", "32768", "0"] {
        let text = format!("r 1 360\nr.dat 16 200 16 0 0 {edge} 0 a\n");
        assert!(Header::parse(&text).is_ok(), "{edge}");
    }
}

#[test]
fn every_header_error_says_which_line_field_and_value_is_wrong() {
    let cases = [
        (
            "r 1 360\nr.dat 16 200 16 0 0 65536 0 a\n",
            "header line 2: checksum \"65536\" is not a 16-bit value",
        ),
        (
            "r 1 360\nr.dat 16 200 16 0 0 -32769 0 a\n",
            "header line 2: checksum \"-32769\" is not a 16-bit value",
        ),
        (
            "r 1 360\nr.dat 16 200 16 0 0 x1 0 a\n",
            "header line 2: checksum \"x1\" is not a whole number",
        ),
        ("r 1 360\nr.dat\n", "header line 2: format is missing"),
        ("r 1 360\nr.dat 16 abc\n", "header line 2: gain \"abc\""),
        (
            "r 1 360\nr.dat 16 200(5\n",
            "header line 2: baseline \"200(5\" has no closing ')'",
        ),
        (
            "r 0 360\n",
            "header line 1: number of signals \"0\" is not between 1 and 64",
        ),
        ("r 1 -5\n", "header line 1: sampling frequency \"-5\""),
        (
            "r 1 360\nr.dat 16 200 40\n",
            "header line 2: ADC resolution \"40\" is more than 32 bits",
        ),
        (
            "r 2 360\nr.dat 16\n",
            "header names 2 signals but has 1 signal lines",
        ),
    ];
    for (text, expected) in cases {
        let message = Header::parse(text).unwrap_err().to_string();
        assert!(message.starts_with(expected), "{text:?} gave {message:?}");
    }
    let not_text = Header::parse_bytes(b"r 1 360\n\xff")
        .unwrap_err()
        .to_string();
    assert_eq!(not_text, "header is not text: byte 8 is not UTF-8");
}

#[test]
fn physical_conversion_round_trips_and_marks_missing_samples() {
    let s = &Header::parse(RECORD_100).unwrap().signals[0];
    assert_eq!(s.to_physical(1224), 1.0);
    assert_eq!(s.to_adu(1.0), 1224);
    assert!(s.to_physical(-2048).is_nan());
    assert_eq!(s.to_adu(f32::NAN), -2048);
    assert_eq!(s.to_adu(100.0), 2047);
    assert!((s.saturation_level() - 5.115).abs() < 1e-3);
}
