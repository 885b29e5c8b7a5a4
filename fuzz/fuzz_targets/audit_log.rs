//! Fuzz target: the audit log's chain verifier (what `medlink audit verify` and `show` run on a
//! file from anywhere) never panics on any bytes, and never calls a log with a forged checkpoint
//! intact. Two ways in: the input as a whole log, checked with a verifier that rejects every
//! signature; and the input as byte edits to a valid signed log, which must then be tampered.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use trust::chain::{
    ChainWriter, RejectAll, SignError, SignatureVerifier, Signer, parse_lines, read_header,
    sha256_hex, verify,
};
use trust::{AuditAction, AuditRecord, Identity, Role};

/// A keyed hash standing in for the station's signature.
struct ToyKey;

impl ToyKey {
    fn mac(message: &[u8]) -> Vec<u8> {
        sha256_hex(&[b"station key".as_slice(), message].concat()).into_bytes()
    }
}

impl Signer for ToyKey {
    fn key_id(&self) -> &str {
        "toy"
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        Ok(Self::mac(message))
    }
}

impl SignatureVerifier for ToyKey {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Self::mac(message) == signature
    }
}

/// A small closed log: a take-over and a handover, a checkpoint every 2 entries.
fn valid_log() -> &'static [u8] {
    static LOG: OnceLock<Vec<u8>> = OnceLock::new();
    LOG.get_or_init(|| {
        let surgeon = Identity::simulated("Dr Li Wei", Role::Surgeon);
        let nurse = Identity::simulated("Nurse Ana Ruiz", Role::Bedside);
        let Ok((mut writer, mut bytes)) = ChainWriter::start("station", 1, "toy", "PEM") else {
            return Vec::new();
        };
        let records = [
            (Some(&surgeon), AuditAction::Request, "engage", "granted"),
            (Some(&nurse), AuditAction::Control, "take over", "granted"),
            (None, AuditAction::Transition, "ENGAGED -> HOLD", "bedside"),
            (Some(&nurse), AuditAction::Control, "hand back", "accepted"),
        ];
        for (i, (actor, action, subject, outcome)) in records.into_iter().enumerate() {
            let record = AuditRecord::new(i as i64, actor, action, subject, outcome);
            bytes.extend(writer.entry(10 + i as i64, record).unwrap_or_default());
            if i % 2 == 1 {
                bytes.extend(writer.checkpoint(&ToyKey, false).unwrap_or_default());
            }
        }
        bytes.extend(writer.checkpoint(&ToyKey, true).unwrap_or_default());
        bytes
    })
}

fuzz_target!(|data: &[u8]| {
    // The input as a log.
    let report = verify(data, &RejectAll);
    assert_eq!(report.checkpoints, 0, "no signature verifies under RejectAll");
    assert!(report.signed_entries <= report.entries);
    let _ = parse_lines(data);
    let _ = read_header(data);
    let _ = ChainWriter::resume(data, &RejectAll, "toy");

    // The input as edits (position high, position low, xor) to a valid signed log.
    let log = valid_log();
    let mut edited = log.to_vec();
    for edit in data.chunks_exact(3) {
        let at = usize::from(u16::from_be_bytes([edit[0], edit[1]])) % edited.len().max(1);
        if let Some(byte) = edited.get_mut(at) {
            *byte ^= edit[2];
        }
    }
    let report = verify(&edited, &ToyKey);
    if edited == log {
        assert!(!report.is_tampered() && report.closed);
    } else {
        assert!(report.is_tampered(), "an edit went unseen: {:?}", report.verdict);
    }
});
