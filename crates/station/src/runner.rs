//! Starts a station: the network thread (tokio, current-thread runtime) and the dedicated 1 kHz
//! servo thread, joined by lock-free queues; and stops it, returning the final report.

use crate::config::StationConfig;
use crate::core::{Inbound, StationCore};
use crate::net::{self, Outbound, Shared};
use crate::report::StationReport;
use crossbeam_queue::ArrayQueue;
use link::{Identity, LinkError, Pacer, PkiError};
use proto::Datagram;
use proto::datagram::MAX_DATAGRAM_LEN;
use safety::Request;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::mpsc;

#[derive(Debug, Error)]
pub enum StationError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("the start joints are not valid for the arm: {0}")]
    Arm(#[from] robot::arm::ArmError),
    #[error("servo_rate_hz must be between 1 and 10000, got {0}")]
    BadRate(f64),
    #[error("could not start a thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("the network thread stopped before it was ready")]
    NetworkThread,
}

pub struct StationHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    endpoint: quinn::Endpoint,
    servo: JoinHandle<StationReport>,
    net: JoinHandle<()>,
}

impl StationHandle {
    /// Loads the PKI, opens the QUIC endpoint and starts both threads.
    pub fn start(config: &StationConfig) -> Result<Self, StationError> {
        if !(1.0..=10_000.0).contains(&config.servo_rate_hz) {
            return Err(StationError::BadRate(config.servo_rate_hz));
        }
        let identity = Identity::load(&config.pki_paths())?;
        let shared = Arc::new(Shared {
            epoch: Instant::now(),
            inbound: ArrayQueue::new(4096),
            connection: Mutex::new(None),
            report_requests: ArrayQueue::new(8),
            clock_ping: Duration::from_millis(config.clock_ping_ms.max(1)),
        });
        let core = StationCore::new(
            config.supervisor.clone(),
            robot::script::SurgicalScript::psm_start_joints(),
            shared.now(),
        )?;
        let (outbound_tx, outbound_rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let listen = config.listen;
        let net_shared = shared.clone();
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
                    match link::server_endpoint(listen, identity) {
                        Ok(endpoint) => {
                            let _ = ready_tx.send(Ok(endpoint.clone()));
                            net::serve(endpoint, net_shared, outbound_rx).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.into()));
                        }
                    }
                });
            })?;
        let endpoint = ready_rx.recv().map_err(|_| StationError::NetworkThread)??;
        let local_addr = endpoint.local_addr()?;
        tracing::info!(%local_addr, "station listening");
        let stop = Arc::new(AtomicBool::new(false));
        let period = Duration::from_secs_f64(1.0 / config.servo_rate_hz);
        let (servo_shared, servo_stop) = (shared.clone(), stop.clone());
        let servo = std::thread::Builder::new()
            .name("station-servo".into())
            .spawn(move || servo_loop(core, &servo_shared, &outbound_tx, &servo_stop, period))?;
        Ok(Self {
            local_addr,
            shared,
            stop,
            endpoint,
            servo,
            net,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A request from the station itself (e-stop button, clearing an e-stop or a fault).
    pub fn local_request(&self, request: Request) {
        self.shared.push_inbound(Inbound::Request(request));
    }

    /// Stops both threads and returns the final report.
    pub fn shutdown(self) -> StationReport {
        self.stop.store(true, Ordering::SeqCst);
        let report = self.servo.join().unwrap_or_default();
        self.endpoint.close(0u32.into(), b"station shutting down");
        let _ = self.net.join();
        report
    }
}

/// The 1 kHz loop: drain inbound items, tick the core, publish state and transitions.
fn servo_loop(
    mut core: StationCore,
    shared: &Shared,
    outbound: &mpsc::UnboundedSender<Outbound>,
    stop: &AtomicBool,
    period: Duration,
) -> StationReport {
    let mut pacer = Pacer::new(period);
    let mut buf = [0u8; MAX_DATAGRAM_LEN];
    let report = |core: &StationCore, pacer: &Pacer, now| {
        let mut report = core.report(now);
        report.servo_ticks = pacer.stats().ticks;
        report.servo_missed_deadlines = pacer.stats().missed;
        report
    };
    let drain = |core: &mut StationCore, now| {
        while let Some(item) = shared.inbound.pop() {
            if let (Err(reason), Inbound::Request(request)) = (core.handle(item, now), item) {
                tracing::warn!(?request, reason, "request refused");
                let _ = outbound.send(Outbound::Refused { request, reason });
            }
        }
    };
    while !stop.load(Ordering::Relaxed) {
        pacer.wait();
        let now = shared.now();
        drain(&mut core, now);
        let state = core.tick(now);
        for t in core.drain_transitions() {
            tracing::info!(
                from = t.from.name(),
                to = t.to.name(),
                reason = t.reason.name(),
                "supervisor transition"
            );
            let _ = outbound.send(Outbound::Transition(t));
        }
        if let Ok(slot) = shared.connection.lock()
            && let Some(connection) = slot.as_ref()
        {
            net::send_datagram(connection, &Datagram::State(state), &mut buf);
        }
        while let Some(reply) = shared.report_requests.pop() {
            let _ = reply.send(report(&core, &pacer, now));
        }
    }
    // Requests queued just before the stop (a last e-stop) still reach the supervisor and its log.
    let now = shared.now();
    drain(&mut core, now);
    core.tick(now);
    report(&core, &pacer, now)
}
