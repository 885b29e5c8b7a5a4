//! The role's key and certificate as the audit log uses them: a signer over the role's ECDSA
//! P-256 PKCS#8 key (the kind `medlink pki` makes), a verifier over the public key in a
//! certificate, and the check that a certificate was issued by the site's CA.

use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde::Serialize;
use std::fmt;
use trust::chain::{SignError, SignatureVerifier, Signer, sha256_hex};
use trust::identity::ROLE_URI_PREFIX;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::{OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY};

/// Why a key or a certificate cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProblem(pub String);

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn problem(why: impl Into<String>) -> KeyProblem {
    KeyProblem(why.into())
}

/// Signs checkpoints with the role's own key.
pub struct PemSigner {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    key_id: String,
    cert_pem: String,
}

impl PemSigner {
    /// The key (PKCS#8 PEM) and its certificate (PEM; the first certificate is the signer's).
    /// Refuses a key that is not ECDSA P-256 or that does not match the certificate.
    pub fn from_pem(key_pem: &[u8], cert_pem: &str) -> Result<Self, KeyProblem> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(key_pem)
            .map_err(|e| problem(format!("no PKCS#8 private key in the PEM ({e})")))?;
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            der.secret_pkcs8_der(),
            &rng,
        )
        .map_err(|e| problem(format!("not an ECDSA P-256 key ({e})")))?;
        let cert = Certificate::from_pem(cert_pem)?;
        if key.public_key().as_ref() != cert.public_key.as_slice() {
            return Err(problem("the key is not the certificate's"));
        }
        Ok(Self {
            key,
            rng,
            key_id: cert.info.key_id,
            cert_pem: cert_pem.to_string(),
        })
    }

    /// The certificate as given, for the log's header.
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }
}

impl Signer for PemSigner {
    fn key_id(&self) -> &str {
        &self.key_id
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.key
            .sign(&self.rng, message)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|e| SignError(e.to_string()))
    }
}

/// What a certificate says about its holder, for people reading a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// The subject's distinguished name.
    pub subject: String,
    /// The medlink role in its SAN URI, if any.
    pub role: Option<String>,
    /// Serial number, hex with colons.
    pub serial: String,
    /// Hex SHA-256 of the certificate (DER): the key id the log names.
    pub key_id: String,
}

/// A parsed certificate: its holder and its ECDSA P-256 public key.
pub struct Certificate {
    pub info: CertInfo,
    der: Vec<u8>,
    public_key: Vec<u8>,
}

impl Certificate {
    /// The first certificate in `pem`.
    pub fn from_pem(pem: &str) -> Result<Self, KeyProblem> {
        let der = CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| problem(format!("no certificate in the PEM ({e})")))?;
        let der = der.as_ref().to_vec();
        let (info, public_key) = {
            let cert = parse(&der)?;
            let spki = cert.public_key();
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            if spki.algorithm.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY
                || curve.as_ref() != Some(&OID_EC_P256)
            {
                return Err(problem("the certificate's key is not ECDSA P-256"));
            }
            let info = CertInfo {
                subject: cert.subject().to_string(),
                role: role_of(&cert),
                serial: cert.raw_serial_as_string(),
                key_id: sha256_hex(&der),
            };
            (info, spki.subject_public_key.data.to_vec())
        };
        Ok(Self {
            info,
            der,
            public_key,
        })
    }

    /// Checks that this certificate was issued (and signed) by `ca`, a CA certificate.
    pub fn check_issued_by(&self, ca: &Certificate) -> Result<(), KeyProblem> {
        let cert = parse(&self.der)?;
        let ca_cert = parse(&ca.der)?;
        if !ca_cert.is_ca() {
            return Err(problem(format!("{} is not a CA", ca.info.subject)));
        }
        if cert.issuer() != ca_cert.subject() {
            return Err(problem(format!(
                "issued by {}, not by {}",
                cert.issuer(),
                ca.info.subject
            )));
        }
        cert.verify_signature(Some(ca_cert.public_key()))
            .map_err(|e| problem(format!("its signature is not {}'s ({e})", ca.info.subject)))
    }

    /// A verifier of signatures made with this certificate's key.
    pub fn verifier(&self) -> CertVerifier {
        CertVerifier {
            public_key: self.public_key.clone(),
        }
    }
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, KeyProblem> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|e| problem(format!("not an X.509 certificate ({e})")))
}

fn role_of(cert: &X509Certificate) -> Option<String> {
    let san = cert.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|name| match name {
        GeneralName::URI(uri) => uri.strip_prefix(ROLE_URI_PREFIX).map(str::to_string),
        _ => None,
    })
}

/// Checks checkpoint signatures against a certificate's ECDSA P-256 public key.
pub struct CertVerifier {
    public_key: Vec<u8>,
}

impl SignatureVerifier for CertVerifier {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &self.public_key)
            .verify(message, signature)
            .is_ok()
    }
}
