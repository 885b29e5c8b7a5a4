//! The page's server on a thread of its own: plain HTTP only on a loopback address; anywhere
//! else HTTPS with a certificate of the medlink CA, asking the browser for a client certificate
//! of the same CA (optional: the sign-in token still decides who may open the page; the
//! certificate tells the page who the person is, e.g. a bedside team member).

use crate::WebUiError;
use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use link::PkiPaths;
use rustls::server::WebPkiClientVerifier;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

/// The certificate (and key, and CA) the page is served with over HTTPS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub paths: PkiPaths,
}

/// Who the browser's client certificate names, if it offered one the CA signed.
#[derive(Debug, Clone, Default)]
pub struct ClientCertificate(pub Option<trust::Identity>);

/// A running page server; dropping it stops the server.
pub struct Server {
    addr: SocketAddr,
    https: bool,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `listen` and serves `app` on a new thread. Without `tls` only a loopback address
    /// is allowed.
    pub fn start(
        name: &str,
        listen: SocketAddr,
        tls: Option<TlsFiles>,
        app: Router,
    ) -> Result<Self, WebUiError> {
        if tls.is_none() && !listen.ip().is_loopback() {
            return Err(WebUiError::NeedsTls(listen));
        }
        let acceptor = tls.as_ref().map(acceptor).transpose()?;
        let std_listener = std::net::TcpListener::bind(listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|source| WebUiError::Bind {
                addr: listen,
                source,
            })?;
        let addr = std_listener.local_addr()?;
        let https = acceptor.is_some();
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-page"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        tracing::error!("the page's runtime: {e}");
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(std_listener) {
                        Ok(listener) => listener,
                        Err(e) => {
                            tracing::error!("the page's listener: {e}");
                            return;
                        }
                    };
                    tokio::select! {
                        () = accept_loop(listener, app, acceptor) => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(Self {
            addr,
            https,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL with the sign-in token.
    pub fn url(&self, token: Option<&str>) -> String {
        let scheme = if self.https { "https" } else { "http" };
        match token {
            Some(token) => format!("{scheme}://{}/?token={token}", self.addr),
            None => format!("{scheme}://{}/", self.addr),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn acceptor(tls: &TlsFiles) -> Result<TlsAcceptor, WebUiError> {
    let bad = |e: &dyn std::fmt::Display| WebUiError::Tls(e.to_string());
    let identity = link::Identity::load(&tls.paths).map_err(|e| bad(&e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(identity.roots), provider.clone())
            .allow_unauthenticated()
            .build()
            .map_err(|e| bad(&e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(&e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| bad(&e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// One task per connection; a failed handshake ends that connection only.
async fn accept_loop(listener: TcpListener, app: Router, acceptor: Option<TlsAcceptor>) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("page accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (app, acceptor) = (app.clone(), acceptor.clone());
        tokio::spawn(async move {
            let result = match acceptor {
                None => {
                    serve(
                        TokioIo::new(tcp),
                        app.layer(Extension(ClientCertificate(None))),
                    )
                    .await
                }
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(tls) => {
                        let client = tls
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|chain| chain.first())
                            .and_then(|der| link::identity_of(der).ok());
                        let app = app.layer(Extension(ClientCertificate(client)));
                        serve(TokioIo::new(tls), app).await
                    }
                    Err(e) => {
                        tracing::debug!(%peer, "page TLS handshake: {e}");
                        return;
                    }
                },
            };
            if let Err(e) = result {
                tracing::debug!(%peer, "page connection: {e}");
            }
        });
    }
}

async fn serve<I>(io: TokioIo<I>, app: Router) -> Result<(), hyper::Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    hyper::server::conn::http1::Builder::new()
        .serve_connection(io, TowerToHyperService::new(app))
        .with_upgrades()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_off_loopback_is_refused_without_tls() {
        let app = Router::new();
        let listen: SocketAddr = "0.0.0.0:0".parse().unwrap();
        assert!(matches!(
            Server::start("test", listen, None, app.clone()),
            Err(WebUiError::NeedsTls(_))
        ));
        let server = Server::start("test", "127.0.0.1:0".parse().unwrap(), None, app).unwrap();
        assert!(server.url(Some("ab")).starts_with("http://127.0.0.1:"));
        assert!(server.url(Some("ab")).ends_with("/?token=ab"));
    }
}
