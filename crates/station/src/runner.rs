//! Starts a station: the network thread (tokio, current-thread runtime) and the dedicated servo
//! thread, which owns the session core behind its recording tap; and stops it, returning the
//! report of the station's whole life.

use crate::bedside_view::{self, BedsideView};
use crate::camera::{self, CameraThread, VideoStats};
use crate::config::StationConfig;
use crate::gate::{Gate, StationGate};
use crate::hifu_device::{self, HifuKit, HifuThread};
use crate::net::{self, HifuLink, Malformed, VideoLink};
use crate::shared::{AuditSink, Shared};
use link::{Identity, LinkError, Pacer, PkiError};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use teleop::{
    LocalRequest, Recorded, StationInput, StationOutput, StationReport, StationSession,
    StationSessionConfig, Tap,
};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StationError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("the start joints are not valid for the arm: {0}")]
    Arm(#[from] robot::arm::ArmError),
    #[error("servo_rate_hz must be between 100 and 10000, got {0}")]
    BadRate(f64),
    #[error("could not start a thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("the network thread stopped before it was ready")]
    NetworkThread,
    #[error("starting the recording: {0}")]
    Tap(String),
    #[error(transparent)]
    Policy(#[from] crate::admission::AdmissionError),
    #[error("the camera: {0}")]
    Camera(#[from] camera::CameraError),
    #[error(transparent)]
    Monitor(#[from] crate::monitor::MonitorError),
}

/// The station's local input (buttons, the bedside team's commands), usable from any thread.
#[derive(Clone)]
pub struct Bedside {
    shared: Arc<Shared>,
}

impl Bedside {
    pub fn request(&self, request: LocalRequest) {
        self.shared.push_inbound(StationInput::Local { request });
    }
}

pub struct StationHandle {
    local_addr: SocketAddr,
    view: Arc<BedsideView>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    endpoint: quinn::Endpoint,
    servo: JoinHandle<StationReport>,
    net: JoinHandle<()>,
    malformed: Malformed,
    hifu: Option<HifuThread>,
    camera: Option<CameraThread>,
    monitor: Option<JoinHandle<()>>,
}

impl StationHandle {
    /// Loads the PKI, the revocation list and the admission policy, opens the QUIC endpoint and
    /// starts both threads. Every input of the session core and every output goes through the tap
    /// that `make_tap` builds from the core's final configuration (a recorder, which stores it, or
    /// nothing); every audit record goes to `audit` (the station's audit log, or nowhere).
    pub fn start<T, E>(
        config: &StationConfig,
        audit: Option<Box<dyn AuditSink>>,
        make_tap: impl FnOnce(&StationSessionConfig) -> Result<T, E>,
    ) -> Result<Self, StationError>
    where
        T: Tap<StationInput, StationOutput> + Send + 'static,
        E: std::fmt::Display,
    {
        Self::start_with_hifu(config, audit, None, make_tap)
    }

    /// As `start`, with a HIFU device beside the arm when `hifu` is given (its own thread).
    pub fn start_with_hifu<T, E>(
        config: &StationConfig,
        audit: Option<Box<dyn AuditSink>>,
        hifu: Option<HifuKit>,
        make_tap: impl FnOnce(&StationSessionConfig) -> Result<T, E>,
    ) -> Result<Self, StationError>
    where
        T: Tap<StationInput, StationOutput> + Send + 'static,
        E: std::fmt::Display,
    {
        if !(100.0..=10_000.0).contains(&config.servo_rate_hz) {
            return Err(StationError::BadRate(config.servo_rate_hz));
        }
        let identity = Identity::load(&config.pki_paths())?;
        let revocations = link::Revocations::for_identity(&identity)?;
        let policy = match &config.policy {
            Some(path) => Some(Box::new(crate::admission::Admission::load(path)?)
                as Box<dyn crate::gate::PolicySource>),
            None => None,
        };
        let gate: Box<dyn Gate> = Box::new(StationGate::new(revocations.clone(), policy));
        let bedside = match &config.bedside_cert {
            Some(path) => Some(link::identity_of_file(path)?),
            None => None,
        };
        let epoch = config.shared_epoch.unwrap_or_else(Instant::now);
        let (notifier, make_waiter) = link::wake::eventfd()?;
        let shared = Arc::new(Shared::new(epoch, notifier, audit));
        let session = StationSessionConfig {
            own_clock: link::clock::announce(config.time_source, epoch),
            bedside,
            hifu: hifu.as_ref().map(HifuKit::station_config),
            ..config.session()
        };
        let tap = make_tap(&session).map_err(|e| StationError::Tap(e.to_string()))?;
        let core = StationSession::new(session)?;
        let malformed: Malformed = Arc::new(Mutex::new(Default::default()));
        let (hifu_thread, hifu_link) = match hifu {
            Some(kit) => {
                let (frames_tx, frames) = tokio::sync::mpsc::unbounded_channel();
                let thread = hifu_device::spawn(kit, shared.clone(), frames_tx)?;
                let link = HifuLink {
                    orders: thread.orders.clone(),
                    frames,
                };
                (Some(thread), Some(link))
            }
            None => (None, None),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let (camera_thread, camera_link) = match &config.camera {
            Some(settings) => {
                let (frames_tx, frames) = tokio::sync::mpsc::unbounded_channel();
                let thread = camera::spawn(settings, shared.clone(), stop.clone(), frames_tx)?;
                let link = VideoLink {
                    channel: thread.channel.clone(),
                    frames,
                };
                (Some(thread), Some(link))
            }
            None => (None, None),
        };
        let monitor = match &config.monitor {
            Some(settings) => Some(crate::monitor::spawn(
                settings,
                shared.clone(),
                stop.clone(),
            )?),
            None => None,
        };
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let listen = config.listen;
        let (net_shared, net_malformed) = (shared.clone(), malformed.clone());
        let net = std::thread::Builder::new()
            .name("station-net".into())
            .spawn(move || {
                // Commands reach the supervisor through this thread: same priority as the servo.
                link::pacer::tune_current_thread();
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(StationError::Thread(e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let started = make_waiter()
                        .map_err(StationError::Thread)
                        .and_then(|waiter| {
                            let endpoint =
                                link::server_endpoint_with(listen, identity, &revocations)?;
                            Ok((waiter, endpoint))
                        });
                    match started {
                        Ok((waiter, endpoint)) => {
                            let _ = ready_tx.send(Ok(endpoint.clone()));
                            net::serve(
                                endpoint,
                                net_shared,
                                waiter,
                                net_malformed,
                                gate,
                                hifu_link,
                                camera_link,
                            )
                            .await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })?;
        let endpoint = ready_rx.recv().map_err(|_| StationError::NetworkThread)??;
        let local_addr = endpoint.local_addr()?;
        tracing::info!(%local_addr, "station listening");
        let period = config.servo_period();
        let grid = config.shared_epoch;
        let (servo_shared, servo_stop) = (shared.clone(), stop.clone());
        let core = Recorded::new(core, tap);
        let view = Arc::new(BedsideView::default());
        let servo_view = view.clone();
        let servo = std::thread::Builder::new()
            .name("station-servo".into())
            .spawn(move || {
                servo_loop(core, &servo_shared, &servo_stop, period, grid, &servo_view)
            })?;
        Ok(Self {
            local_addr,
            view,
            shared,
            stop,
            endpoint,
            servo,
            net,
            malformed,
            hifu: hifu_thread,
            camera: camera_thread,
            monitor,
        })
    }

    /// What the video channel has done so far (none without a camera).
    pub fn video_stats(&self) -> Option<VideoStats> {
        self.camera.as_ref().map(|c| c.channel.stats())
    }

    /// The newest video frames' times through the station (empty without a camera).
    pub fn video_timeline(&self) -> Vec<crate::camera::FrameTimes> {
        self.camera
            .as_ref()
            .map(|c| c.channel.timeline())
            .unwrap_or_default()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The station clock's zero (shared with an in-process console by the demo).
    pub fn epoch(&self) -> Instant {
        self.shared.epoch()
    }

    /// A request from the station itself (e-stop button, clearing an e-stop or a fault, the
    /// bedside team's take-over and hand-back).
    pub fn local_request(&self, request: LocalRequest) {
        self.bedside().request(request);
    }

    /// What the bedside panel shows, kept up to date by the servo thread.
    pub fn view(&self) -> Arc<BedsideView> {
        self.view.clone()
    }

    /// The station's local input, for another thread (the demo's scheduled take-over).
    pub fn bedside(&self) -> Bedside {
        Bedside {
            shared: self.shared.clone(),
        }
    }

    /// Stops both threads and returns the report of the station's whole life.
    pub fn shutdown(self) -> StationReport {
        self.stop.store(true, Ordering::SeqCst);
        let mut report = self.servo.join().unwrap_or_default();
        if let Some(camera) = self.camera {
            let _ = camera.handle.join();
        }
        if let Some(monitor) = self.monitor {
            let _ = monitor.join();
        }
        self.endpoint.close(0u32.into(), b"station shutting down");
        self.shared.wake_network();
        let _ = self.net.join();
        if let Some(HifuThread { orders, handle }) = self.hifu {
            // Without orders the device thread switches the beam off and ends.
            drop(orders);
            let _ = handle.join();
        }
        if let Ok(counts) = self.malformed.lock() {
            report.malformed = counts.clone();
        }
        let stopped = format!(
            "{} sessions, {} commands applied, unsafe_applied {}",
            report.sessions, report.commands_applied, report.unsafe_applied
        );
        let at_us = self.shared.now().as_micros() as i64;
        self.shared.audit(trust::AuditRecord::new(
            at_us,
            None,
            trust::AuditAction::Stopped,
            "station",
            stopped,
        ));
        report
    }
}

/// The servo loop: every period, hand the queued inputs and one tick to the session core, queue
/// its outputs for the network thread and wake it. Nothing here allocates, logs or locks.
fn servo_loop<T: Tap<StationInput, StationOutput>>(
    mut core: Recorded<StationSession, T>,
    shared: &Shared,
    stop: &AtomicBool,
    period: Duration,
    grid: Option<Instant>,
    view: &BedsideView,
) -> StationReport {
    // On a clock shared with a console in the same process, ticks fall on the epoch's grid
    // (the console can then hold a known phase to them: ConsoleConfig::control_phase).
    let mut pacer = match grid {
        Some(origin) => Pacer::aligned(period, origin),
        None => Pacer::new(period),
    };
    let mut ticks = 0u64;
    while !stop.load(Ordering::Relaxed) {
        pacer.wait();
        let woke = Instant::now();
        let now = shared.now();
        while let Some(input) = shared.pop_inbound() {
            core.drive(input, now, |out| shared.push_outbound(out));
        }
        core.drive(StationInput::Tick, now, |out| shared.push_outbound(out));
        ticks += 1;
        let tip = ticks
            .is_multiple_of(bedside_view::EVERY_TICKS)
            .then(|| shared.pose.load().map(|pose| pose.tip_m))
            .flatten();
        view.observe(core.core(), tip, ticks, now);
        shared
            .servo_missed
            .store(pacer.stats().missed, Ordering::Relaxed);
        shared.wake_network();
        shared
            .servo_work
            .record_us(woke.elapsed().as_micros() as i64);
    }
    // Requests queued just before the stop (a last e-stop) still reach the supervisor.
    let now = shared.now();
    while let Some(input) = shared.pop_inbound() {
        core.drive(input, now, |out| shared.push_outbound(out));
    }
    core.drive(StationInput::Tick, now, |out| shared.push_outbound(out));
    shared.wake_network();
    let mut report = core.core().report(now, true);
    let stats = pacer.stats();
    report.servo_missed_deadlines = stats.missed;
    report.servo_work_us = shared.servo_work.percentiles();
    report
}
