//! HTTPS: the hub's certificate and key (PEM) loaded into a rustls server configuration, and
//! the accept loop that serves the router over TLS (HTTP/1.1, one task per connection).

use crate::HubError;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

/// Reads the certificate chain and private key and builds the TLS configuration.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, HubError> {
    let config_error = |what: &Path, e: &dyn std::fmt::Display| {
        HubError::Config(format!("TLS: {}: {e}", what.display()))
    };
    let read = |path: &Path| std::fs::read(path).map_err(|e| config_error(path, &e));
    let cert_pem = read(cert)?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| config_error(cert, &e))?;
    if certs.is_empty() {
        return Err(config_error(cert, &"no PEM certificate in the file"));
    }
    let key_pem = read(key)?;
    let private_key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| config_error(key, &e))?
        .ok_or_else(|| config_error(key, &"no PEM private key in the file"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(cert, &e))?
        .with_no_client_auth()
        .with_single_cert(certs, private_key)
        .map_err(|e| config_error(key, &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` over TLS on `listener` until the process ends. A failed handshake ends that
/// connection only; a failed accept (out of file descriptors) waits a little and goes on.
pub async fn serve(listener: TcpListener, app: Router, config: Arc<ServerConfig>) {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("HTTPS accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => {
                    tracing::debug!(%peer, "TLS handshake: {e}");
                    return;
                }
            };
            let service = TowerToHyperService::new(app);
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service);
            if let Err(e) = connection.await {
                tracing::debug!(%peer, "HTTPS connection: {e}");
            }
        });
    }
}
