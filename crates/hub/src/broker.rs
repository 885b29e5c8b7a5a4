//! Where devices connect when no external broker is named: the embedded gateway's listener
//! ([`crate::gateway`]), plain MQTT on loopback, MQTT over TLS (the hub's certificate) anywhere
//! else. It refuses to listen beyond loopback without a certificate.

use crate::gateway::Gateway;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Errors starting the listener.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("embedded MQTT gateway: {0}")]
    Start(String),
    #[error(
        "the embedded MQTT gateway would listen on {0}, beyond loopback, without TLS: give it the \
         hub's certificate (mqtt_tls_cert and mqtt_tls_key in the configuration, or \
         --mqtt-tls-cert/--mqtt-tls-key), or listen on 127.0.0.1"
    )]
    CleartextBeyondLoopback(SocketAddr),
    #[error("MQTT TLS: {0}")]
    Tls(String),
}

/// The hub's TLS certificate (PEM chain) and key (PEM, PKCS#8 or RSA/EC).
pub struct TlsFiles<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
}

/// A server TLS acceptor from PEM files (TLS 1.2 and 1.3, ring crypto, no client certificates:
/// devices sign in with their password inside the encrypted connection).
pub fn acceptor(files: &TlsFiles<'_>) -> Result<TlsAcceptor, BrokerError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| BrokerError::Tls(format!("{}: {e}", path.display())))
    };
    let chain = rustls_pemfile::certs(&mut &read(files.cert)?[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| BrokerError::Tls(format!("{}: {e}", files.cert.display())))?;
    if chain.is_empty() {
        return Err(BrokerError::Tls(format!(
            "{}: no certificate in it",
            files.cert.display()
        )));
    }
    let key = rustls_pemfile::private_key(&mut &read(files.key)?[..])
        .map_err(|e| BrokerError::Tls(format!("{}: {e}", files.key.display())))?
        .ok_or_else(|| {
            BrokerError::Tls(format!("{}: no private key in it", files.key.display()))
        })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| BrokerError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| BrokerError::Tls(e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Threads checking device passwords at once: a storm of sign-ins queues for them rather than
/// spawning a thread per device from the gateway's thread.
const SIGN_IN_THREADS: usize = 2;

/// Binds `listen` and serves device connections on a thread of their own (a single-threaded
/// runtime, at real-time `priority` when allowed, as the alert path: every publish is scored on
/// arrival there, so an alert never queues behind commits or other work; 0: normal
/// scheduling); returns the bound address.
pub fn start(
    listen: SocketAddr,
    tls: Option<TlsAcceptor>,
    gateway: Arc<Gateway>,
    priority: i32,
) -> Result<SocketAddr, BrokerError> {
    if tls.is_none() && !listen.ip().is_loopback() {
        return Err(BrokerError::CleartextBeyondLoopback(listen));
    }
    let start = |e: std::io::Error| BrokerError::Start(format!("{listen}: {e}"));
    let listener = std::net::TcpListener::bind(listen).map_err(start)?;
    let bound = listener.local_addr().map_err(start)?;
    listener.set_nonblocking(true).map_err(start)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // Sign-ins (password hashing) run on the blocking pool, whose threads would otherwise
        // inherit this thread's real-time policy: they run at normal priority, below scoring.
        .on_thread_start(crate::priority::normal)
        .max_blocking_threads(SIGN_IN_THREADS)
        .build()
        .map_err(start)?;
    std::thread::Builder::new()
        .name("mqtt-gateway".into())
        .spawn(move || {
            crate::priority::realtime(priority);
            runtime.block_on(async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => accept_loop(listener, tls, gateway).await,
                    Err(e) => tracing::error!("embedded MQTT gateway on {bound}: {e}"),
                }
            })
        })
        .map_err(start)?;
    Ok(bound)
}

/// Accepts connections forever, serving each on a task of its own.
async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, gateway: Arc<Gateway>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("MQTT accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let gateway = gateway.clone();
        let peer = peer.to_string();
        match tls.clone() {
            None => {
                tokio::spawn(gateway.serve(stream, peer));
            }
            Some(acceptor) => {
                tokio::spawn(async move {
                    match acceptor.accept(stream).await {
                        Ok(stream) => gateway.serve(stream, peer).await,
                        Err(e) => tracing::warn!(%peer, "MQTT TLS handshake: {e}"),
                    }
                });
            }
        }
    }
}
