//! Who is admitted at the handshake. The station admits a console certificate from its CA,
//! within its validity, not revoked (the list re-read at each handshake) and carrying a console
//! role (surgeon, bedside, observer): a station or device certificate never acts as a console.
//! The console admits a station certificate from its CA that carries the role `station`. Every
//! refusal is logged by the certificate's name, role and serial with the reason.

use crate::endpoint::{LinkError, transport_config};
use crate::peer::{CertSummary, identity_of, summarize};
use crate::pki::{Identity, PkiError};
use crate::refusal::{Refusal, log_refusal};
use crate::revocation::{Revocations, Snapshot};
use crate::tls;
use quinn::crypto::rustls::QuicServerConfig;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use trust::Role;

/// The station's listening endpoint, checking console certificates against `revocations` (the
/// station keeps a clone to reload it and to check live sessions); inside a tokio runtime.
pub fn server_endpoint_with(
    addr: SocketAddr,
    identity: Identity,
    revocations: &Revocations,
) -> Result<quinn::Endpoint, LinkError> {
    let crypto = QuicServerConfig::try_from(tls::server_config_with(identity, revocations)?)
        .map_err(|e| PkiError::Tls(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(Arc::new(transport_config()));
    quinn::Endpoint::server(config, addr).map_err(|source| LinkError::Bind { addr, source })
}

/// The station's check of a console's certificate.
pub(crate) struct ConsoleCertVerifier {
    revocations: Revocations,
    hints: Vec<DistinguishedName>,
}

impl ConsoleCertVerifier {
    pub(crate) fn new(revocations: Revocations) -> Self {
        let hints = revocations.roots().subjects();
        Self { revocations, hints }
    }
}

impl fmt::Debug for ConsoleCertVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleCertVerifier")
            .field("crl", &self.revocations.path())
            .finish()
    }
}

impl ClientCertVerifier for ConsoleCertVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let snapshot = self.revocations.refreshed();
        let summary = summarize(end_entity);
        let verdict = match snapshot
            .verifier
            .verify_client_cert(end_entity, intermediates, now)
        {
            Ok(verified) => admit_console(end_entity, &snapshot)
                .map(|()| verified)
                .map_err(|refusal| (refusal, None)),
            Err(e) => Err((explain(&e, &summary, &snapshot), Some(e))),
        };
        verdict.map_err(|(refusal, original)| {
            log_refusal("station", &summary, &refusal);
            refusal.into_tls(original)
        })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.revocations
            .current()
            .verifier
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.revocations
            .current()
            .verifier
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.revocations
            .current()
            .verifier
            .supported_verify_schemes()
    }
}

/// A certificate the CA vouches for, now: may its holder act as a console?
fn admit_console(end_entity: &CertificateDer<'_>, snapshot: &Snapshot) -> Result<(), Refusal> {
    let identity = identity_of(end_entity).map_err(|e| match e {
        PkiError::NoRole { .. } | PkiError::SeveralRoles { .. } => Refusal::NoRole,
        other => Refusal::Other(other.to_string()),
    })?;
    if let Some(entry) = snapshot.revocation(&identity.serial) {
        return Err(Refusal::Revoked {
            reason: entry.reason_name().to_string(),
        });
    }
    if !identity.role.is_console() {
        return Err(Refusal::RoleNotAllowed {
            role: identity.role,
            wanted: "console",
        });
    }
    Ok(())
}

/// The reason behind the TLS library's refusal, in medlink's words: a revocation with the list's
/// reason, and a wrong key usage as the role it comes from (a station's server certificate).
fn explain(error: &Error, summary: &CertSummary, snapshot: &Snapshot) -> Refusal {
    match Refusal::from_tls(error) {
        Refusal::Revoked { reason } => Refusal::Revoked {
            reason: summary
                .serial
                .as_deref()
                .and_then(|serial| snapshot.revocation(serial))
                .map_or(reason, |entry| entry.reason_name().to_string()),
        },
        Refusal::WrongKeyUsage => match &summary.role {
            Some(role) if !role.is_console() => Refusal::RoleNotAllowed {
                role: role.clone(),
                wanted: "console",
            },
            _ => Refusal::WrongKeyUsage,
        },
        other => other,
    }
}

/// The console's check of a station's certificate.
#[derive(Debug)]
pub(crate) struct StationCertVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl StationCertVerifier {
    /// Trusts `roots`, and refuses a station certificate in `crls` (the CA's revocation list
    /// where the console has a copy of it beside its CA certificate).
    pub(crate) fn new(
        roots: rustls::RootCertStore,
        crls: Vec<rustls::pki_types::CertificateRevocationListDer<'static>>,
    ) -> Result<Self, PkiError> {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), tls::provider())
            .with_crls(crls)
            .only_check_end_entity_revocation()
            .build()
            .map_err(|e| PkiError::Tls(e.to_string()))?;
        Ok(Self { inner })
    }
}

impl ServerCertVerifier for StationCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let summary = summarize(end_entity);
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| (Refusal::from_tls(&e), Some(e)))
            .and_then(|verified| match identity_of(end_entity) {
                Ok(identity) if identity.role == Role::Station => Ok(verified),
                Ok(identity) => Err((
                    Refusal::RoleNotAllowed {
                        role: identity.role,
                        wanted: "station",
                    },
                    None,
                )),
                Err(_) => Err((Refusal::NoRole, None)),
            });
        verdict.map_err(|(refusal, original)| {
            log_refusal("console", &summary, &refusal);
            refusal.into_tls(original)
        })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
