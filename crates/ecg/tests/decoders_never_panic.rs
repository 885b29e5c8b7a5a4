//! Stable stand-in for the fuzz target (nightly is not available here): random bytes and
//! mutations of real files go through every decoder, which must return, never panic.

use proptest::prelude::*;

fn real_file(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../tests/data/mitbih/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("test data {path}: {e}"))
}

/// A real file with bytes overwritten, a tail cut off and a few bytes inserted.
fn mutated(mut bytes: Vec<u8>, edits: &[(usize, u8)], cut: usize, inserted: &[u8]) -> Vec<u8> {
    for &(at, value) in edits {
        let len = bytes.len().max(1);
        if let Some(b) = bytes.get_mut(at % len) {
            *b = value;
        }
    }
    bytes.truncate(bytes.len().saturating_sub(cut));
    let middle = bytes.len() / 2;
    bytes.splice(middle..middle, inserted.iter().copied());
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        ecg::fuzzing::exercise_decoders(&data);
    }

    #[test]
    fn mutated_real_files_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..12),
        cut in 0usize..64,
        inserted in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let name = ["100.hea", "100.atr", "100.hea"][which];
        let mut original = real_file(name);
        if which == 2 {
            original.truncate(120);
        }
        ecg::fuzzing::exercise_decoders(&mutated(original, &edits, cut, &inserted));
    }
}

#[test]
fn truncated_and_garbled_inputs_are_errors_not_data() {
    let atr = real_file("100.atr");
    assert!(ecg::wfdb::annotation::decode(&atr[..atr.len() - 3]).is_err());
    let header = real_file("100.hea");
    let record = ecg::wfdb::Record::decode(&header, &real_file("100.dat")[..3000]);
    assert!(matches!(
        record,
        Err(ecg::wfdb::WfdbError::TruncatedSignal { .. })
    ));
    assert!(ecg::wfdb::Header::parse_bytes(&[0xff, 0xfe, 0x00]).is_err());
}
