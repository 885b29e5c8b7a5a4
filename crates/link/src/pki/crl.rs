//! Revocation: `revoke` adds a certificate to the CA's revocation list (`ca.crl`, PEM, an X.509
//! CRL signed by the CA), keeping every earlier entry and numbering each list one above the last;
//! `read_crl` parses a list back (for the station, for the next `revoke`, for `pki list`).

use super::ca::{self, CA_CERT, CRL_FILE};
use super::{PkiError, files};
use crate::peer::{self, CertSummary};
use rcgen::{
    CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber,
};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer};
use std::path::{Path, PathBuf};
use x509_parser::prelude::FromDer;

/// How far ahead each list says the next one is due. medlink's station does not enforce it (the
/// file it reads is the authority, whatever its age); other readers of the list may.
const NEXT_UPDATE_DAYS: i64 = 365;

/// The reasons `revoke` takes, by their RFC 5280 names.
const REASONS: [(RevocationReason, &str); 9] = [
    (RevocationReason::Unspecified, "unspecified"),
    (RevocationReason::KeyCompromise, "keyCompromise"),
    (RevocationReason::CaCompromise, "cACompromise"),
    (RevocationReason::AffiliationChanged, "affiliationChanged"),
    (RevocationReason::Superseded, "superseded"),
    (
        RevocationReason::CessationOfOperation,
        "cessationOfOperation",
    ),
    (RevocationReason::CertificateHold, "certificateHold"),
    (RevocationReason::PrivilegeWithdrawn, "privilegeWithdrawn"),
    (RevocationReason::AaCompromise, "aACompromise"),
];

/// A reason by its RFC 5280 name, case and '-'/'_' ignored ("keyCompromise", "key-compromise").
pub fn parse_reason(name: &str) -> Option<RevocationReason> {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let wanted = squash(name);
    REASONS
        .iter()
        .find(|(_, known)| squash(known) == wanted)
        .map(|(reason, _)| *reason)
}

/// The RFC 5280 name of a reason.
pub fn reason_name(reason: RevocationReason) -> &'static str {
    REASONS
        .iter()
        .find(|(known, _)| *known == reason)
        .map(|(_, name)| *name)
        .unwrap_or("removeFromCRL")
}

/// One certificate in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The certificate's serial, hex (as [`trust::Identity::serial`]).
    pub serial: String,
    /// When it was revoked, seconds since the Unix epoch.
    pub revoked_at: i64,
    pub reason: Option<RevocationReason>,
}

impl RevokedEntry {
    pub fn reason_name(&self) -> &'static str {
        self.reason.map(reason_name).unwrap_or("unspecified")
    }
}

/// A parsed revocation list.
#[derive(Debug, Clone)]
pub struct CrlContents {
    /// The CRL number: each list `revoke` writes is one above the one it replaces.
    pub number: u64,
    pub entries: Vec<RevokedEntry>,
    pub der: CertificateRevocationListDer<'static>,
}

/// What `revoke` did.
#[derive(Debug, Clone)]
pub struct CrlUpdate {
    pub crl: PathBuf,
    pub number: u64,
    pub entry: RevokedEntry,
    /// The certificate was already in the list (the list is rewritten, the entry kept as it was).
    pub already_revoked: bool,
    /// Who the certificate names, when `revoke` was given the certificate itself.
    pub holder: Option<CertSummary>,
}

/// Revokes the certificate in `cert_path` (which must have been issued by the CA in `ca_dir`).
pub fn revoke(
    ca_dir: &Path,
    passphrase: Option<&str>,
    cert_path: &Path,
    reason: RevocationReason,
    now: i64,
) -> Result<CrlUpdate, PkiError> {
    let cert = first_cert(cert_path)?;
    let ca_path = ca_dir.join(CA_CERT);
    let ca_cert = first_cert(&ca_path)?;
    if !peer::signed_by(&cert, &ca_cert) {
        return Err(PkiError::ForeignCertificate {
            path: cert_path.to_owned(),
            ca: ca_path,
        });
    }
    let holder = peer::summarize(&cert);
    let serial = holder.serial.clone().ok_or_else(|| PkiError::BadPem {
        path: cert_path.to_owned(),
        detail: "unreadable certificate".into(),
    })?;
    let mut update = revoke_serial(ca_dir, passphrase, &serial, reason, now)?;
    update.holder = Some(holder);
    Ok(update)
}

/// Revokes the certificate with `serial` (hex, ':' separators allowed), for when the certificate
/// itself is lost.
pub fn revoke_serial(
    ca_dir: &Path,
    passphrase: Option<&str>,
    serial: &str,
    reason: RevocationReason,
    now: i64,
) -> Result<CrlUpdate, PkiError> {
    let serial = peer::normalize_serial(serial)
        .ok_or_else(|| PkiError::BadRequest(format!("serial {serial:?} is not hex")))?;
    let ca = ca::load(ca_dir, passphrase)?;
    let path = ca_dir.join(CRL_FILE);
    let previous = read_crl(&path)?;
    let number = previous.as_ref().map_or(0, |crl| crl.number) + 1;
    let mut entries = previous.map(|crl| crl.entries).unwrap_or_default();
    let already = entries.iter().find(|entry| entry.serial == serial).cloned();
    let entry = already.clone().unwrap_or_else(|| RevokedEntry {
        serial: serial.clone(),
        revoked_at: now,
        reason: Some(reason),
    });
    if already.is_none() {
        entries.push(entry.clone());
    }
    let params = CertificateRevocationListParams {
        this_update: ca::datetime(now)?,
        next_update: ca::datetime(now + NEXT_UPDATE_DAYS * 86_400)?,
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs: entries
            .iter()
            .map(|entry| {
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(
                        &peer::unhex(&entry.serial).ok_or_else(|| {
                            PkiError::BadRequest(format!("serial {} is not hex", entry.serial))
                        })?,
                    ),
                    revocation_time: ca::datetime(entry.revoked_at)?,
                    reason_code: entry.reason,
                    invalidity_date: None,
                })
            })
            .collect::<Result<_, PkiError>>()?,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&ca.issuer)?;
    files::write(&path, crl.pem()?.as_bytes(), false)?;
    Ok(CrlUpdate {
        crl: path,
        number,
        entry,
        already_revoked: already.is_some(),
        holder: None,
    })
}

/// The list in `path` (PEM or DER), or `None` when there is no file (nothing revoked yet).
pub fn read_crl(path: &Path) -> Result<Option<CrlContents>, PkiError> {
    match std::fs::read(path) {
        Ok(bytes) => parse(path, &bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PkiError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Parses a list read from `path`; with `signers`, also checks it is signed by one of them.
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<CrlContents, PkiError> {
    let bad = |detail: String| PkiError::BadCrl {
        path: path.to_owned(),
        detail,
    };
    let der = if bytes.starts_with(b"-----") {
        rustls_pemfile::crls(&mut &bytes[..])
            .next()
            .ok_or_else(|| bad("no X509 CRL block in the PEM file".into()))?
            .map_err(|e| bad(format!("malformed PEM: {e}")))?
    } else {
        CertificateRevocationListDer::from(bytes.to_vec())
    };
    let (_, crl) = x509_parser::revocation_list::CertificateRevocationList::from_der(&der)
        .map_err(|e| bad(format!("malformed CRL: {e}")))?;
    let number = match crl.crl_number() {
        None => 0,
        Some(number) => {
            let bytes = number.to_bytes_be();
            if bytes.len() > 8 {
                return Err(bad("CRL number beyond 64 bits".into()));
            }
            bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b))
        }
    };
    let entries = crl
        .iter_revoked_certificates()
        .map(|revoked| RevokedEntry {
            serial: peer::serial_hex(revoked.raw_serial()),
            revoked_at: revoked.revocation_date.timestamp(),
            reason: revoked
                .reason_code()
                .and_then(|(_, code)| reason_from_code(code.0)),
        })
        .collect();
    Ok(CrlContents {
        number,
        entries,
        der: CertificateRevocationListDer::from(der.to_vec()),
    })
}

/// Is the list in `der` signed by the CA in `ca_cert`?
pub(crate) fn crl_signed_by(der: &[u8], ca_cert: &CertificateDer<'_>) -> bool {
    let Ok((_, crl)) = x509_parser::revocation_list::CertificateRevocationList::from_der(der)
    else {
        return false;
    };
    let Ok((_, ca)) = x509_parser::parse_x509_certificate(ca_cert) else {
        return false;
    };
    crl.issuer() == ca.subject() && crl.verify_signature(ca.public_key()).is_ok()
}

fn reason_from_code(code: u8) -> Option<RevocationReason> {
    REASONS
        .iter()
        .map(|(reason, _)| *reason)
        .find(|reason| *reason as u8 == code)
}

fn first_cert(path: &Path) -> Result<CertificateDer<'static>, PkiError> {
    files::read_certs(path)?
        .into_iter()
        .next()
        .ok_or_else(|| PkiError::NoCertificate {
            path: path.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_parse_by_their_rfc_names_and_codes() {
        for (reason, name) in REASONS {
            assert_eq!(parse_reason(name), Some(reason));
            assert_eq!(reason_name(reason), name);
            assert_eq!(reason_from_code(reason as u8), Some(reason));
        }
        assert_eq!(
            parse_reason("key-compromise"),
            Some(RevocationReason::KeyCompromise)
        );
        assert_eq!(parse_reason("stolen"), None);
    }

    #[test]
    fn garbage_is_not_a_list() {
        let err = parse(
            Path::new("ca.crl"),
            b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("ca.crl"), "{err}");
        assert!(parse(Path::new("ca.crl"), b"\x30\x03\x02\x01\x01").is_err());
    }
}
