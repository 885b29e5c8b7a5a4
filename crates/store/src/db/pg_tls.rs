//! TLS to PostgreSQL (`sslmode=verify-full`): the server's certificate must chain to the CA in
//! the file the URL names (`sslrootcert`) and name the host the URL names (a DNS name or an IP
//! address), as libpq's verify-full does; nothing weaker is offered.

use super::DbError;
use std::path::Path;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The TLS connector for a server whose certificate chains to the CA certificates in `ca_file`
/// (PEM).
pub fn connector(ca_file: &Path) -> Result<MakeRustlsConnect, DbError> {
    let bad = |why: String| DbError::Location(format!("sslrootcert {}: {why}", ca_file.display()));
    let pem = std::fs::read(ca_file).map_err(|e| bad(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| bad(format!("not PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("not a CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no certificate".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
