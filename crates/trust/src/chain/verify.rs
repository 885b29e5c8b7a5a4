//! Walks a log's bytes line by line and checks the chain: every seal, every `prev`, the entry
//! numbering and every checkpoint's signature and tip. It reports the counts and either that the
//! log is intact, that its tail was cut short (a crash mid-line: not tampering), or the first
//! line that was tampered with, named by its line number and entry.

use super::SignatureVerifier;
use super::line::{
    Body, Entry, FORMAT, Header, Note, SealField, Unreadable, Unsealed, sha256_hex, unseal,
};
use super::report::{Place, Report, Tamper, TamperKind, Verdict};

/// One line as it reads, unverified: for showing a log, tampered or not.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLine {
    /// 1-based.
    pub line: usize,
    /// The body, or why the line cannot be read.
    pub body: Result<Body, String>,
}

/// Every line's body, without checking seals or the chain.
pub fn parse_lines(bytes: &[u8]) -> Vec<ParsedLine> {
    segments(bytes)
        .map(|segment| ParsedLine {
            line: segment.line,
            body: match unseal(segment.bytes) {
                Ok(unsealed) => Ok(unsealed.body),
                Err(Unreadable::NotCanonical) => Err("not spelled as the writer spells it".into()),
                Err(Unreadable::Malformed(why)) if !segment.complete => {
                    Err(format!("cut short ({why})"))
                }
                Err(Unreadable::Malformed(why)) => Err(why),
            },
        })
        .collect()
}

/// The header, when the first line is a header whose hash matches.
pub fn read_header(bytes: &[u8]) -> Option<Header> {
    let first = segments(bytes).next()?;
    match unseal(first.bytes).ok()? {
        unsealed if sha256_hex(&unsealed.bytes) == unsealed.seal_hex => match unsealed.body {
            Body::Header(header) => Some(header),
            _ => None,
        },
        _ => None,
    }
}

/// Checks a whole log; `verifier` checks checkpoint signatures (built by the edge from the
/// header's certificate). Stops at the first problem.
pub fn verify(bytes: &[u8], verifier: &dyn SignatureVerifier) -> Report {
    walk(bytes, verifier).report
}

/// A walk's report and where the chain stands at its end (for a writer that continues it).
pub(crate) struct Walk {
    pub report: Report,
    /// Hash of the last verified line.
    pub tip: Option<String>,
    /// The tip the last valid checkpoint signed.
    pub signed_tip: Option<String>,
    /// Bytes up to the end of the last verified line (its newline included when present).
    pub valid_len: usize,
    /// The last verified line lacks its newline.
    pub needs_newline: bool,
}

struct Segment<'a> {
    line: usize,
    start: usize,
    bytes: &'a [u8],
    /// Followed by a newline.
    complete: bool,
}

fn segments(bytes: &[u8]) -> impl Iterator<Item = Segment<'_>> {
    let mut start = 0;
    let mut line = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        line += 1;
        let rest = &bytes[start..];
        let segment = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => Segment {
                line,
                start,
                bytes: &rest[..end],
                complete: true,
            },
            None => Segment {
                line,
                start,
                bytes: rest,
                complete: false,
            },
        };
        start += segment.bytes.len() + 1;
        Some(segment)
    })
}

/// A line without its newline whose JSON stops mid-way: what a crash leaves. (A cut right after
/// a number's minus sign reads as a bad number, not as the end: it is completed with a digit.)
fn cut_short(segment: &Segment) -> bool {
    let ends_early = |bytes: &[u8]| {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err_and(|e| e.is_eof())
    };
    !segment.complete
        && segment.bytes.first() == Some(&b'{')
        && (ends_early(segment.bytes)
            || segment.bytes.ends_with(b"-") && ends_early(&[segment.bytes, b"0"].concat()))
}

pub(crate) fn walk(bytes: &[u8], verifier: &dyn SignatureVerifier) -> Walk {
    let mut walk = Walk {
        report: Report {
            header: None,
            entries: 0,
            lost: 0,
            checkpoints: 0,
            signed_entries: 0,
            closed: false,
            verdict: Verdict::Intact,
        },
        tip: None,
        signed_tip: None,
        valid_len: 0,
        needs_newline: false,
    };
    let mut saw_any = false;
    for segment in segments(bytes) {
        saw_any = true;
        let checked = match unseal(segment.bytes) {
            Err(Unreadable::Malformed(_)) if cut_short(&segment) => {
                walk.report.verdict = Verdict::TruncatedTail {
                    line: segment.line,
                    after_seq: walk.report.entries.checked_sub(1),
                };
                return walk;
            }
            Err(unreadable) => Err(walk.unreadable(&segment, unreadable)),
            Ok(unsealed) => walk.check(unsealed, verifier),
        };
        if let Err(kind_and_place) = checked {
            let (place, kind) = kind_and_place;
            walk.report.verdict = Verdict::Tampered(Tamper {
                line: segment.line,
                place,
                kind,
            });
            return walk;
        }
        walk.valid_len = segment.start + segment.bytes.len() + usize::from(segment.complete);
        walk.needs_newline = !segment.complete;
    }
    if !saw_any {
        // Not even a header: the writer stopped before its first line.
        walk.report.verdict = Verdict::TruncatedTail {
            line: 1,
            after_seq: None,
        };
    }
    walk
}

type Problem = (Place, TamperKind);

impl Walk {
    fn unreadable(&self, segment: &Segment, unreadable: Unreadable) -> Problem {
        let kind = match unreadable {
            Unreadable::Malformed(why) => TamperKind::Malformed { why },
            Unreadable::NotCanonical => TamperKind::NotCanonical,
        };
        let after_entries = self.report.entries;
        let says = |kind: &str| {
            let needle = format!("\"kind\":\"{kind}\"");
            segment
                .bytes
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
        };
        let place = if self.report.header.is_none() {
            Place::Header
        } else if says("checkpoint") {
            Place::Checkpoint { after_entries }
        } else if says("entry") || says("note") {
            Place::Entry { seq: after_entries }
        } else {
            Place::Line { after_entries }
        };
        (place, kind)
    }

    fn check(
        &mut self,
        unsealed: Unsealed,
        verifier: &dyn SignatureVerifier,
    ) -> Result<(), Problem> {
        let Unsealed {
            bytes,
            body,
            field,
            seal_hex,
            seal,
        } = unsealed;
        let expected = self.report.entries;
        let hash_ok = field == SealField::Hash && sha256_hex(&bytes) == seal_hex;
        let Some(header) = &self.report.header else {
            let Body::Header(header) = body else {
                return Err((Place::Line { after_entries: 0 }, TamperKind::MissingHeader));
            };
            if !hash_ok {
                return Err((Place::Header, TamperKind::HashMismatch));
            }
            if header.format != FORMAT {
                let format = header.format;
                return Err((Place::Header, TamperKind::UnsupportedFormat { format }));
            }
            self.tip = Some(seal_hex);
            self.report.header = Some(header);
            return Ok(());
        };
        let place = Place::Entry { seq: expected };
        match body {
            Body::Header(_) => Err((Place::Header, TamperKind::ExtraHeader)),
            Body::Entry(Entry { seq, prev, .. }) => {
                self.link(place, hash_ok, seq, prev, 0, seal_hex)
            }
            Body::Note(Note {
                seq, prev, lost, ..
            }) => self.link(place, hash_ok, seq, prev, lost, seal_hex),
            Body::Checkpoint(checkpoint) => {
                let place = Place::Checkpoint {
                    after_entries: expected,
                };
                if checkpoint.signer != header.signer {
                    let signer = checkpoint.signer;
                    return Err((place, TamperKind::WrongSigner { signer }));
                }
                if !verifier.verify(&bytes, &seal) {
                    return Err((place, TamperKind::BadSignature));
                }
                if checkpoint.entries != expected || Some(&checkpoint.tip) != self.tip.as_ref() {
                    let signed_entries = checkpoint.entries;
                    return Err((place, TamperKind::CheckpointMismatch { signed_entries }));
                }
                self.signed_tip = Some(checkpoint.tip);
                self.report.checkpoints += 1;
                self.report.signed_entries = expected;
                self.report.closed = checkpoint.closing;
                Ok(())
            }
        }
    }

    /// Checks an entry or a note against the chain and appends it.
    fn link(
        &mut self,
        place: Place,
        hash_ok: bool,
        seq: u64,
        prev: String,
        lost: u64,
        hash: String,
    ) -> Result<(), Problem> {
        let expected = self.report.entries;
        if !hash_ok {
            return Err((place, TamperKind::HashMismatch));
        }
        if seq != expected {
            let found = seq;
            return Err((place, TamperKind::SeqMismatch { expected, found }));
        }
        if Some(&prev) != self.tip.as_ref() {
            return Err((place, TamperKind::PrevMismatch));
        }
        self.tip = Some(hash);
        self.report.entries += 1;
        self.report.lost += lost;
        self.report.closed = false;
        Ok(())
    }
}
