//! The chain's rules, each shown by the edit that breaks it: edits, deletions, insertions and
//! reorderings are named at their line; a crash's cut-short line is not tampering; checkpoints
//! signed by anyone but the header's signer are refused.

use super::*;
use crate::audit::{AuditAction, AuditRecord};
use crate::identity::{Identity, Role};

/// A keyed hash standing in for a signature: enough to tell one key from another.
pub struct ToyKey {
    id: String,
    secret: Vec<u8>,
}

impl ToyKey {
    pub fn new(secret: &str) -> Self {
        Self {
            id: sha256_hex(secret.as_bytes()),
            secret: secret.as_bytes().to_vec(),
        }
    }
    fn mac(&self, message: &[u8]) -> Vec<u8> {
        let mut keyed = self.secret.clone();
        keyed.extend_from_slice(message);
        hex::decode(sha256_hex(&keyed).as_bytes()).unwrap_or_default()
    }
}

impl Signer for ToyKey {
    fn key_id(&self) -> &str {
        &self.id
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        Ok(self.mac(message))
    }
}

impl SignatureVerifier for ToyKey {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.mac(message) == signature
    }
}

fn record(i: u64) -> AuditRecord {
    let surgeon = Identity::simulated("Dr Li Wei", Role::Surgeon);
    let actor = (!i.is_multiple_of(3)).then_some(&surgeon);
    AuditRecord::new(
        i as i64 * 1000,
        actor,
        AuditAction::Control,
        format!("take over #{i}"),
        "granted",
    )
}

/// A log of `n` entries with a checkpoint after every `every`, closed when `close`.
fn log(key: &ToyKey, n: u64, every: u64, close: bool) -> Vec<u8> {
    let (mut writer, mut bytes) = ChainWriter::start("station", 1, key.key_id(), "PEM").unwrap();
    for i in 0..n {
        bytes.extend(writer.entry(1_000 + i as i64, record(i)).unwrap());
        if (i + 1) % every == 0 {
            bytes.extend(writer.checkpoint(key, false).unwrap());
        }
    }
    if close {
        bytes.extend(writer.checkpoint(key, true).unwrap());
    }
    bytes
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// The 1-based line that holds entry `seq`.
fn line_of(bytes: &[u8], seq: u64) -> usize {
    let needle = format!("{{\"kind\":\"entry\",\"seq\":{seq},");
    lines(bytes)
        .iter()
        .position(|l| l.starts_with(needle.as_bytes()))
        .unwrap()
        + 1
}

fn tamper(report: &Report) -> &Tamper {
    match &report.verdict {
        Verdict::Tampered(tamper) => tamper,
        other => panic!("expected tampering, got {other:?}"),
    }
}

#[test]
fn a_written_log_verifies_with_its_counts() {
    let key = ToyKey::new("station");
    let report = verify(&log(&key, 10, 4, true), &key);
    assert_eq!(report.verdict, Verdict::Intact);
    assert_eq!(report.entries, 10);
    assert_eq!(report.checkpoints, 3);
    assert_eq!(report.signed_entries, 10);
    assert_eq!(report.unsigned_tail(), 0);
    assert!(report.closed);
    assert_eq!(report.header.unwrap().role, "station");
}

#[test]
fn entries_after_the_last_checkpoint_are_an_unsigned_tail() {
    let key = ToyKey::new("station");
    let report = verify(&log(&key, 10, 4, false), &key);
    assert_eq!(report.verdict, Verdict::Intact);
    assert_eq!(report.signed_through(), Some(7));
    assert_eq!(report.unsigned_tail(), 2);
    assert!(!report.closed);
}

#[test]
fn a_one_byte_edit_names_the_entry() {
    let key = ToyKey::new("station");
    let bytes = log(&key, 10, 4, true);
    let line = line_of(&bytes, 6);
    let text = String::from_utf8(bytes).unwrap();
    let edited = text.replacen("take over #6", "take over #7", 1);
    let report = verify(edited.as_bytes(), &key);
    let tamper = tamper(&report);
    assert_eq!(tamper.kind, TamperKind::HashMismatch);
    assert_eq!((tamper.line, tamper.seq()), (line, Some(6)));
    assert_eq!(
        tamper.to_string(),
        format!("entry 6 (line {line}): hash does not match its contents (edited)")
    );
    assert_eq!(report.entries, 6, "entries before it verified");
}

#[test]
fn a_deleted_entry_is_found_where_it_is_missing() {
    let key = ToyKey::new("station");
    let bytes = log(&key, 10, 4, true);
    let line = line_of(&bytes, 2);
    let mut all = lines(&bytes);
    all.remove(line - 1);
    let report = verify(&all.concat(), &key);
    let tamper = tamper(&report);
    assert_eq!(
        tamper.kind,
        TamperKind::SeqMismatch {
            expected: 2,
            found: 3
        }
    );
    assert_eq!((tamper.line, tamper.seq()), (line, Some(2)));
}

#[test]
fn an_inserted_or_reordered_entry_is_found() {
    let key = ToyKey::new("station");
    let bytes = log(&key, 10, 4, true);
    let mut all = lines(&bytes);
    let (a, b) = (line_of(&bytes, 5) - 1, line_of(&bytes, 6) - 1);
    all.swap(a, b);
    let report = verify(&all.concat(), &key);
    assert_eq!(tamper(&report).line, a + 1);
    assert!(matches!(
        tamper(&report).kind,
        TamperKind::SeqMismatch {
            expected: 5,
            found: 6
        }
    ));

    let mut all = lines(&bytes);
    let copy = all[line_of(&bytes, 1) - 1].clone();
    all.insert(line_of(&bytes, 3) - 1, copy);
    let report = verify(&all.concat(), &key);
    assert_eq!(tamper(&report).seq(), Some(3));
}

#[test]
fn a_rewritten_entry_with_a_fresh_hash_breaks_the_next_link() {
    let key = ToyKey::new("station");
    let (mut writer, mut bytes) = ChainWriter::start("station", 1, key.key_id(), "PEM").unwrap();
    let mut forger = writer.clone();
    bytes.extend(writer.entry(10, record(0)).unwrap());
    let honest = writer.entry(11, record(1)).unwrap();
    bytes.extend(writer.entry(12, record(2)).unwrap());
    // The forger rewrites entry 1 with a valid hash of its own.
    forger.entry(10, record(0)).unwrap();
    let forged = forger.entry(11, record(99)).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let mut all: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
    all.insert(2, String::from_utf8(forged).unwrap());
    assert_ne!(all[2].as_bytes(), honest.as_slice());
    let report = verify(all.concat().as_bytes(), &key);
    let tamper = tamper(&report);
    assert_eq!(tamper.kind, TamperKind::PrevMismatch);
    assert_eq!(tamper.seq(), Some(2));
}

#[test]
fn a_consistently_rewritten_chain_is_caught_by_its_checkpoint() {
    let key = ToyKey::new("station");
    let honest = log(&key, 4, 4, false);
    let checkpoint = lines(&honest).pop().unwrap();
    // The forger rebuilds entries 0..4 with other contents, keeping the signed checkpoint.
    let (mut forger, mut forged) = ChainWriter::start("station", 1, key.key_id(), "PEM").unwrap();
    for i in 0..4 {
        forged.extend(forger.entry(1_000 + i as i64, record(i + 50)).unwrap());
    }
    forged.extend(checkpoint);
    let report = verify(&forged, &key);
    assert_eq!(
        tamper(&report).kind,
        TamperKind::CheckpointMismatch { signed_entries: 4 }
    );
}

#[test]
fn a_checkpoint_signed_by_another_key_is_forged() {
    let key = ToyKey::new("station");
    let mallory = ToyKey::new("mallory");
    let (mut writer, mut bytes) = ChainWriter::start("station", 1, key.key_id(), "PEM").unwrap();
    bytes.extend(writer.entry(10, record(0)).unwrap());
    // Mallory signs under the station's key id: the signature does not verify.
    let mut impostor = ToyKey::new("mallory");
    impostor.id = key.id.clone();
    bytes.extend(writer.checkpoint(&impostor, true).unwrap());
    let report = verify(&bytes, &key);
    assert_eq!(tamper(&report).kind, TamperKind::BadSignature);
    assert_eq!(
        tamper(&report).place,
        Place::Checkpoint { after_entries: 1 }
    );
    // Under her own key id, the writer refuses; a hand-made one is refused by the verifier.
    assert!(writer.checkpoint(&mallory, true).is_err());
}

#[test]
fn a_line_cut_short_is_a_truncated_tail_not_tampering() {
    let key = ToyKey::new("station");
    let bytes = log(&key, 5, 2, false);
    let last_entry_line = line_of(&bytes, 4);
    let start: usize = lines(&bytes)[..last_entry_line - 1]
        .iter()
        .map(Vec::len)
        .sum();
    let cut = &bytes[..start + 30];
    let report = verify(cut, &key);
    assert_eq!(
        report.verdict,
        Verdict::TruncatedTail {
            line: last_entry_line,
            after_seq: Some(3)
        }
    );
    assert_eq!(report.entries, 4);
    assert_eq!(report.unsigned_tail(), 0);

    assert_eq!(
        verify(b"", &key).verdict,
        Verdict::TruncatedTail {
            line: 1,
            after_seq: None
        }
    );
}

#[test]
fn garbage_after_the_last_line_is_tampering_not_a_crash() {
    let key = ToyKey::new("station");
    let mut bytes = log(&key, 3, 2, true);
    let last = bytes.len() - 1;
    bytes[last] = b'x';
    let report = verify(&bytes, &key);
    assert!(matches!(tamper(&report).kind, TamperKind::Malformed { .. }));
}

#[test]
fn deleting_the_unsigned_tail_goes_unseen_but_not_a_signed_one() {
    let key = ToyKey::new("station");
    let bytes = log(&key, 6, 4, false);
    let mut all = lines(&bytes);
    all.pop();
    let report = verify(&all.concat(), &key);
    assert_eq!(report.verdict, Verdict::Intact, "the known limit");
    assert_eq!(report.unsigned_tail(), 1);

    let closed = log(&key, 6, 4, true);
    let mut all = lines(&closed);
    all.remove(line_of(&closed, 5) - 1);
    assert!(verify(&all.concat(), &key).is_tampered());
}

#[test]
fn a_note_counts_the_records_lost() {
    let key = ToyKey::new("station");
    let (mut writer, mut bytes) = ChainWriter::start("console", 1, key.key_id(), "PEM").unwrap();
    bytes.extend(writer.entry(10, record(0)).unwrap());
    bytes.extend(writer.note(11, 7, "queue full").unwrap());
    bytes.extend(writer.entry(12, record(1)).unwrap());
    bytes.extend(writer.checkpoint(&key, true).unwrap());
    let report = verify(&bytes, &key);
    assert_eq!(report.verdict, Verdict::Intact);
    assert_eq!((report.entries, report.lost), (3, 7));
}

#[test]
fn a_resumed_log_continues_the_chain_after_a_crash() {
    let key = ToyKey::new("station");
    let bytes = log(&key, 5, 2, false);
    let cut = &bytes[..bytes.len() - 20];
    let mut resumed = ChainWriter::resume(cut, &key, key.key_id()).unwrap();
    assert_eq!(resumed.writer.entries(), 4);
    assert!(!resumed.needs_newline);
    let mut continued = cut[..resumed.keep].to_vec();
    continued.extend(resumed.writer.note(20, 0, "resumed").unwrap());
    continued.extend(resumed.writer.entry(21, record(9)).unwrap());
    continued.extend(resumed.writer.checkpoint(&key, true).unwrap());
    let report = verify(&continued, &key);
    assert_eq!(report.verdict, Verdict::Intact);
    assert_eq!((report.entries, report.signed_entries), (6, 6));

    let other = ToyKey::new("other");
    assert!(matches!(
        ChainWriter::resume(cut, &key, other.key_id()),
        Err(ResumeError::OtherSigner { .. })
    ));
    let mut edited = bytes.clone();
    let entry_1: usize = lines(&bytes)[..line_of(&bytes, 1) - 1]
        .iter()
        .map(Vec::len)
        .sum();
    edited[entry_1 + 40] ^= 1;
    assert!(matches!(
        ChainWriter::resume(&edited, &key, key.key_id()),
        Err(ResumeError::Tampered(_))
    ));
}

#[test]
fn a_log_that_lacks_its_header_or_repeats_it_is_tampered() {
    let key = ToyKey::new("station");
    let bytes = log(&key, 2, 2, true);
    let mut all = lines(&bytes);
    let header = all.remove(0);
    assert_eq!(
        tamper(&verify(&all.concat(), &key)).kind,
        TamperKind::MissingHeader
    );
    all.insert(0, header.clone());
    all.insert(2, header);
    assert_eq!(
        tamper(&verify(&all.concat(), &key)).kind,
        TamperKind::ExtraHeader
    );
}

#[test]
fn read_header_and_parse_lines_show_an_unverified_log() {
    let key = ToyKey::new("station");
    let bytes = log(&key, 2, 5, true);
    assert_eq!(read_header(&bytes).unwrap().signer, key.key_id());
    let parsed = parse_lines(&bytes);
    assert_eq!(parsed.len(), 4);
    assert!(matches!(parsed[1].body, Ok(Body::Entry(_))));
    assert!(matches!(parsed[3].body, Ok(Body::Checkpoint(_))));
}

#[test]
fn a_whole_last_line_without_its_newline_is_kept_and_completed() {
    let key = ToyKey::new("station");
    let bytes = log(&key, 3, 2, false);
    let cut = &bytes[..bytes.len() - 1];
    assert_eq!(verify(cut, &key).verdict, Verdict::Intact);
    let mut resumed = ChainWriter::resume(cut, &key, key.key_id()).unwrap();
    assert_eq!((resumed.keep, resumed.needs_newline), (cut.len(), true));
    let mut continued = cut.to_vec();
    continued.push(b'\n');
    continued.extend(resumed.writer.entry(30, record(3)).unwrap());
    continued.extend(resumed.writer.checkpoint(&key, true).unwrap());
    let report = verify(&continued, &key);
    assert_eq!(report.verdict, Verdict::Intact);
    assert_eq!(report.entries, 4);
}
