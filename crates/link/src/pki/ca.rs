//! The site's CA on disk: its certificate, its key (mode 0600; under a passphrase it is a PKCS#8
//! `ENCRYPTED PRIVATE KEY`, PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, which OpenSSL reads too),
//! and loading both to sign certificates and revocation lists.

use super::{PkiError, files};
use pkcs8::pkcs5::pbes2;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use ring::rand::{SecureRandom, SystemRandom};
use std::path::Path;

/// The CA certificate, in every PKI directory and beside every issued certificate.
pub const CA_CERT: &str = "ca.crt";
/// The CA's private key; only in the CA's directory.
pub const CA_KEY: &str = "ca.key";
/// The CA's certificate revocation list (PEM), written by `revoke`, read by the station.
pub const CRL_FILE: &str = "ca.crl";
/// One line per certificate the CA issued (serial, role, validity, name), for `pki list`.
pub const ISSUED_LOG: &str = "issued.tsv";

/// PBKDF2-HMAC-SHA256 rounds that turn the passphrase into the key's AES key (OWASP, 2023).
const PBKDF2_ROUNDS: u32 = 600_000;
/// How long a CA lives.
const CA_DAYS: i64 = 10 * 365;

/// A CA ready to sign.
pub(crate) struct Ca {
    pub issuer: Issuer<'static, KeyPair>,
    pub cert_pem: String,
}

/// Makes a new CA valid from `now` (minus a day of slack for clocks behind ours) for ten years,
/// named with a random suffix so two sites' CAs never share a name.
pub(crate) fn generate(now: i64) -> Result<Ca, PkiError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let tag = random_bytes::<4>()?;
    params.distinguished_name.push(
        DnType::CommonName,
        format!("medlink CA {}", crate::peer::hex(&tag)),
    );
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&random_serial()?));
    params.not_before = datetime(now - 86_400)?;
    params.not_after = datetime(now + CA_DAYS * 86_400)?;
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok(Ca {
        cert_pem: cert.pem(),
        issuer: Issuer::new(params, key),
    })
}

/// Loads the CA in `dir` to sign with: `ca.crt` and `ca.key` (decrypted with `passphrase` if it
/// is encrypted).
pub(crate) fn load(dir: &Path, passphrase: Option<&str>) -> Result<Ca, PkiError> {
    let cert_path = dir.join(CA_CERT);
    let key_path = dir.join(CA_KEY);
    let cert_der = files::read_certs(&cert_path)?
        .into_iter()
        .next()
        .ok_or_else(|| PkiError::NoCertificate {
            path: cert_path.clone(),
        })?;
    if !key_path.exists() {
        return Err(PkiError::NoCaKey(key_path));
    }
    let key_pem = String::from_utf8(files::read(&key_path)?).map_err(|_| PkiError::BadKey {
        path: key_path.clone(),
        detail: "not a PEM file".into(),
    })?;
    let key = read_key(&key_path, &key_pem, passphrase)?;
    let issuer = Issuer::from_ca_cert_der(&cert_der, key).map_err(|e| PkiError::BadPem {
        path: cert_path.clone(),
        detail: e.to_string(),
    })?;
    let cert_pem = String::from_utf8(files::read(&cert_path)?).map_err(|_| PkiError::BadPem {
        path: cert_path,
        detail: "not UTF-8".into(),
    })?;
    Ok(Ca { issuer, cert_pem })
}

/// The key as PEM: plain PKCS#8, or encrypted PKCS#8 under `passphrase`.
pub(crate) fn key_pem(key: &KeyPair, passphrase: Option<&str>) -> Result<String, PkiError> {
    let Some(passphrase) = passphrase else {
        return Ok(key.serialize_pem());
    };
    if passphrase.is_empty() {
        return Err(PkiError::EmptyPassphrase);
    }
    let encrypt = |detail: String| PkiError::Tls(format!("encrypting the CA key: {detail}"));
    let der = key.serialize_der();
    let info =
        pkcs8::PrivateKeyInfo::try_from(der.as_slice()).map_err(|e| encrypt(e.to_string()))?;
    let salt = random_bytes::<16>()?;
    let iv = random_bytes::<16>()?;
    let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ROUNDS, &salt, &iv)
        .map_err(|e| encrypt(e.to_string()))?;
    let document = info
        .encrypt_with_params(params, passphrase.as_bytes())
        .map_err(|e| encrypt(e.to_string()))?;
    let pem = document
        .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
        .map_err(|e| encrypt(e.to_string()))?;
    Ok(pem.to_string())
}

/// Reads a key written by [`key_pem`].
pub(crate) fn read_key(
    path: &Path,
    pem: &str,
    passphrase: Option<&str>,
) -> Result<KeyPair, PkiError> {
    let bad = |detail: String| PkiError::BadKey {
        path: path.to_owned(),
        detail,
    };
    let (label, document) =
        pkcs8::SecretDocument::from_pem(pem).map_err(|e| bad(format!("malformed PEM: {e}")))?;
    match label {
        "PRIVATE KEY" => KeyPair::try_from(document.as_bytes()).map_err(|e| bad(e.to_string())),
        "ENCRYPTED PRIVATE KEY" => {
            let passphrase = passphrase.ok_or_else(|| PkiError::NeedPassphrase {
                path: path.to_owned(),
            })?;
            let wrong = || PkiError::WrongPassphrase {
                path: path.to_owned(),
            };
            let encrypted: pkcs8::EncryptedPrivateKeyInfo<'_> =
                document.decode_msg().map_err(|e| bad(e.to_string()))?;
            let plain = encrypted
                .decrypt(passphrase.as_bytes())
                .map_err(|_| wrong())?;
            KeyPair::try_from(plain.as_bytes()).map_err(|_| wrong())
        }
        other => Err(bad(format!("a {other} block, not a PKCS#8 private key"))),
    }
}

/// `secs` since the Unix epoch as a certificate time.
pub(crate) fn datetime(secs: i64) -> Result<time::OffsetDateTime, PkiError> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| PkiError::BadRequest(format!("time {secs} out of range: {e}")))
}

/// A random positive serial of 16 bytes whose first byte is never zero (so its hex form is the
/// same however a reader trims it).
pub(crate) fn random_serial() -> Result<[u8; 16], PkiError> {
    let mut serial = random_bytes::<16>()?;
    serial[0] = (serial[0] & 0x3f) | 0x40;
    Ok(serial)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], PkiError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Tls("the system's random source failed".into()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encrypted_key_needs_its_passphrase() {
        let key = KeyPair::generate().unwrap();
        let pem = key_pem(&key, Some("correct horse")).unwrap();
        assert!(
            pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{pem}"
        );
        let path = Path::new("ca.key");
        let back = read_key(path, &pem, Some("correct horse")).unwrap();
        assert_eq!(back.public_key_raw(), key.public_key_raw());
        assert!(matches!(
            read_key(path, &pem, None),
            Err(PkiError::NeedPassphrase { .. })
        ));
        assert!(matches!(
            read_key(path, &pem, Some("wrong horse")),
            Err(PkiError::WrongPassphrase { .. })
        ));
        assert!(matches!(
            key_pem(&key, Some("")),
            Err(PkiError::EmptyPassphrase)
        ));
    }

    #[test]
    fn a_plain_key_reads_with_or_without_a_passphrase() {
        let key = KeyPair::generate().unwrap();
        let pem = key_pem(&key, None).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        for passphrase in [None, Some("unused")] {
            let back = read_key(Path::new("ca.key"), &pem, passphrase).unwrap();
            assert_eq!(back.public_key_raw(), key.public_key_raw());
        }
    }

    #[test]
    fn serials_are_positive_and_never_start_with_a_zero_byte() {
        for _ in 0..64 {
            let serial = random_serial().unwrap();
            assert!(serial[0] >= 0x40 && serial[0] < 0x80, "{serial:?}");
        }
    }
}
