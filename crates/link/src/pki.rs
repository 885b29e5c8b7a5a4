//! medlink's PKI: one CA per site that keeps its key (mode 0600, optionally under a passphrase),
//! issues certificates per person and per device with the holder's role in a SAN URI
//! (`urn:medlink:role:<role>`), and revokes them in a CRL; and loading a holder's files with
//! clear errors.

mod ca;
mod crl;
pub(crate) mod files;
mod init;
mod issue;
mod register;

pub use ca::{CA_CERT, CA_KEY, CRL_FILE, ISSUED_LOG};
pub use crl::{
    CrlContents, CrlUpdate, RevokedEntry, parse_reason, read_crl, reason_name, revoke,
    revoke_serial,
};
pub(crate) use crl::{crl_signed_by, parse as crl_parse};
pub use init::{DEMO_STATION, DEMO_SURGEON, INIT_DAYS, PkiFiles, init, init_with};
pub use issue::{Issued, LeafRequest, MAX_DAYS, NOT_BEFORE_SLACK_S, issue, slug};
pub use rcgen::RevocationReason;
pub use register::{ListedCertificate, list};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no certificate in the PEM file")]
    NoCertificate { path: PathBuf },
    #[error("{path}: no private key in the PEM file")]
    NoKey { path: PathBuf },
    #[error("{path}: malformed PEM: {detail}")]
    BadPem { path: PathBuf, detail: String },
    #[error("{0} already exists; pass --force to overwrite the PKI")]
    Exists(PathBuf),
    #[error("{0} already exists; pass --force to replace it")]
    LeafExists(PathBuf),
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("{0} not found: this PKI was made before CA keys were kept; run pki init --force")]
    NoCaKey(PathBuf),
    #[error("{path} is encrypted: give its passphrase (--passphrase-file)")]
    NeedPassphrase { path: PathBuf },
    #[error("{path}: wrong passphrase, or the key is damaged")]
    WrongPassphrase { path: PathBuf },
    #[error("an empty passphrase protects nothing; leave it out or give one")]
    EmptyPassphrase,
    #[error("{path}: {detail}")]
    BadKey { path: PathBuf, detail: String },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("certificate {name} carries no medlink role (a SAN URI urn:medlink:role:<role>)")]
    NoRole { name: String },
    #[error("certificate {name} carries more than one medlink role")]
    SeveralRoles { name: String },
    #[error("malformed certificate: {0}")]
    BadCertificate(String),
    #[error("the peer presented no certificate")]
    NoPeerCertificate,
    #[error("{path}: {detail}")]
    BadCrl { path: PathBuf, detail: String },
    #[error("{path}: not issued by this CA ({ca})")]
    ForeignCertificate { path: PathBuf, ca: PathBuf },
    #[error("{path}: malformed line {line}: {detail}")]
    BadRegister {
        path: PathBuf,
        line: usize,
        detail: String,
    },
}

/// Where a role's files live: the CA certificate it trusts, and its own certificate and key.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PkiPaths {
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl PkiPaths {
    /// The layout `medlink pki init` writes for `role` ("station" or "console") under `dir`, and
    /// `medlink pki issue` for a holder whose file stem ([`slug`]) is `role`.
    pub fn in_dir(dir: &Path, role: &str) -> Self {
        Self {
            ca_cert: dir.join(CA_CERT),
            cert: dir.join(format!("{role}.crt")),
            key: dir.join(format!("{role}.key")),
        }
    }
}

/// A loaded certificate chain, private key and trusted CA, and where the CA's revocation list is
/// (beside the CA certificate: `ca.crl`; absent until something is revoked).
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub roots: rustls::RootCertStore,
    /// The CA certificates behind `roots`, which the revocation list must be signed by.
    pub ca_certs: Vec<CertificateDer<'static>>,
    pub crl: PathBuf,
}

impl Identity {
    pub fn load(paths: &PkiPaths) -> Result<Self, PkiError> {
        let chain = files::read_certs(&paths.cert)?;
        let key_pem = files::read(&paths.key)?;
        let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
            .map_err(|e| PkiError::BadPem {
                path: paths.key.clone(),
                detail: e.to_string(),
            })?
            .ok_or_else(|| PkiError::NoKey {
                path: paths.key.clone(),
            })?;
        let ca_certs = files::read_certs(&paths.ca_cert)?;
        let mut roots = rustls::RootCertStore::empty();
        for ca in &ca_certs {
            roots.add(ca.clone()).map_err(|e| PkiError::BadPem {
                path: paths.ca_cert.clone(),
                detail: e.to_string(),
            })?;
        }
        Ok(Self {
            chain,
            key,
            roots,
            ca_certs,
            crl: paths.ca_cert.with_file_name(CRL_FILE),
        })
    }
}

/// Seconds since the Unix epoch, now (what `issue` and `revoke` are given by the command line).
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A time as people read it: `2026-03-01 14:05 UTC` (`secs` since the Unix epoch).
pub fn utc(secs: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => format!("{secs} s after 1970"),
    }
}
