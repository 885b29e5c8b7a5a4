//! medlink's transport edge: QUIC with mutual TLS between a console and a station, the session's
//! channels (datagrams and the reliable event stream, as bytes and frames), a 1 kHz pacer with
//! absolute deadlines, a wake-up the servo thread can give without a lock, and the impairment relay.

pub mod clock;
pub mod endpoint;
pub mod events;
pub mod pacer;
pub mod pki;
pub mod relay;
pub mod tls;
#[cfg(target_os = "linux")]
pub mod wake;

pub use endpoint::{LinkError, accept_session, client_endpoint, connect, server_endpoint};
pub use events::{EventReader, EventWriter};
#[cfg(target_os = "linux")]
pub use pacer::AsyncPacer;
pub use pacer::{Pacer, PacerStats};
pub use pki::{Identity, PkiError, PkiPaths};

/// The ALPN protocol both ends must agree on; anything else is refused during the handshake.
pub const ALPN: &[u8] = b"medlink/1";
