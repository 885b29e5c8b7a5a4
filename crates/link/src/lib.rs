//! medlink's transport edge: QUIC with mutual TLS between a console and a station, the session's
//! channels (datagrams and the reliable event stream, as bytes and frames), a 1 kHz pacer with
//! absolute deadlines, a wake-up the servo thread can give without a lock, and the impairment relay;
//! the site's PKI (roles in certificates, revocation reloaded without a restart).

pub mod admission;
pub mod clock;
pub mod endpoint;
pub mod events;
pub mod pacer;
pub mod peer;
pub mod pki;
pub mod refusal;
pub mod relay;
pub mod revocation;
pub mod tls;
#[cfg(target_os = "linux")]
pub mod wake;

pub use admission::server_endpoint_with;
pub use endpoint::{LinkError, accept_session, client_endpoint, connect, server_endpoint};
pub use events::{EventReader, EventWriter};
#[cfg(target_os = "linux")]
pub use pacer::AsyncPacer;
pub use pacer::{Pacer, PacerStats};
pub use peer::{identity_of, identity_of_file, peer_identity};
pub use pki::{Identity, PkiError, PkiPaths};
pub use refusal::Refusal;
pub use revocation::Revocations;
pub use trust::Role;

/// The ALPN protocol both ends must agree on; anything else is refused during the handshake.
pub const ALPN: &[u8] = b"medlink/1";
