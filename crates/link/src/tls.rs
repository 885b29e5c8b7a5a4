//! rustls configurations for both ends: TLS 1.3 only, ring crypto, and a client certificate
//! required from the console and verified against the medlink CA.

use crate::ALPN;
use crate::pki::{Identity, PkiError};
use rustls::server::WebPkiClientVerifier;
use std::sync::Arc;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The station's TLS: its own certificate, and console certificates required and checked.
pub fn server_config(identity: Identity) -> Result<rustls::ServerConfig, PkiError> {
    let tls = |e: &dyn std::fmt::Display| PkiError::Tls(e.to_string());
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(identity.roots), provider())
            .build()
            .map_err(|e| tls(&e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls(&e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| tls(&e))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The console's TLS: trusts only the medlink CA and presents its own certificate.
pub fn client_config(identity: Identity) -> Result<rustls::ClientConfig, PkiError> {
    let tls = |e: &dyn std::fmt::Display| PkiError::Tls(e.to_string());
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls(&e))?
        .with_root_certificates(identity.roots)
        .with_client_auth_cert(identity.chain, identity.key)
        .map_err(|e| tls(&e))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}
