//! One entry point that pushes arbitrary bytes through every decoder of outside input, shared
//! by the cargo-fuzz target (fuzz/fuzz_targets/wfdb_readers.rs) and the stable proptest.

use crate::wfdb::{self, Header};

/// Header text used when the input is fed to the signal decoders.
const TWO_LEADS_212: &str =
    "f 2 360\nf.dat 212 200 11 1024 0 0 0 I\nf.dat 212 200 11 1024 0 0 0 II\n";
const ONE_LEAD_16: &str = "f 1 250 8\nf.dat 16 1000 16 0 0 0 0 I\n";

/// Decodes `data` as a header, as signal files in both formats, as annotations and as an ECG
/// chunk payload. Every outcome is allowed except a panic.
pub fn exercise_decoders(data: &[u8]) {
    if let Ok(header) = Header::parse_bytes(data) {
        let _ = header.to_text();
        let _ = wfdb::signal::decode(&header, data);
    }
    for text in [TWO_LEADS_212, ONE_LEAD_16] {
        if let Ok(header) = Header::parse(text)
            && let Ok(samples) = wfdb::signal::decode(&header, data)
        {
            let _ = wfdb::signal::verify(&header, &samples);
        }
    }
    if let Ok(annotations) = wfdb::annotation::decode(data) {
        let _ = wfdb::annotation::encode(&annotations);
    }
    let _ = crate::EcgChunkMessage::decode(data);
}
