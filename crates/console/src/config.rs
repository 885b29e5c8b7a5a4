//! Console settings (TOML, every field defaulted).

use link::PkiPaths;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use teleop::{ConsoleSessionConfig, TimeSource};

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
    /// The file stem of this console's certificate and key in `pki_dir` (`console`: the
    /// certificate `pki init` makes; `dr-li-wei` for one `pki issue --name "Dr Li Wei"` made).
    pub certificate: String,
    /// Control command rate (Hz).
    pub rate_hz: f64,
    /// Master-to-PSM motion scale.
    pub scale: f64,
    /// Tremor filter cut-off (Hz), 4th-order Butterworth.
    pub tremor_cutoff_hz: f64,
    pub input: InputConfig,
    /// Stop after this many seconds (default: the length of the input).
    pub duration_s: Option<f64>,
    /// Scripted operator: press engage again after the station fell back to HOLD or READY
    /// within a session, once state reports flow again for `reengage_after_ms` (a surgeon
    /// presses the pedal). Every new session (a reconnect) needs its own engage, which the
    /// scripted operator presses once the station is ready.
    pub auto_reengage: bool,
    pub reengage_after_ms: u64,
    pub clock_ping_ms: u64,
    /// No datagram from the station for this long: the link is lost; the console closes the
    /// connection and reconnects with backoff (ms).
    pub link_timeout_ms: u64,
    /// First wait before reconnecting (ms); doubles each failed attempt up to `reconnect_max_ms`.
    pub reconnect_initial_ms: u64,
    pub reconnect_max_ms: u64,
    /// The console's clock: `{ kind = "monotonic" }`, or `{ kind = "disciplined", max_error_us =
    /// N }` where the host's clock is disciplined to a common time scale (docs/telesurgery.md).
    pub time_source: TimeSource,
    /// Where session recordings go (MCAP); none: not recorded.
    pub record_dir: Option<PathBuf>,
    /// Where the station's video frames go (docs/video.md); none: video streams are ignored.
    #[serde(skip)]
    pub video: Option<crate::video::VideoFeed>,
    /// The clock zero, when the console shares one with a station in the same process (demo).
    #[serde(skip)]
    pub shared_epoch: Option<Instant>,
    /// With `shared_epoch`: the control loop's deadlines fall at the epoch + this + whole
    /// periods. A station given the same epoch ticks at the epoch + whole periods, so the phase
    /// between the console's sends and the servo's ticks is this, not chance (`medlink bench
    /// video` holds it equal in the runs it compares). None: the loop starts when it starts.
    #[serde(skip)]
    pub control_phase: Option<Duration>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            station: SocketAddr::from(([127, 0, 0, 1], 4433)),
            server_name: "localhost".into(),
            pki_dir: PathBuf::from("pki"),
            certificate: "console".to_string(),
            rate_hz: 1000.0,
            scale: 0.2,
            tremor_cutoff_hz: 6.0,
            input: InputConfig::Suturing { seed: 1 },
            duration_s: None,
            auto_reengage: true,
            reengage_after_ms: 500,
            clock_ping_ms: 20,
            link_timeout_ms: 1_500,
            reconnect_initial_ms: 100,
            reconnect_max_ms: 2_000,
            time_source: TimeSource::Monotonic,
            record_dir: Some(PathBuf::from("recordings")),
            shared_epoch: None,
            control_phase: None,
            video: None,
        }
    }
}

impl ConsoleConfig {
    pub fn pki_paths(&self) -> PkiPaths {
        PkiPaths::in_dir(&self.pki_dir, &self.certificate)
    }

    /// The session core's configuration, for a session clock that started at `epoch`.
    pub fn session(&self, epoch: Instant) -> ConsoleSessionConfig {
        ConsoleSessionConfig {
            scale: self.scale,
            tremor_cutoff_hz: self.tremor_cutoff_hz,
            clock_ping: Duration::from_millis(self.clock_ping_ms.max(1)),
            clock: link::clock::announce(self.time_source, epoch),
            operator: None,
        }
    }
}
