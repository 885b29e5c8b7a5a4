//! Properties of the audit chain over arbitrary logs: any one-byte edit, any deleted, inserted or
//! reordered entry is found and named at its line; a file cut anywhere (a crash) is never taken
//! for tampering.

use proptest::prelude::*;
use trust::chain::{
    ChainWriter, Place, Report, SignError, SignatureVerifier, Signer, Tamper, Verdict, sha256_hex,
    verify,
};
use trust::{AuditAction, AuditRecord, Identity, Role};

/// A keyed hash standing in for a signature.
struct ToyKey(String);

impl ToyKey {
    fn mac(&self, message: &[u8]) -> Vec<u8> {
        sha256_hex(&[self.0.as_bytes(), message].concat()).into_bytes()
    }
}

impl Signer for ToyKey {
    fn key_id(&self) -> &str {
        &self.0
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

/// One written line: its bytes and the entry it holds, if it is one.
#[derive(Debug)]
struct Line {
    bytes: Vec<u8>,
    seq: Option<u64>,
}

fn arb_record() -> impl Strategy<Value = AuditRecord> {
    (
        any::<i64>(),
        proptest::option::of(".{0,12}"),
        0..8usize,
        ".{0,24}",
        ".{0,24}",
    )
        .prop_map(|(at_us, actor, action, subject, outcome)| {
            let action = [
                AuditAction::Started,
                AuditAction::Admission,
                AuditAction::Disconnected,
                AuditAction::Request,
                AuditAction::Transition,
                AuditAction::Control,
                AuditAction::Configuration,
                AuditAction::Stopped,
            ][action];
            let actor = actor.map(|name| Identity::simulated(&name, Role::parse(&name)));
            AuditRecord::new(at_us, actor.as_ref(), action, subject, outcome)
        })
}

/// A closed log: records, a checkpoint every `every` entries, a closing checkpoint.
fn arb_log() -> impl Strategy<Value = Vec<Line>> {
    (proptest::collection::vec(arb_record(), 1..10), 1..5u64).prop_map(|(records, every)| {
        let key = ToyKey("station".into());
        let (mut writer, header) = ChainWriter::start("station", 7, key.key_id(), "PEM").unwrap();
        let mut lines = vec![Line {
            bytes: header,
            seq: None,
        }];
        for (i, record) in records.into_iter().enumerate() {
            let seq = Some(writer.entries());
            let bytes = writer.entry(i as i64, record).unwrap();
            lines.push(Line { bytes, seq });
            if writer.entries() % every == 0 {
                let bytes = writer.checkpoint(&key, false).unwrap();
                lines.push(Line { bytes, seq: None });
            }
        }
        let bytes = writer.checkpoint(&key, true).unwrap();
        lines.push(Line { bytes, seq: None });
        lines
    })
}

fn join<'a>(lines: impl IntoIterator<Item = &'a Vec<u8>>) -> Vec<u8> {
    lines.into_iter().flatten().copied().collect()
}

fn check(bytes: &[u8]) -> Report {
    verify(bytes, &ToyKey("station".into()))
}

fn tampered(report: &Report) -> Option<&Tamper> {
    match &report.verdict {
        Verdict::Tampered(tamper) => Some(tamper),
        _ => None,
    }
}

/// Indexes of the lines that hold entries.
fn entry_lines(lines: &[Line]) -> Vec<usize> {
    (0..lines.len())
        .filter(|&i| lines[i].seq.is_some())
        .collect()
}

proptest! {
    #[test]
    fn a_written_log_verifies(lines in arb_log()) {
        let report = check(&join(lines.iter().map(|l| &l.bytes)));
        prop_assert_eq!(&report.verdict, &Verdict::Intact);
        prop_assert!(report.closed);
        prop_assert_eq!(report.unsigned_tail(), 0);
        prop_assert_eq!(report.entries as usize, entry_lines(&lines).len());
    }

    #[test]
    fn any_one_byte_edit_is_named_at_its_line(
        lines in arb_log(),
        at in any::<prop::sample::Index>(),
        delta in 1..=255u8,
    ) {
        let mut bytes = join(lines.iter().map(|l| &l.bytes));
        let at = at.index(bytes.len());
        bytes[at] = bytes[at].wrapping_add(delta);
        let report = check(&bytes);
        let tamper = tampered(&report);
        prop_assert!(tamper.is_some(), "edit at byte {} not found: {:?}", at, report.verdict);
        let tamper = tamper.unwrap();
        // The line holding the byte (its newline included).
        let mut start = 0;
        let index = lines.iter().position(|l| { start += l.bytes.len(); at < start }).unwrap();
        prop_assert_eq!(tamper.line, index + 1, "{}", tamper);
        if let Place::Entry { seq } = tamper.place {
            prop_assert_eq!(Some(seq), lines[index].seq, "{}", tamper);
        }
    }

    #[test]
    fn a_deleted_entry_is_found(lines in arb_log(), pick in any::<prop::sample::Index>()) {
        let entries = entry_lines(&lines);
        let gone = entries[pick.index(entries.len())];
        let bytes = join(lines.iter().enumerate().filter(|(i, _)| *i != gone).map(|(_, l)| &l.bytes));
        let report = check(&bytes);
        prop_assert!(tampered(&report).is_some(), "{:?}", report);
        prop_assert_eq!(tampered(&report).unwrap().line, gone + 1);
    }

    #[test]
    fn an_inserted_entry_is_found(
        lines in arb_log(),
        pick in any::<prop::sample::Index>(),
        to in any::<prop::sample::Index>(),
    ) {
        let entries = entry_lines(&lines);
        let copy = &lines[entries[pick.index(entries.len())]].bytes;
        // Anywhere after the header.
        let to = 1 + to.index(lines.len());
        let mut all: Vec<&Vec<u8>> = lines.iter().map(|l| &l.bytes).collect();
        all.insert(to, copy);
        let report = check(&join(all));
        prop_assert!(tampered(&report).is_some(), "{:?}", report);
    }

    #[test]
    fn reordered_entries_are_found(
        lines in arb_log(),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let entries = entry_lines(&lines);
        prop_assume!(entries.len() >= 2);
        let first = a.index(entries.len());
        // Any other entry.
        let second = (first + 1 + b.index(entries.len() - 1)) % entries.len();
        let (a, b) = (entries[first], entries[second]);
        let mut all: Vec<&Vec<u8>> = lines.iter().map(|l| &l.bytes).collect();
        all.swap(a, b);
        let report = check(&join(all));
        prop_assert!(tampered(&report).is_some(), "{:?}", report);
        prop_assert_eq!(tampered(&report).unwrap().line, a.min(b) + 1);
    }

    #[test]
    fn a_file_cut_anywhere_is_never_tampering(
        lines in arb_log(),
        at in any::<prop::sample::Index>(),
    ) {
        let bytes = join(lines.iter().map(|l| &l.bytes));
        let cut = at.index(bytes.len());
        let report = check(&bytes[..cut]);
        let tail_start = bytes[..cut].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        prop_assert!(
            !report.is_tampered(),
            "cut at {}: {:?}: {:?}",
            cut,
            report.verdict,
            String::from_utf8_lossy(&bytes[tail_start..cut])
        );
        let at_boundary = cut == 0 || bytes[cut - 1] == b'\n' || bytes[cut] == b'\n';
        if !at_boundary {
            prop_assert!(
                matches!(report.verdict, Verdict::TruncatedTail { .. }),
                "cut at {}: {:?}", cut, report.verdict
            );
        }
    }
}
