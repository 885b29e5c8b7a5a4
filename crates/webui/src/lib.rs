//! What the console's and the bedside's web pages share: the person's sign-in (a one-time token
//! in the URL the program prints, exchanged for a session cookie), assets embedded in the binary,
//! and the server itself: plain HTTP only on a loopback address, HTTPS with a certificate of the
//! medlink CA anywhere else, where a client certificate of the CA, when the browser offers one,
//! tells the page who is at it.

pub mod access;
pub mod assets;
pub mod serve;

pub use access::{Access, SignedIn};
pub use assets::Asset;
pub use axum::Router;
/// The HTTP types of the pages (for tests and fuzz targets).
pub use axum::http as axum_http;
pub use serve::{ClientCertificate, Server, TlsFiles};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum WebUiError {
    #[error("the web page cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "{0} is not a loopback address: serving a page there needs HTTPS, with a certificate of the medlink CA (docs/console-ui.md)"
    )]
    NeedsTls(std::net::SocketAddr),
    #[error("the page's TLS certificate: {0}")]
    Tls(String),
    #[error("could not start the page's thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("no random numbers for the sign-in token")]
    Random,
}
