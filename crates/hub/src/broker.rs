//! The embedded MQTT broker (rumqttd), used unless `--mqtt` names an external one.

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
use std::collections::HashMap;
use std::net::SocketAddr;

/// Most unacknowledged QoS 1 messages the broker keeps in flight per connection: the hub acks
/// after each commit, so this bounds how many measurements one commit can cover.
pub const MAX_INFLIGHT: usize = 16_384;

fn config(listen: SocketAddr) -> Config {
    let connections = ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: 64 * 1024,
        max_inflight_count: MAX_INFLIGHT,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server = ServerSettings {
        name: "medlink-v4".to_string(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    Config {
        id: 0,
        router: RouterConfig {
            max_connections: 100_000,
            max_outgoing_packet_count: 200,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Config::default()
    }
}

/// Errors starting the broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("embedded MQTT broker: {0}")]
    Start(String),
}

/// Starts rumqttd on `listen` in its own threads; it runs until the process exits.
pub fn start(listen: SocketAddr) -> Result<(), BrokerError> {
    // Fail early and clearly if the port is taken (rumqttd would only log it).
    drop(
        std::net::TcpListener::bind(listen)
            .map_err(|e| BrokerError::Start(format!("{listen}: {e}")))?,
    );
    let mut broker = Broker::new(config(listen));
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!("embedded MQTT broker stopped: {e}");
            }
        })
        .map_err(|e| BrokerError::Start(e.to_string()))?;
    Ok(())
}
