//! The station's copy of the CA's revocation list (`ca.crl`), reloaded without a restart: each
//! handshake re-reads the file and takes a changed list at once, `reload()` does the same on the
//! station's own schedule, and `is_revoked`/`check` let the station drop a live session whose
//! certificate was revoked after it connected.

use crate::peer::CertSummary;
use crate::pki::{self, CrlContents, Identity, PkiError, RevokedEntry};
use crate::refusal::{Refusal, log_refusal};
use crate::tls::provider;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// A shared handle on the revocation list in force; clones share it.
#[derive(Clone)]
pub struct Revocations {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    ca_certs: Vec<CertificateDer<'static>>,
    roots: Arc<RootCertStore>,
    current: RwLock<Arc<Snapshot>>,
}

/// One list, and the certificate verifier that enforces it.
pub(crate) struct Snapshot {
    bytes: Option<Vec<u8>>,
    number: u64,
    revoked: HashMap<String, RevokedEntry>,
    pub(crate) verifier: Arc<dyn ClientCertVerifier>,
}

impl Revocations {
    /// The list at `crl` (none yet if the file does not exist), which must be signed by one of
    /// `ca_certs`, the CAs whose certificates the station accepts.
    pub fn load(ca_certs: &[CertificateDer<'static>], crl: &Path) -> Result<Self, PkiError> {
        let mut roots = RootCertStore::empty();
        for ca in ca_certs {
            roots
                .add(ca.clone())
                .map_err(|e| PkiError::Tls(format!("CA certificate: {e}")))?;
        }
        let roots = Arc::new(roots);
        let bytes = read_optional(crl)?;
        let snapshot = build(crl, ca_certs, &roots, bytes)?;
        Ok(Self {
            shared: Arc::new(Shared {
                path: crl.to_owned(),
                ca_certs: ca_certs.to_vec(),
                roots,
                current: RwLock::new(Arc::new(snapshot)),
            }),
        })
    }

    /// The list beside the CA certificate the station's identity was loaded with.
    pub fn for_identity(identity: &Identity) -> Result<Self, PkiError> {
        Self::load(&identity.ca_certs, &identity.crl)
    }

    /// Re-reads the file and takes it if it changed; `Ok(true)` when a new list is in force. A
    /// list that is malformed, not signed by the CA, older (a lower CRL number) than the one in
    /// force, or gone is refused and the one in force is kept.
    pub fn reload(&self) -> Result<bool, PkiError> {
        let path = &self.shared.path;
        let bytes = read_optional(path)?;
        let current = self.current();
        if bytes == current.bytes {
            return Ok(false);
        }
        if bytes.is_none() {
            return Err(PkiError::BadCrl {
                path: path.clone(),
                detail: "the revocation list is gone; keeping the one in force".into(),
            });
        }
        let next = build(path, &self.shared.ca_certs, &self.shared.roots, bytes)?;
        if next.number < current.number {
            return Err(PkiError::BadCrl {
                path: path.clone(),
                detail: format!(
                    "CRL number {} is older than the list in force ({}); keeping it",
                    next.number, current.number
                ),
            });
        }
        tracing::info!(
            path = %path.display(),
            number = next.number,
            revoked = next.revoked.len(),
            "revocation list reloaded"
        );
        *self
            .shared
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(next);
        Ok(true)
    }

    /// Is the certificate with this serial (hex, as in [`trust::Identity::serial`]) revoked in
    /// the list in force? No IO: cheap enough for every request.
    pub fn is_revoked(&self, serial: &str) -> bool {
        self.revocation(serial).is_some()
    }

    /// The list's entry for this serial, if it is revoked.
    pub fn revocation(&self, serial: &str) -> Option<RevokedEntry> {
        let serial = crate::peer::normalize_serial(serial)?;
        self.current().revoked.get(&serial).cloned()
    }

    /// May a peer with `identity` still act at `now` (Unix seconds)? Refused when its certificate
    /// was revoked or has expired since it connected; the refusal is logged by name.
    pub fn check(&self, identity: &trust::Identity, now: i64) -> Result<(), Refusal> {
        let refusal = if let Some(entry) = self.revocation(&identity.serial) {
            Refusal::Revoked {
                reason: entry.reason_name().to_string(),
            }
        } else if now > identity.not_after {
            Refusal::Expired
        } else if now < identity.not_before {
            Refusal::NotYetValid
        } else {
            return Ok(());
        };
        log_refusal("station", &CertSummary::from(identity), &refusal);
        Err(refusal)
    }

    /// The CRL number of the list in force (0 before any).
    pub fn number(&self) -> u64 {
        self.current().number
    }

    /// Where the list is read from.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    pub(crate) fn current(&self) -> Arc<Snapshot> {
        self.shared
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The list in force after a reload; a failed reload is logged and the old list kept.
    pub(crate) fn refreshed(&self) -> Arc<Snapshot> {
        if let Err(e) = self.reload() {
            tracing::error!(error = %e, "revocation list not reloaded");
        }
        self.current()
    }

    pub(crate) fn roots(&self) -> &Arc<RootCertStore> {
        &self.shared.roots
    }
}

impl Snapshot {
    pub(crate) fn revocation(&self, serial: &str) -> Option<&RevokedEntry> {
        self.revoked.get(serial)
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, PkiError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PkiError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn build(
    path: &Path,
    ca_certs: &[CertificateDer<'static>],
    roots: &Arc<RootCertStore>,
    bytes: Option<Vec<u8>>,
) -> Result<Snapshot, PkiError> {
    let crl: Option<CrlContents> = bytes
        .as_deref()
        .map(|bytes| pki::crl_parse(path, bytes))
        .transpose()?;
    if let Some(crl) = &crl
        && !ca_certs.iter().any(|ca| pki::crl_signed_by(&crl.der, ca))
    {
        return Err(PkiError::BadCrl {
            path: path.to_owned(),
            detail: "not signed by this site's CA".into(),
        });
    }
    let mut builder = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider());
    if let Some(crl) = &crl {
        builder = builder
            .with_crls([crl.der.clone()])
            .only_check_end_entity_revocation()
            // A second CA in ca.crt (a CA being replaced) has no list here: it revoked nothing.
            .allow_unknown_revocation_status();
    }
    let verifier = builder.build().map_err(|e| PkiError::BadCrl {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    let (number, entries) = crl.map_or((0, Vec::new()), |crl| (crl.number, crl.entries));
    Ok(Snapshot {
        bytes,
        number,
        revoked: entries
            .into_iter()
            .map(|entry| (entry.serial.clone(), entry))
            .collect(),
        verifier,
    })
}
