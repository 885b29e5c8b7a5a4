//! QUIC endpoints for both roles, with transport settings tuned for a control link: keep-alives,
//! an idle timeout that outlasts a network outage, and large datagram buffers.

use crate::pki::{Identity, PkiError};
use crate::tls;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LinkError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("cannot open a QUIC endpoint on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot connect to {addr}: {detail}")]
    Connect { addr: SocketAddr, detail: String },
    #[error("connection lost: {0}")]
    Connection(#[from] quinn::ConnectionError),
    #[error("stream: {0}")]
    Stream(String),
    #[error("malformed event frame: {0}")]
    Frame(#[from] proto::DecodeError),
}

/// Unacknowledged stream bytes in flight: 20 Mbit/s of bulk over a 50 ms RTT is 125 kB.
pub const BULK_SEND_WINDOW: u64 = 160 * 1024;

/// Bytes of datagrams quinn may hold unsent (see transport_config).
pub const DATAGRAM_SEND_BUFFER: usize = 4096;

/// Ack-eliciting packets the peer may receive before it must acknowledge (see transport_config).
pub const ACK_ELICITING_THRESHOLD: u32 = 9;

/// Transport settings shared by both ends.
pub fn transport_config() -> quinn::TransportConfig {
    let mut config = quinn::TransportConfig::default();
    config.keep_alive_interval(Some(Duration::from_millis(200)));
    // Outlasts a multi-second outage: the supervisor, not the transport, decides about safety.
    config.max_idle_timeout(Some(quinn::VarInt::from_u32(15_000).into()));
    config.initial_rtt(Duration::from_millis(20));
    config.datagram_receive_buffer_size(Some(1 << 20));
    // About 40 control commands (40 ms at 1 kHz): while the path is blocked (outage, congestion
    // window full) older commands are dropped at the sender instead of arriving in a burst
    // after the outage, already too old for the supervisor (max_command_age 100 ms).
    config.datagram_send_buffer_size(DATAGRAM_SEND_BUFFER);
    // Caps unacknowledged stream data (bulk, video) so it cannot fill the congestion window:
    // control datagrams then find room at once instead of waiting behind bulk for acks
    // (docs/network.md, control ahead of bulk).
    config.send_window(BULK_SEND_WINDOW);
    // Asks the peer to acknowledge every tenth ack-eliciting packet (QUIC ACK frequency
    // extension) instead of every second: quinn sends a due ACK before it hands the received
    // datagram to the application, so fewer ACKs take that cost off most control datagrams
    // (p50 -20 % in `medlink bench link`). Loss detection still gets an ACK per 10 ms of control.
    let mut acks = quinn::AckFrequencyConfig::default();
    acks.ack_eliciting_threshold(quinn::VarInt::from_u32(ACK_ELICITING_THRESHOLD));
    config.ack_frequency_config(Some(acks));
    config
}

/// The station's listening endpoint; must be called inside a tokio runtime.
pub fn server_endpoint(addr: SocketAddr, identity: Identity) -> Result<quinn::Endpoint, LinkError> {
    let crypto = QuicServerConfig::try_from(tls::server_config(identity)?)
        .map_err(|e| PkiError::Tls(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(Arc::new(transport_config()));
    quinn::Endpoint::server(config, addr).map_err(|source| LinkError::Bind { addr, source })
}

/// The console's endpoint, bound to an ephemeral port of the right address family.
pub fn client_endpoint(
    identity: Identity,
    remote: SocketAddr,
) -> Result<quinn::Endpoint, LinkError> {
    let crypto = QuicClientConfig::try_from(tls::client_config(identity)?)
        .map_err(|e| PkiError::Tls(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(Arc::new(transport_config()));
    let local: SocketAddr = if remote.is_ipv6() {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    }
    .parse()
    .map_err(|_| LinkError::Bind {
        addr: remote,
        source: std::io::ErrorKind::InvalidInput.into(),
    })?;
    let mut endpoint = quinn::Endpoint::client(local).map_err(|source| LinkError::Bind {
        addr: local,
        source,
    })?;
    endpoint.set_default_client_config(config);
    Ok(endpoint)
}

/// Connects to a station; `server_name` must match a name in the station's certificate.
pub async fn connect(
    endpoint: &quinn::Endpoint,
    addr: SocketAddr,
    server_name: &str,
) -> Result<quinn::Connection, LinkError> {
    let connecting = endpoint
        .connect(addr, server_name)
        .map_err(|e| LinkError::Connect {
            addr,
            detail: e.to_string(),
        })?;
    connecting.await.map_err(|e| LinkError::Connect {
        addr,
        detail: e.to_string(),
    })
}

/// Waits for the next console that completes the mutual-TLS handshake. Peers that fail it (no
/// certificate, another CA, wrong protocol) are refused with a log line and the wait goes on.
/// Returns `None` when the endpoint is closed.
pub async fn accept_session(endpoint: &quinn::Endpoint) -> Option<quinn::Connection> {
    while let Some(incoming) = endpoint.accept().await {
        let remote = incoming.remote_address();
        match incoming.await {
            Ok(connection) => {
                tracing::info!(%remote, "console connected with a valid certificate");
                return Some(connection);
            }
            Err(e) => {
                tracing::warn!(%remote, error = %e, "refused connection: mutual TLS handshake failed")
            }
        }
    }
    None
}
