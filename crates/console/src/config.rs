//! Console settings (TOML, every field defaulted).

use link::PkiPaths;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Where master poses come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum InputConfig {
    /// A scripted suturing loop (deterministic from the seed).
    Suturing { seed: u64 },
    /// A scripted knot-tying motion.
    KnotTying { seed: u64 },
    /// Replay of recorded master poses (see docs/console-input.md).
    Replay { csv: PathBuf },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The station's QUIC address.
    pub station: SocketAddr,
    /// Must match a name in the station's certificate.
    pub server_name: String,
    /// Directory written by `medlink pki init`; the console uses ca.crt, console.crt, console.key.
    pub pki_dir: PathBuf,
    /// Control command rate (Hz).
    pub rate_hz: f64,
    /// Master-to-PSM motion scale.
    pub scale: f64,
    /// Tremor filter cut-off (Hz), 4th-order Butterworth.
    pub tremor_cutoff_hz: f64,
    pub input: InputConfig,
    /// Stop after this many seconds (default: the length of the input).
    pub duration_s: Option<f64>,
    /// Scripted operator: re-engage after the station fell back to HOLD or READY, once state
    /// reports flow again for `reengage_after_ms`. A real surgeon presses a button for this.
    pub auto_reengage: bool,
    pub reengage_after_ms: u64,
    pub clock_ping_ms: u64,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            station: SocketAddr::from(([127, 0, 0, 1], 4433)),
            server_name: "localhost".into(),
            pki_dir: PathBuf::from("pki"),
            rate_hz: 1000.0,
            scale: 0.2,
            tremor_cutoff_hz: 6.0,
            input: InputConfig::Suturing { seed: 1 },
            duration_s: None,
            auto_reengage: true,
            reengage_after_ms: 500,
            clock_ping_ms: 20,
        }
    }
}

impl ConsoleConfig {
    pub fn pki_paths(&self) -> PkiPaths {
        PkiPaths::in_dir(&self.pki_dir, "console")
    }
}
