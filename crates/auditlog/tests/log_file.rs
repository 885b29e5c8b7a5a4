//! The audit log as a role uses it: records pushed through the writer thread land in a file that
//! verifies against the site's CA; any edit, deletion, insertion or reordering is named; a crash's
//! cut-short tail is reported as such and a restarted writer continues the chain; a log signed
//! under another CA fails when the site's CA is given.

mod common;

use auditlog::{AuditError, AuditLog, AuditOptions, CaCheck, verify_file};
use common::{Pki, entry_line, lines, record};
use std::fs;
use trust::chain::{Place, TamperKind, Verdict};

fn write_log(pki: &Pki, records: u64) -> std::path::PathBuf {
    let options = AuditOptions {
        checkpoint_every: 16,
        ..AuditOptions::default()
    };
    let log = AuditLog::create(&pki.log_path(), &pki.key, &pki.cert, "station", options).unwrap();
    for i in 0..records {
        assert!(log.push(record(i)));
    }
    let summary = log.finish().unwrap();
    assert_eq!(summary.entries, records);
    assert_eq!(summary.written, records);
    assert_eq!(summary.lost, 0);
    summary.path
}

fn tamper_of(report: &auditlog::FileReport) -> &trust::chain::Tamper {
    match &report.chain.verdict {
        Verdict::Tampered(tamper) => tamper,
        other => panic!("expected tampering, got {other:?}"),
    }
}

#[test]
fn a_log_written_through_the_thread_verifies_against_the_ca() {
    let pki = Pki::new("site CA");
    let path = write_log(&pki, 40);
    let report = verify_file(&path, Some(&pki.ca)).unwrap();
    assert!(report.passed(), "{report:#?}");
    assert_eq!(report.chain.verdict, Verdict::Intact);
    assert_eq!(report.chain.entries, 40);
    // After 16 and 32 entries, and the closing one.
    assert_eq!(report.chain.checkpoints, 3);
    assert_eq!(report.chain.unsigned_tail(), 0);
    assert!(report.chain.closed);
    assert_eq!(
        report.ca,
        CaCheck::Issued {
            subject: "CN=site CA".into()
        }
    );
    let signer = report.signer.unwrap();
    assert_eq!(signer.role.as_deref(), Some("station"));
    assert_eq!(report.chain.header.unwrap().role, "station");
}

#[test]
fn a_one_byte_edit_fails_naming_the_entry() {
    let pki = Pki::new("site CA");
    let path = write_log(&pki, 40);
    let mut bytes = fs::read(&path).unwrap();
    let line = entry_line(&bytes, 17);
    let at: usize = lines(&bytes)[..line].iter().map(Vec::len).sum();
    let subject = bytes[at..]
        .windows(9)
        .position(|w| w == b"take over")
        .unwrap();
    bytes[at + subject] = b'm'; // "make over"
    fs::write(&path, &bytes).unwrap();

    let report = verify_file(&path, Some(&pki.ca)).unwrap();
    assert!(!report.passed());
    let tamper = tamper_of(&report);
    assert_eq!(tamper.place, Place::Entry { seq: 17 });
    assert_eq!(tamper.line, line + 1);
    assert_eq!(tamper.kind, TamperKind::HashMismatch);
}

#[test]
fn a_deleted_inserted_or_reordered_entry_fails() {
    let pki = Pki::new("site CA");
    let path = write_log(&pki, 40);
    let bytes = fs::read(&path).unwrap();
    let (five, six) = (entry_line(&bytes, 5), entry_line(&bytes, 6));

    let mut deleted = lines(&bytes);
    deleted.remove(five);
    let mut inserted = lines(&bytes);
    inserted.insert(six, lines(&bytes)[entry_line(&bytes, 30)].clone());
    let mut reordered = lines(&bytes);
    reordered.swap(five, six);

    for (what, edited) in [
        ("deleted", deleted),
        ("inserted", inserted),
        ("reordered", reordered),
    ] {
        fs::write(&path, edited.concat()).unwrap();
        let report = verify_file(&path, Some(&pki.ca)).unwrap();
        assert!(!report.passed(), "{what}");
        assert!(
            matches!(tamper_of(&report).kind, TamperKind::SeqMismatch { .. }),
            "{what}: {:?}",
            report.chain.verdict
        );
    }
}

#[test]
fn a_crash_mid_line_is_a_truncated_tail_and_the_next_run_continues_the_chain() {
    let pki = Pki::new("site CA");
    let path = write_log(&pki, 40);
    let bytes = fs::read(&path).unwrap();
    // The last entry cut half-way, as a crash while writing it leaves it.
    let last = entry_line(&bytes, 39);
    let at: usize = lines(&bytes)[..last].iter().map(Vec::len).sum();
    fs::write(&path, &bytes[..at + 50]).unwrap();

    let report = verify_file(&path, Some(&pki.ca)).unwrap();
    assert!(report.passed(), "a crash is not tampering");
    assert_eq!(
        report.chain.verdict,
        Verdict::TruncatedTail {
            line: last + 1,
            after_seq: Some(38)
        }
    );
    assert_eq!(report.chain.unsigned_tail(), 7, "entries 32..=38");

    let log = AuditLog::append(
        &path,
        &pki.key,
        &pki.cert,
        "station",
        AuditOptions::default(),
    )
    .unwrap();
    assert!(log.push(record(100)));
    let summary = log.finish().unwrap();
    // 39 kept, a note about the crash, the new record.
    assert_eq!(summary.entries, 41);
    let report = verify_file(&path, Some(&pki.ca)).unwrap();
    assert_eq!(report.chain.verdict, Verdict::Intact);
    assert_eq!(report.chain.signed_entries, 41);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("stopped mid-line (a crash)"), "{text}");
}

#[test]
fn a_log_signed_under_another_ca_fails_when_the_site_ca_is_given() {
    let site = Pki::new("site CA");
    let foreign = Pki::new("site CA"); // same name, other key
    let path = write_log(&foreign, 5);

    let report = verify_file(&path, Some(&site.ca)).unwrap();
    assert!(!report.passed());
    assert!(
        matches!(report.ca, CaCheck::NotIssued { .. }),
        "{:?}",
        report.ca
    );
    assert_eq!(
        report.chain.verdict,
        Verdict::Intact,
        "the chain itself holds"
    );

    let unchecked = verify_file(&path, None).unwrap();
    assert!(unchecked.passed());
    assert_eq!(unchecked.ca, CaCheck::NotAsked);
}

#[test]
fn a_rewritten_log_resigned_with_a_foreign_key_fails_with_the_ca() {
    // Mallory rewrites the log with her own key and puts her certificate in the header: the
    // chain and signatures hold, only the CA check tells.
    let site = Pki::new("site CA");
    let mallory = Pki::new("Mallory's CA");
    let path = write_log(&mallory, 5);
    let report = verify_file(&path, Some(&site.ca)).unwrap();
    assert!(!report.passed());
    let CaCheck::NotIssued { why, .. } = &report.ca else {
        panic!("{:?}", report.ca)
    };
    assert!(why.contains("Mallory's CA"), "{why}");
}

#[test]
fn senders_on_several_threads_lose_nothing() {
    let pki = Pki::new("site CA");
    let log = AuditLog::create(
        &pki.log_path(),
        &pki.key,
        &pki.cert,
        "station",
        AuditOptions::default(),
    )
    .unwrap();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let sender = log.sender();
            scope.spawn(move || {
                for i in 0..250 {
                    assert!(sender.push(record(t * 1000 + i)));
                }
            });
        }
    });
    let summary = log.finish().unwrap();
    assert_eq!(summary.entries, 1000);
    let report = verify_file(&summary.path, None).unwrap();
    assert_eq!(report.chain.verdict, Verdict::Intact);
    assert_eq!(report.chain.entries, 1000);
}

#[test]
fn a_dropped_log_is_closed_and_pushes_after_it_are_refused() {
    let pki = Pki::new("site CA");
    let path = pki.log_path();
    let sender = {
        let log = AuditLog::create(
            &path,
            &pki.key,
            &pki.cert,
            "station",
            AuditOptions::default(),
        )
        .unwrap();
        log.push(record(0));
        log.sender()
    };
    assert!(!sender.push(record(1)));
    assert_eq!(sender.refused(), 1);
    let report = verify_file(&path, None).unwrap();
    assert!(report.chain.closed);
    assert_eq!(report.chain.entries, 1);
}

#[test]
fn an_existing_log_is_never_overwritten_and_a_wrong_key_is_named() {
    let pki = Pki::new("site CA");
    let path = write_log(&pki, 1);
    let again = AuditLog::create(
        &path,
        &pki.key,
        &pki.cert,
        "station",
        AuditOptions::default(),
    );
    assert!(matches!(again, Err(AuditError::Exists(_))));

    let other = Pki::new("site CA");
    let fresh = pki.dir.path().join("other.jsonl");
    let mismatched = AuditLog::create(
        &fresh,
        &other.key,
        &pki.cert,
        "station",
        AuditOptions::default(),
    );
    match mismatched {
        Err(AuditError::Key { path, problem }) => {
            assert_eq!(path, other.key);
            assert!(problem.0.contains("not the certificate's"), "{problem}");
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a key that is not the certificate's was accepted"),
    }
    // Continuing a log needs its own signer.
    let resumed = AuditLog::append(
        &path,
        &other.key,
        &other.cert,
        "station",
        AuditOptions::default(),
    );
    assert!(matches!(resumed, Err(AuditError::Resume { .. })));
}
