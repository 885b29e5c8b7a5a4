//! A development PKI: one CA that signs a station (server) and a console (client) certificate,
//! written as PEM files; and loading of those files with clear errors.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::fs;
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
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Tls(String),
}

/// Where a role's files live: the CA certificate it trusts, and its own certificate and key.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PkiPaths {
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl PkiPaths {
    /// The layout `medlink pki init` writes for `role` ("station" or "console") under `dir`.
    pub fn in_dir(dir: &Path, role: &str) -> Self {
        Self {
            ca_cert: dir.join("ca.crt"),
            cert: dir.join(format!("{role}.crt")),
            key: dir.join(format!("{role}.key")),
        }
    }
}

/// A loaded certificate chain, private key and trusted CA.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub roots: rustls::RootCertStore,
}

impl Identity {
    pub fn load(paths: &PkiPaths) -> Result<Self, PkiError> {
        let chain = read_certs(&paths.cert)?;
        let key_pem = read(&paths.key)?;
        let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
            .map_err(|e| PkiError::BadPem {
                path: paths.key.clone(),
                detail: e.to_string(),
            })?
            .ok_or_else(|| PkiError::NoKey {
                path: paths.key.clone(),
            })?;
        let mut roots = rustls::RootCertStore::empty();
        for ca in read_certs(&paths.ca_cert)? {
            roots.add(ca).map_err(|e| PkiError::BadPem {
                path: paths.ca_cert.clone(),
                detail: e.to_string(),
            })?;
        }
        Ok(Self { chain, key, roots })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    fs::read(path).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let pem = read(path)?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PkiError::BadPem {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(PkiError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// What `init` wrote.
pub struct PkiFiles {
    pub written: Vec<PathBuf>,
}

/// Creates `dir` with a CA, a station certificate valid for `station_names` (DNS names or IP
/// addresses) and a console certificate. Refuses to overwrite unless `force`.
pub fn init(dir: &Path, station_names: &[String], force: bool) -> Result<PkiFiles, PkiError> {
    let ca_path = dir.join("ca.crt");
    if ca_path.exists() && !force {
        return Err(PkiError::Exists(ca_path));
    }
    fs::create_dir_all(dir).map_err(|source| PkiError::Io {
        path: dir.to_owned(),
        source,
    })?;

    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "medlink development CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut written = Vec::new();
    let mut write = |name: &str, contents: String, private: bool| -> Result<(), PkiError> {
        let path = dir.join(name);
        fs::write(&path, contents).map_err(|source| PkiError::Io {
            path: path.clone(),
            source,
        })?;
        if private {
            restrict_to_owner(&path)?;
        }
        written.push(path);
        Ok(())
    };
    write("ca.crt", ca_cert.pem(), false)?;

    for (role, names, purpose) in [
        (
            "station",
            station_names.to_vec(),
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        (
            "console",
            vec!["medlink-console".to_string()],
            ExtendedKeyUsagePurpose::ClientAuth,
        ),
    ] {
        let mut params = CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(DnType::CommonName, format!("medlink {role}"));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![purpose];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        write(&format!("{role}.crt"), cert.pem(), false)?;
        write(&format!("{role}.key"), key.serialize_pem(), true)?;
    }
    Ok(PkiFiles { written })
}

#[cfg(unix)]
fn restrict_to_owner(path: &Path) -> Result<(), PkiError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(not(unix))]
fn restrict_to_owner(_path: &Path) -> Result<(), PkiError> {
    Ok(())
}
