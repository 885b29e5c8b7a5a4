//! Why a certificate was refused, in words a person on call understands, and the one log line
//! that names the certificate and the reason.

use crate::peer::CertSummary;
use rustls::{CertificateError, Error};
use std::fmt;
use trust::Role;

/// The reason a peer's certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Expired,
    NotYetValid,
    /// In the CA's revocation list, with the reason given there.
    Revoked {
        reason: String,
    },
    /// Not issued by this site's CA (another CA, or a forged signature).
    UnknownCa,
    /// The certificate is not for this use (a station's server certificate offered by a client).
    WrongKeyUsage,
    /// No medlink role URI in the certificate (or more than one).
    NoRole,
    /// A role that may not act here (a station or a device connecting as a console).
    RoleNotAllowed {
        role: Role,
        wanted: &'static str,
    },
    /// Anything else the TLS library refused, in its words.
    Other(String),
}

impl Refusal {
    /// The reason behind a rustls verification error.
    pub fn from_tls(error: &Error) -> Self {
        match error {
            Error::InvalidCertificate(e) => match e {
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    Refusal::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    Refusal::NotYetValid
                }
                CertificateError::Revoked => Refusal::Revoked {
                    reason: "unspecified".into(),
                },
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    Refusal::UnknownCa
                }
                CertificateError::InvalidPurpose
                | CertificateError::InvalidPurposeContext { .. } => Refusal::WrongKeyUsage,
                other => Refusal::Other(format!("{other:?}")),
            },
            other => Refusal::Other(other.to_string()),
        }
    }

    /// The error handed back to rustls: the library's own `original` for a reason medlink has no
    /// words of its own for, else [`Refusal::to_tls`].
    pub fn into_tls(self, original: Option<Error>) -> Error {
        match (self, original) {
            (Refusal::Other(_), Some(original)) => original,
            (refusal, _) => refusal.to_tls(),
        }
    }

    /// The error handed back to rustls (it picks the TLS alert the peer gets from it).
    pub fn to_tls(&self) -> Error {
        let cert = |e| Error::InvalidCertificate(e);
        match self {
            Refusal::Expired => cert(CertificateError::Expired),
            Refusal::NotYetValid => cert(CertificateError::NotValidYet),
            Refusal::Revoked { .. } => cert(CertificateError::Revoked),
            Refusal::UnknownCa => cert(CertificateError::UnknownIssuer),
            Refusal::WrongKeyUsage => cert(CertificateError::InvalidPurpose),
            Refusal::NoRole | Refusal::RoleNotAllowed { .. } => {
                cert(CertificateError::ApplicationVerificationFailure)
            }
            Refusal::Other(detail) => Error::General(detail.clone()),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Expired => f.write_str("expired"),
            Refusal::NotYetValid => f.write_str("not yet valid"),
            Refusal::Revoked { reason } => write!(f, "revoked ({reason})"),
            Refusal::UnknownCa => {
                f.write_str("not issued by this site's CA (unknown or foreign CA)")
            }
            Refusal::WrongKeyUsage => {
                f.write_str("wrong key usage (a certificate made for another use)")
            }
            Refusal::NoRole => f.write_str("carries no medlink role"),
            Refusal::RoleNotAllowed { role, wanted } => {
                write!(f, "role {role} may not act as a {wanted}")
            }
            Refusal::Other(detail) => f.write_str(detail),
        }
    }
}

/// The line logged for a refusal: `refused certificate "Dr Li" (role surgeon, serial 4a): expired`.
pub fn refusal_line(certificate: &CertSummary, refusal: &Refusal) -> String {
    format!("refused certificate {certificate}: {refusal}")
}

/// Logs a refusal at WARN, with the certificate's name, role and serial as fields too.
pub fn log_refusal(side: &str, certificate: &CertSummary, refusal: &Refusal) {
    tracing::warn!(
        side,
        name = certificate.name.as_deref().unwrap_or(""),
        role = certificate.role.as_ref().map_or("", Role::name),
        serial = certificate.serial.as_deref().unwrap_or(""),
        reason = %refusal,
        "{}",
        refusal_line(certificate, refusal)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_certificate_and_the_reason() {
        let cert = CertSummary {
            name: Some("Dr Li Wei".into()),
            role: Some(Role::Observer),
            serial: Some("4a0b".into()),
        };
        let refusal = Refusal::Revoked {
            reason: "keyCompromise".into(),
        };
        assert_eq!(
            refusal_line(&cert, &refusal),
            "refused certificate \"Dr Li Wei\" (role observer, serial 4a0b): revoked (keyCompromise)"
        );
        let station = Refusal::RoleNotAllowed {
            role: Role::Station,
            wanted: "console",
        };
        assert!(refusal_line(&cert, &station).ends_with("role station may not act as a console"));
    }

    #[test]
    fn tls_errors_map_to_reasons_and_back() {
        for refusal in [
            Refusal::Expired,
            Refusal::NotYetValid,
            Refusal::UnknownCa,
            Refusal::WrongKeyUsage,
        ] {
            assert_eq!(Refusal::from_tls(&refusal.to_tls()), refusal);
        }
        assert_eq!(
            Refusal::from_tls(&Error::InvalidCertificate(CertificateError::BadSignature)),
            Refusal::UnknownCa
        );
    }
}
