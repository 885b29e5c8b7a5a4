//! Test certificates made with rcgen, as `medlink pki` makes them: a CA and a station leaf
//! (ECDSA P-256, role in a SAN URI), written as PEM files in a temporary directory.

#![allow(dead_code)]

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use std::path::PathBuf;
use trust::{AuditAction, AuditRecord, Identity, Role};

pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub key: PathBuf,
    pub cert: PathBuf,
}

impl Pki {
    /// A CA named `ca_name` and a station certificate it signed.
    pub fn new(ca_name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params
            .distinguished_name
            .push(DnType::CommonName, ca_name);
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "medlink station");
        params
            .subject_alt_names
            .push(SanType::URI("urn:medlink:role:station".try_into().unwrap()));
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();

        let pki = Self {
            ca: dir.path().join("ca.crt"),
            key: dir.path().join("station.key"),
            cert: dir.path().join("station.crt"),
            dir,
        };
        std::fs::write(&pki.ca, ca_cert.pem()).unwrap();
        std::fs::write(&pki.key, key.serialize_pem()).unwrap();
        std::fs::write(&pki.cert, cert.pem()).unwrap();
        pki
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("station-audit.jsonl")
    }
}

/// Records of a session with a take-over and a handover.
pub fn record(i: u64) -> AuditRecord {
    let surgeon = Identity::simulated("Dr Li Wei", Role::Surgeon);
    let bedside = Identity::simulated("Nurse Ana Ruiz", Role::Bedside);
    let (actor, action, subject, outcome) = match i % 4 {
        0 => (Some(&surgeon), AuditAction::Request, "engage", "granted"),
        1 => (Some(&bedside), AuditAction::Control, "take over", "granted"),
        2 => (
            Some(&bedside),
            AuditAction::Control,
            "hand back",
            "accepted",
        ),
        _ => (None, AuditAction::Transition, "ENGAGED -> HOLD", "watchdog"),
    };
    AuditRecord::new(
        i as i64 * 1_000,
        actor,
        action,
        format!("{subject} #{i}"),
        outcome,
    )
}

/// The file's lines, each with its newline.
pub fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// The 0-based index of the line holding entry `seq`.
pub fn entry_line(bytes: &[u8], seq: u64) -> usize {
    let start = format!("{{\"kind\":\"entry\",\"seq\":{seq},");
    lines(bytes)
        .iter()
        .position(|l| l.starts_with(start.as_bytes()))
        .unwrap()
}
