//! Verifying a log file: the chain and every checkpoint signature against the certificate in
//! its header, and, when the site's CA is given, that this certificate was issued by it (else a
//! forger could sign with a key of their own and put its certificate in the header).

use crate::AuditError;
use crate::keys::{CertInfo, Certificate};
use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};
use trust::chain::{RejectAll, Report, SignatureVerifier, read_header, verify};

/// Whether the signer's certificate comes from the trusted CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "ca", rename_all = "snake_case")]
pub enum CaCheck {
    /// No CA given: signatures were checked only against the certificate in the file.
    NotAsked,
    /// Issued by the trusted CA.
    Issued { subject: String },
    /// Not issued by the trusted CA (or no usable certificate): the signatures prove nothing.
    NotIssued { subject: String, why: String },
    /// The log has no header: nothing was signed.
    NoSigner,
}

/// A log file's verification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    /// The chain's counts and verdict.
    pub chain: Report,
    /// The header's signer, when its certificate can be read.
    pub signer: Option<CertInfo>,
    /// Why the header's certificate cannot check signatures (then every checkpoint fails).
    pub signer_problem: Option<String>,
    pub ca: CaCheck,
}

impl FileReport {
    /// Not tampered with, signed by a usable certificate, issued by the CA when one was given.
    /// (A truncated tail passes: a crash is not tampering.)
    pub fn passed(&self) -> bool {
        !self.chain.is_tampered()
            && self.signer_problem.is_none()
            && !matches!(self.ca, CaCheck::NotIssued { .. })
    }
}

/// Verifies the log at `path`; with `trusted_ca` (a CA certificate, PEM), also checks that the
/// signer's certificate was issued by it. Errors only when a file cannot be read.
pub fn verify_file(path: &Path, trusted_ca: Option<&Path>) -> Result<FileReport, AuditError> {
    let bytes = fs::read(path).map_err(AuditError::io(path))?;
    let ca = match trusted_ca {
        None => None,
        Some(ca_path) => {
            let pem = fs::read_to_string(ca_path).map_err(AuditError::io(ca_path))?;
            let ca = Certificate::from_pem(&pem).map_err(|problem| AuditError::Key {
                path: ca_path.to_owned(),
                problem,
            })?;
            Some(ca)
        }
    };
    Ok(FileReport {
        path: path.to_owned(),
        ..verify_bytes(&bytes, ca.as_ref())
    })
}

/// Verifies a log's bytes (see [`verify_file`]); the report's path is empty.
pub fn verify_bytes(bytes: &[u8], trusted_ca: Option<&Certificate>) -> FileReport {
    let header = read_header(bytes);
    let cert = header.as_ref().map(
        |header| match Certificate::from_pem(&header.signer_cert_pem) {
            Ok(cert) if cert.info.key_id == header.signer => Ok(cert),
            Ok(_) => Err("the header's key id is not its certificate's".to_string()),
            Err(problem) => Err(format!("the header's certificate: {problem}")),
        },
    );
    let ca = match (trusted_ca, &cert) {
        (None, _) => CaCheck::NotAsked,
        (Some(_), None) => CaCheck::NoSigner,
        (Some(ca), Some(Err(why))) => CaCheck::NotIssued {
            subject: ca.info.subject.clone(),
            why: why.clone(),
        },
        (Some(ca), Some(Ok(cert))) => match cert.check_issued_by(ca) {
            Ok(()) => CaCheck::Issued {
                subject: ca.info.subject.clone(),
            },
            Err(problem) => CaCheck::NotIssued {
                subject: ca.info.subject.clone(),
                why: problem.to_string(),
            },
        },
    };
    let (chain, signer, signer_problem) = match cert {
        Some(Ok(cert)) => (
            verify(bytes, &cert.verifier() as &dyn SignatureVerifier),
            Some(cert.info),
            None,
        ),
        Some(Err(why)) => (verify(bytes, &RejectAll), None, Some(why)),
        None => (verify(bytes, &RejectAll), None, None),
    };
    FileReport {
        path: PathBuf::new(),
        chain,
        signer,
        signer_problem,
        ca,
    }
}
