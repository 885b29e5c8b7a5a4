//! `medlink audit verify` and `medlink audit show` as a user runs them, on a log written through
//! `auditlog` with the station's key from `medlink pki init`: a session with a take-over and a
//! handover verifies against the site's CA; one edited byte fails, naming the entry; a tail cut
//! by a crash warns and passes; another site's CA fails.

mod common;

use auditlog::{AuditLog, AuditOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use trust::{AuditAction, AuditRecord, Identity, Role};

fn medlink(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medlink"))
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .expect("medlink runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn pki_init(dir: &Path) -> PathBuf {
    let pki = dir.join("pki");
    let out = medlink(&["pki", "init", "--dir", pki.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    pki
}

/// A station's log of a session: admission, engage, a bedside take-over, a handover back.
fn write_session_log(pki: &Path, path: &Path) {
    let surgeon = Identity::simulated("Dr Li Wei", Role::Surgeon);
    let nurse = Identity::simulated("Nurse Ana Ruiz", Role::Bedside);
    let options = AuditOptions {
        checkpoint_every: 8,
        ..AuditOptions::default()
    };
    let log = AuditLog::create(
        path,
        &pki.join("station.key"),
        &pki.join("station.crt"),
        "station",
        options,
    )
    .unwrap();
    let steps: [(Option<&Identity>, AuditAction, &str, &str); 6] = [
        (
            Some(&surgeon),
            AuditAction::Admission,
            "session 1",
            "admitted: surgeon rule",
        ),
        (Some(&surgeon), AuditAction::Request, "engage", "granted"),
        (Some(&nurse), AuditAction::Control, "take over", "granted"),
        (
            None,
            AuditAction::Transition,
            "ENGAGED -> HOLD",
            "bedside control",
        ),
        (Some(&nurse), AuditAction::Control, "hand back", "offered"),
        (
            Some(&surgeon),
            AuditAction::Control,
            "hand back",
            "accepted",
        ),
    ];
    for i in 0..30 {
        let (actor, action, subject, outcome) = steps[i % steps.len()];
        let record = AuditRecord::new(i as i64 * 250_000, actor, action, subject, outcome);
        assert!(log.push(record));
    }
    assert_eq!(log.finish().unwrap().entries, 30);
}

/// The byte offset of entry `seq`'s line and its 1-based line number.
fn entry_line(bytes: &[u8], seq: u64) -> (usize, usize) {
    let start = format!("{{\"kind\":\"entry\",\"seq\":{seq},");
    let mut offset = 0;
    for (index, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        if line.starts_with(start.as_bytes()) {
            return (offset, index + 1);
        }
        offset += line.len();
    }
    panic!("no entry {seq}")
}

#[test]
fn verify_passes_then_fails_naming_the_entry_after_a_one_byte_edit() {
    let dir = common::temp_dir("audit-edit");
    let pki = pki_init(&dir);
    let log = dir.join("station-audit.jsonl");
    write_session_log(&pki, &log);
    let (log_arg, ca_arg) = (log.to_str().unwrap(), pki.join("ca.crt"));
    let ca_arg = ca_arg.to_str().unwrap();

    let out = medlink(&["audit", "verify", log_arg, "--ca", ca_arg]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("OK: the chain and every checkpoint signature verify"),
        "{said}"
    );
    assert!(
        said.contains("entries: 30, checkpoints: 4, signed through: entry 29"),
        "{said}"
    );
    assert!(said.contains("CA: the signer was issued by"), "{said}");

    let out = medlink(&["audit", "verify", log_arg, "--ca", ca_arg, "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], true, "{report:#}");
    assert_eq!(report["status"], "intact");

    let out = medlink(&["audit", "show", log_arg]);
    assert!(out.status.success(), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("Nurse Ana Ruiz (bedside)"), "{table}");
    assert!(table.contains("take over"), "{table}");
    let out = medlink(&["audit", "show", log_arg, "--json"]);
    let shown: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let entries: Vec<&Value> = shown.iter().filter(|l| l["kind"] == "entry").collect();
    assert_eq!(entries.len(), 30);
    assert_eq!(entries[2]["actor"]["name"], "Nurse Ana Ruiz");
    assert!(entries[2]["wall_time"].as_str().unwrap().ends_with('Z'));
    assert!(shown.iter().all(|l| l["verified"] == true));

    // One byte of entry 17's outcome, the last letter of "accepted".
    let mut bytes = std::fs::read(&log).unwrap();
    let (offset, line) = entry_line(&bytes, 17);
    let outcome = offset
        + bytes[offset..]
            .windows(9)
            .position(|w| w == b"\"outcome\"")
            .unwrap();
    let end = outcome + bytes[outcome..].iter().position(|&b| b == b'}').unwrap();
    bytes[end - 2] ^= 0x01;
    std::fs::write(&log, &bytes).unwrap();

    let out = medlink(&["audit", "verify", log_arg, "--ca", ca_arg]);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains(&format!(
            "TAMPERED: entry 17 (line {line}): hash does not match its contents (edited)"
        )),
        "{said}"
    );
    let out = medlink(&["audit", "show", log_arg, "--json"]);
    assert!(out.status.success(), "show still shows a tampered log");
    let shown: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let verified = shown.iter().filter(|l| l["verified"] == true).count();
    assert_eq!(verified, line - 1, "lines before the edit verify");
}

#[test]
fn a_tail_cut_by_a_crash_warns_and_passes() {
    let dir = common::temp_dir("audit-crash");
    let pki = pki_init(&dir);
    let log = dir.join("station-audit.jsonl");
    write_session_log(&pki, &log);
    let bytes = std::fs::read(&log).unwrap();
    let (offset, _) = entry_line(&bytes, 29);
    std::fs::write(&log, &bytes[..offset + 40]).unwrap();

    let out = medlink(&["audit", "verify", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains(
            "truncated tail after entry 28 (the writer stopped mid-line: a crash, not tampering)"
        ),
        "{said}"
    );
    assert!(said.contains("unsigned tail: 5"), "{said}");
    assert!(said.contains("deleting them would go unseen"), "{said}");
}

#[test]
fn a_log_signed_under_another_sites_ca_fails() {
    let dir = common::temp_dir("audit-foreign");
    let ours = pki_init(&dir.join("ours"));
    let theirs = pki_init(&dir.join("theirs"));
    let log = dir.join("station-audit.jsonl");
    write_session_log(&theirs, &log);
    let ca = ours.join("ca.crt");
    let out = medlink(&[
        "audit",
        "verify",
        log.to_str().unwrap(),
        "--ca",
        ca.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("UNTRUSTED: the signer's certificate was not issued by"),
        "{}",
        text(&out)
    );
}
