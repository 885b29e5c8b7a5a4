//! Station settings (TOML, every field defaulted).

use link::PkiPaths;
use safety::SupervisorConfig;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StationConfig {
    /// UDP address the QUIC endpoint listens on.
    pub listen: SocketAddr,
    /// Directory written by `medlink pki init`; the station uses ca.crt, station.crt, station.key.
    pub pki_dir: PathBuf,
    /// Servo loop rate (Hz).
    pub servo_rate_hz: f64,
    /// How often to ping the console for clock sync (ms).
    pub clock_ping_ms: u64,
    pub supervisor: SupervisorConfig,
}

impl Default for StationConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 4433)),
            pki_dir: PathBuf::from("pki"),
            servo_rate_hz: 1000.0,
            clock_ping_ms: 20,
            supervisor: SupervisorConfig::default(),
        }
    }
}

impl StationConfig {
    pub fn pki_paths(&self) -> PkiPaths {
        PkiPaths::in_dir(&self.pki_dir, "station")
    }
}
