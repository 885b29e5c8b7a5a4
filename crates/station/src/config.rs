//! Station settings (TOML, every field defaulted).

use link::PkiPaths;
use safety::SupervisorConfig;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use teleop::{StationSessionConfig, TimeSource};

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
    /// The most the two hosts' clocks can drift apart (ppm); widens the command-age bound.
    pub max_clock_drift_ppm: f64,
    /// The station's clock: `{ kind = "monotonic" }`, or `{ kind = "disciplined", max_error_us =
    /// N }` where the host's clock is disciplined to a common time scale (docs/telesurgery.md).
    pub time_source: TimeSource,
    /// Where session recordings go (MCAP); none: not recorded.
    pub record_dir: Option<PathBuf>,
    /// The site's admission policy (TOML, docs/policy.md); none: every console certificate of
    /// the CA is admitted for what its role allows.
    pub policy: Option<PathBuf>,
    /// Where the station's tamper-evident audit log goes (docs/audit.md); one file per run.
    pub audit_dir: PathBuf,
    /// The certificate of the bedside team member signed in at the station (their name is the
    /// actor of take-over, hand-back and local e-stops in the audit log).
    pub bedside_cert: Option<PathBuf>,
    pub supervisor: SupervisorConfig,
    /// A HIFU device beside the arm (docs/hifu.md, "Remote procedure"); none: the arm alone.
    pub hifu: Option<HifuStation>,
    /// The simulated endoscope camera and its video channel (docs/video.md); none: no video.
    pub camera: Option<crate::camera::CameraSettings>,
    /// The simulated patient monitor, whose readings go to every console; none: no monitor.
    pub monitor: Option<crate::monitor::MonitorSettings>,
    /// The clock zero, when the station shares one with a console in the same process (the
    /// demo): the true age of every command is then known and reported.
    #[serde(skip)]
    pub shared_epoch: Option<Instant>,
}

impl Default for StationConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 4433)),
            pki_dir: PathBuf::from("pki"),
            servo_rate_hz: 1000.0,
            clock_ping_ms: 20,
            max_clock_drift_ppm: 100.0,
            time_source: TimeSource::Monotonic,
            record_dir: Some(PathBuf::from("recordings")),
            policy: None,
            audit_dir: PathBuf::from("audit"),
            bedside_cert: None,
            supervisor: SupervisorConfig::default(),
            hifu: None,
            camera: None,
            monitor: None,
            shared_epoch: None,
        }
    }
}

/// The station's HIFU device: its own plan file (the patient model and transducer every
/// console's plan must match) and how the device runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HifuStation {
    pub plan: PathBuf,
    #[serde(default)]
    pub settings: crate::hifu_device::HifuSettings,
}

impl StationConfig {
    pub fn pki_paths(&self) -> PkiPaths {
        PkiPaths::in_dir(&self.pki_dir, "station")
    }

    pub fn servo_period(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.servo_rate_hz)
    }

    /// The session core's configuration.
    pub fn session(&self) -> StationSessionConfig {
        StationSessionConfig {
            supervisor: self.supervisor.clone(),
            servo_period: self.servo_period(),
            clock_ping: Duration::from_millis(self.clock_ping_ms.max(1)),
            max_clock_drift_ppm: self.max_clock_drift_ppm,
            time_source: self.time_source,
            true_offset_us: self.shared_epoch.map(|_| 0),
            ..StationSessionConfig::default()
        }
    }
}
