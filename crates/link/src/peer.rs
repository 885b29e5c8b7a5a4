//! Who a peer is, read from its certificate: the name (CN), the medlink role (the SAN URI
//! `urn:medlink:role:<role>`), the serial and the validity, as a [`trust::Identity`].

use crate::pki::PkiError;
use rustls::pki_types::CertificateDer;
use std::fmt;
use trust::{Identity, Role};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

/// The identity a certificate (DER) states. Refused: a certificate that does not parse, has no
/// CN, or carries no medlink role URI, or more than one.
pub fn identity_of(cert_der: &[u8]) -> Result<Identity, PkiError> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
        .map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    let serial = serial_hex(cert.raw_serial());
    let name = common_name(&cert)
        .ok_or_else(|| PkiError::BadCertificate(format!("serial {serial} has no common name")))?;
    let roles = roles(&cert);
    let role = match roles.as_slice() {
        [] => return Err(PkiError::NoRole { name }),
        [role] => role.clone(),
        _ => return Err(PkiError::SeveralRoles { name }),
    };
    Ok(Identity {
        name,
        role,
        serial,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// The identity of the peer on an established connection (its verified certificate).
pub fn peer_identity(connection: &quinn::Connection) -> Result<Identity, PkiError> {
    let certs = connection
        .peer_identity()
        .and_then(|any| any.downcast::<Vec<CertificateDer<'static>>>().ok())
        .ok_or(PkiError::NoPeerCertificate)?;
    let leaf = certs.first().ok_or(PkiError::NoPeerCertificate)?;
    identity_of(leaf)
}

/// What a certificate says about itself, read leniently, to name it in a log line even when it
/// is refused (no role, unreadable, from another CA: then it is only what it claims).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertSummary {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub serial: Option<String>,
}

/// Reads what it can of a certificate (DER); never fails.
pub fn summarize(cert_der: &[u8]) -> CertSummary {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert_der) else {
        return CertSummary::default();
    };
    CertSummary {
        name: common_name(&cert),
        role: roles(&cert).into_iter().next(),
        serial: Some(serial_hex(cert.raw_serial())),
    }
}

impl fmt::Display for CertSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_none() && self.serial.is_none() {
            return f.write_str("an unreadable certificate");
        }
        let name = self.name.as_deref().unwrap_or("(no name)");
        let role = self.role.as_ref().map_or("no role", Role::name);
        let serial = self.serial.as_deref().unwrap_or("?");
        write!(f, "{name:?} (role {role}, serial {serial})")
    }
}

impl From<&Identity> for CertSummary {
    fn from(identity: &Identity) -> Self {
        Self {
            name: Some(identity.name.clone()),
            role: Some(identity.role.clone()),
            serial: Some(identity.serial.clone()),
        }
    }
}

/// Is `cert` signed by the key of `ca` (and names it as its issuer)?
pub fn signed_by(cert: &CertificateDer<'_>, ca: &CertificateDer<'_>) -> bool {
    let (Ok((_, cert)), Ok((_, ca))) = (
        x509_parser::parse_x509_certificate(cert),
        x509_parser::parse_x509_certificate(ca),
    ) else {
        return false;
    };
    cert.issuer() == ca.subject() && cert.verify_signature(Some(ca.public_key())).is_ok()
}

fn common_name(cert: &X509Certificate<'_>) -> Option<String> {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
}

fn roles(cert: &X509Certificate<'_>) -> Vec<Role> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::URI(uri) => Role::from_uri(uri),
            _ => None,
        })
        .collect()
}

/// Lowercase hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A serial as medlink writes it: lowercase hex of its bytes without leading zero bytes.
pub fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex(&raw[start..])
}

/// A serial as a person may type it ("4A:0B:...", "4a0b...") in medlink's form; `None` if it is
/// not hex.
pub fn normalize_serial(text: &str) -> Option<String> {
    let digits: String = text
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    unhex(&digits).map(|bytes| serial_hex(&bytes))
}

/// The bytes of a hex string (an odd length takes a leading zero); `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let padded = if text.len() % 2 == 1 {
        format!("0{text}")
    } else {
        text.to_string()
    };
    (0..padded.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(padded.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The identity in the first certificate of a PEM file (a bedside team member's certificate).
pub fn identity_of_file(path: &std::path::Path) -> Result<Identity, PkiError> {
    let certs = crate::pki::files::read_certs(path)?;
    match certs.first() {
        Some(cert) => identity_of(cert),
        None => Err(PkiError::NoCertificate {
            path: path.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_have_one_written_form() {
        assert_eq!(serial_hex(&[0, 0x4a, 0x0b]), "4a0b");
        assert_eq!(serial_hex(&[0]), "00");
        assert_eq!(normalize_serial("00:4A:0B").as_deref(), Some("4a0b"));
        assert_eq!(normalize_serial("a0b").as_deref(), Some("0a0b"));
        assert_eq!(normalize_serial("xyz"), None);
        assert_eq!(normalize_serial(""), None);
    }

    #[test]
    fn a_summary_names_what_it_could_read() {
        let summary = CertSummary {
            name: Some("Dr Li".into()),
            role: Some(Role::Observer),
            serial: Some("4a".into()),
        };
        assert_eq!(summary.to_string(), "\"Dr Li\" (role observer, serial 4a)");
        assert_eq!(summarize(b"junk").to_string(), "an unreadable certificate");
    }
}
