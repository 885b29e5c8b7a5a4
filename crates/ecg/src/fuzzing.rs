//! One entry point that pushes arbitrary bytes through every decoder of outside input, shared
//! by the cargo-fuzz target (fuzz/fuzz_targets/wfdb_readers.rs) and the stable proptest.

use crate::wfdb::{self, ALL_FORMATS, Header};

/// Decodes `data` as a header, as a signal file in every format (one and two interleaved
/// signals, with and without a stated length), as annotations and as an ECG chunk payload.
/// Every outcome is allowed except a panic.
pub fn exercise_decoders(data: &[u8]) {
    if let Ok(header) = Header::parse_bytes(data) {
        let _ = header.to_text();
        if let Ok(samples) = wfdb::signal::decode(&header, data) {
            let _ = wfdb::signal::verify(&header, &samples);
        }
    }
    for format in ALL_FORMATS {
        let code = format.code();
        let headers = [
            format!("f 2 360\nf.dat {code} 200 0 0 100 0 0 I\nf.dat {code} 200 0 0 -7 0 0 II\n"),
            format!("f 1 250 8\nf.dat {code} 1000 0 0 0 0 0 I\n"),
        ];
        for text in headers {
            if let Ok(header) = Header::parse(&text)
                && let Ok(samples) = wfdb::signal::decode(&header, data)
            {
                let _ = wfdb::signal::verify(&header, &samples);
                if let (Some(spec), Some(first)) = (header.signals.first(), samples.signals.first())
                {
                    let _: Vec<f32> = first.iter().map(|&adu| spec.to_physical(adu)).collect();
                }
            }
        }
    }
    if let Ok(annotations) = wfdb::annotation::decode(data) {
        let _ = wfdb::annotation::encode(&annotations);
    }
    let _ = crate::EcgChunkMessage::decode(data);
}
