//! medlink's transport edge: QUIC with mutual TLS between a console and a station, the session's
//! channels (control and state datagrams, the reliable event stream), a 1 kHz pacer with absolute
//! deadlines, and latency statistics.

pub mod endpoint;
pub mod events;
pub mod pacer;
pub mod pki;
pub mod relay;
pub mod stats;
pub mod tls;
pub mod wire;

pub use endpoint::{LinkError, accept_session, client_endpoint, connect, server_endpoint};
pub use events::{EventReader, EventWriter};
#[cfg(target_os = "linux")]
pub use pacer::AsyncPacer;
pub use pacer::{Pacer, PacerStats};
pub use pki::{Identity, PkiError, PkiPaths};
pub use stats::LatencyRecorder;

/// The ALPN protocol both ends must agree on; anything else is refused during the handshake.
pub const ALPN: &[u8] = b"medlink/1";
