//! Issuing a certificate to one person or device: its name as the CN, its role as the SAN URI
//! `urn:medlink:role:<role>`, a random serial, a validity window, and the key usage its role
//! needs (ServerAuth for a station, ClientAuth for everything else).

use super::ca::{self, CA_CERT, Ca};
use super::{PkiError, files, register};
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose, SanType,
    SerialNumber,
};
use std::path::{Path, PathBuf};
use trust::{Identity, Role};

/// Slack before `now` in a new certificate, for a peer whose clock is a little behind ours.
pub const NOT_BEFORE_SLACK_S: i64 = 300;
/// The longest validity `valid_for_days` grants: the CA's own lifetime.
pub const MAX_DAYS: u32 = 3650;
/// The CN's upper bound in X.509 (ub-common-name).
const MAX_NAME_CHARS: usize = 64;

/// What to issue.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafRequest {
    pub role: Role,
    /// The holder: a person ("Dr Li Wei") or a device ("Theatre 3 station").
    pub name: String,
    /// Validity, seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// DNS names or IP addresses a station is reached by (stations only, at least one).
    pub station_names: Vec<String>,
}

impl LeafRequest {
    /// Valid from `now` (less [`NOT_BEFORE_SLACK_S`]) for `days` days (1 to [`MAX_DAYS`]).
    pub fn valid_for_days(role: Role, name: &str, days: u32, now: i64) -> Result<Self, PkiError> {
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(PkiError::BadRequest(format!(
                "--days {days}: a certificate is valid for 1 to {MAX_DAYS} days"
            )));
        }
        Ok(Self {
            role,
            name: name.to_string(),
            not_before: now - NOT_BEFORE_SLACK_S,
            not_after: now + i64::from(days) * 86_400,
            station_names: Vec::new(),
        })
    }

    /// The same request for a station reached by `names`.
    pub fn reached_by(mut self, names: &[String]) -> Self {
        self.station_names = names.to_vec();
        self
    }

    fn check(&self) -> Result<(), PkiError> {
        let name = self.name.trim();
        if name.is_empty() || slug(name).is_none() {
            return Err(PkiError::BadRequest(format!(
                "name {:?}: give a person's or a device's name",
                self.name
            )));
        }
        if name.chars().any(char::is_control) || name.chars().count() > MAX_NAME_CHARS {
            return Err(PkiError::BadRequest(format!(
                "name {:?}: at most {MAX_NAME_CHARS} printable characters",
                self.name
            )));
        }
        let role = self.role.name();
        if role.is_empty()
            || !role
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(PkiError::BadRequest(format!(
                "role {role:?}: lowercase letters, digits and '-' only"
            )));
        }
        if self.not_after <= self.not_before {
            return Err(PkiError::BadRequest(
                "the certificate would expire before it starts".into(),
            ));
        }
        match (self.role == Role::Station, self.station_names.is_empty()) {
            (true, true) => Err(PkiError::BadRequest(
                "a station certificate needs the names it is reached by (--station-name)".into(),
            )),
            (false, false) => Err(PkiError::BadRequest(
                "--station-name applies to station certificates only".into(),
            )),
            _ => Ok(()),
        }
    }
}

/// What `issue` wrote, and the identity the new certificate states.
#[derive(Debug, Clone)]
pub struct Issued {
    pub identity: Identity,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca_cert: PathBuf,
}

/// Issues a certificate from the CA in `ca_dir` (its key decrypted with `passphrase` if it is
/// encrypted) and writes `<slug>.crt`, `<slug>.key` (mode 0600) and a copy of `ca.crt` into
/// `out_dir`. Refuses to replace an existing `<slug>.crt` unless `overwrite`.
pub fn issue(
    ca_dir: &Path,
    passphrase: Option<&str>,
    request: &LeafRequest,
    out_dir: &Path,
    overwrite: bool,
) -> Result<Issued, PkiError> {
    request.check()?;
    let stem = slug(&request.name).ok_or_else(|| PkiError::BadRequest("empty name".into()))?;
    let cert_path = out_dir.join(format!("{stem}.crt"));
    if cert_path.exists() && !overwrite {
        return Err(PkiError::LeafExists(cert_path));
    }
    let ca = ca::load(ca_dir, passphrase)?;
    files::create_dir(out_dir)?;
    write_leaf(&ca, request, ca_dir, out_dir, &stem)
}

/// Signs `request` with `ca`, writes `<stem>.crt`/`.key` and `ca.crt` into `out_dir` and records
/// the certificate in `ca_dir`'s register.
pub(crate) fn write_leaf(
    ca: &Ca,
    request: &LeafRequest,
    ca_dir: &Path,
    out_dir: &Path,
    stem: &str,
) -> Result<Issued, PkiError> {
    request.check()?;
    let (cert_pem, key, identity) = sign(ca, request)?;
    let cert = out_dir.join(format!("{stem}.crt"));
    let key_path = out_dir.join(format!("{stem}.key"));
    let ca_cert = out_dir.join(CA_CERT);
    files::write(&key_path, key.serialize_pem().as_bytes(), true)?;
    files::write(&cert, cert_pem.as_bytes(), false)?;
    if ca_cert != ca_dir.join(CA_CERT) {
        files::write(&ca_cert, ca.cert_pem.as_bytes(), false)?;
    }
    register::record(ca_dir, &identity)?;
    Ok(Issued {
        identity,
        cert,
        key: key_path,
        ca_cert,
    })
}

fn sign(ca: &Ca, request: &LeafRequest) -> Result<(String, KeyPair, Identity), PkiError> {
    let mut params = CertificateParams::new(request.station_names.clone())?;
    let uri = request.role.uri();
    params.subject_alt_names.push(SanType::URI(
        uri.clone()
            .try_into()
            .map_err(|_| PkiError::BadRequest(format!("role URI {uri:?} is not ASCII")))?,
    ));
    let name = request.name.trim().to_string();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, name.clone());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![if request.role == Role::Station {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    params.use_authority_key_identifier_extension = true;
    let serial = ca::random_serial()?;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.not_before = ca::datetime(request.not_before)?;
    params.not_after = ca::datetime(request.not_after)?;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca.issuer)?;
    let identity = Identity {
        name,
        role: request.role.clone(),
        serial: crate::peer::hex(&serial),
        not_before: request.not_before,
        not_after: request.not_after,
    };
    Ok((cert.pem(), key, identity))
}

/// The file stem for a holder's name: lowercase ASCII letters and digits, other runs as one '-'
/// ("Dr Li Wei" → "dr-li-wei"); `None` when nothing is left.
pub fn slug(name: &str) -> Option<String> {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe_file_stems() {
        assert_eq!(slug("Dr Li Wei").as_deref(), Some("dr-li-wei"));
        assert_eq!(slug("  ../HIFU #2 ").as_deref(), Some("hifu-2"));
        assert_eq!(slug("Zoë Ångström").as_deref(), Some("zo-ngstr-m"));
        assert_eq!(slug("/../"), None);
    }

    #[test]
    fn requests_are_checked() {
        let ok = LeafRequest::valid_for_days(Role::Surgeon, "Dr Li", 30, 1_000_000).unwrap();
        assert_eq!(ok.not_after - 1_000_000, 30 * 86_400);
        assert!(ok.check().is_ok());
        for days in [0, MAX_DAYS + 1] {
            assert!(LeafRequest::valid_for_days(Role::Surgeon, "Dr Li", days, 0).is_err());
        }
        let bad_name = LeafRequest {
            name: "\u{7}".into(),
            ..ok.clone()
        };
        assert!(bad_name.check().is_err());
        let station = LeafRequest {
            role: Role::Station,
            ..ok.clone()
        };
        assert!(station.check().is_err(), "a station needs names");
        assert!(station.reached_by(&["localhost".into()]).check().is_ok());
        assert!(
            ok.clone()
                .reached_by(&["localhost".into()])
                .check()
                .is_err()
        );
        let odd_role = LeafRequest {
            role: Role::Other("Bad Role".into()),
            ..ok
        };
        assert!(odd_role.check().is_err());
    }
}
