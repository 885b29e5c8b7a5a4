//! rustls configurations for both ends: TLS 1.3 only, ring crypto; the station requires a console
//! certificate from the medlink CA, not revoked and carrying a console role, and the console
//! requires a station certificate carrying the role `station` (see `admission`).

use crate::ALPN;
use crate::admission::{ConsoleCertVerifier, StationCertVerifier};
use crate::pki::{Identity, PkiError};
use crate::revocation::Revocations;
use std::sync::Arc;

pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The station's TLS with the revocation list beside its CA certificate (`ca.crl`), re-read at
/// each handshake. A station that also drops live sessions uses [`server_config_with`].
pub fn server_config(identity: Identity) -> Result<rustls::ServerConfig, PkiError> {
    let revocations = Revocations::for_identity(&identity)?;
    server_config_with(identity, &revocations)
}

/// The station's TLS: its own certificate, and console certificates required and checked
/// against its CA, `revocations` and their role.
pub fn server_config_with(
    identity: Identity,
    revocations: &Revocations,
) -> Result<rustls::ServerConfig, PkiError> {
    let tls = |e: &dyn std::fmt::Display| PkiError::Tls(e.to_string());
    let verifier = Arc::new(ConsoleCertVerifier::new(revocations.clone()));
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls(&e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| tls(&e))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The console's TLS: trusts only the medlink CA, admits only a certificate with the role
/// `station`, and presents its own certificate.
pub fn client_config(identity: Identity) -> Result<rustls::ClientConfig, PkiError> {
    let tls = |e: &dyn std::fmt::Display| PkiError::Tls(e.to_string());
    // A copy of the CA's revocation list beside the console's CA certificate, where the site
    // hands one out, revokes stations too.
    let crls = crate::pki::files::read_crls_if_any(&identity.crl)?;
    let verifier = Arc::new(StationCertVerifier::new(identity.roots, crls)?);
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls(&e))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(identity.chain, identity.key)
        .map_err(|e| tls(&e))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}
