//! A console session: connects to the station with mutual TLS, runs the operator core on a
//! dedicated 1 kHz thread that sends control datagrams, and on the network side answers clock
//! pings, tracks station state, carries events, and collects the station's final report.

use crate::config::ConsoleConfig;
use crate::input::{self, InputError};
use crate::operator::{Operator, OperatorOutput, StationView};
use crate::report::ConsoleReport;
use bytes::Bytes;
use link::wire::pose_from_wire;
use link::{AsyncPacer, EventReader, EventWriter, Identity, LatencyRecorder, LinkError, PkiError};
use proto::datagram::MAX_DATAGRAM_LEN;
use proto::{ClockPing, ClockPong, ClockSync, Datagram, Event, StateReport, SupervisorStateCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("rate_hz must be between 1 and 10000, got {0}")]
    BadRate(f64),
    #[error("the station never reported READY within {0:?}; is it in e-stop or fault?")]
    NeverReady(Duration),
    #[error("could not start: {0}")]
    Io(#[from] std::io::Error),
}

/// How long to wait for the station to become READY, and for its final report.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const REPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The newest state report and when it arrived.
type LatestState = Mutex<Option<(StateReport, Instant)>>;

/// Runs a whole session on the calling thread and returns its report.
pub fn run(config: &ConsoleConfig) -> Result<ConsoleReport, ConsoleError> {
    if !(1.0..=10_000.0).contains(&config.rate_hz) {
        return Err(ConsoleError::BadRate(config.rate_hz));
    }
    let (master, duration_s) = input::build(&config.input, config.duration_s)?;
    let operator = Operator::new(
        master,
        duration_s,
        config.scale,
        config.tremor_cutoff_hz,
        config.auto_reengage,
        config.reengage_after_ms as f64 / 1e3,
    );
    let identity = Identity::load(&config.pki_paths())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(session(config, identity, operator))
}

async fn session(
    config: &ConsoleConfig,
    identity: Identity,
    operator: Operator,
) -> Result<ConsoleReport, ConsoleError> {
    let epoch = Instant::now();
    let endpoint = link::client_endpoint(identity, config.station)?;
    let connection = link::connect(&endpoint, config.station, &config.server_name).await?;
    tracing::info!(station = %config.station, "connected with mutual TLS");
    let (send, recv) = connection.open_bi().await.map_err(LinkError::from)?;
    let mut writer = EventWriter::new(send);
    writer
        .send(&Event::Hello {
            role: "console".into(),
            wire_version: proto::WIRE_VERSION,
        })
        .await?;
    writer.send(&Event::Enable).await?;

    let latest: Arc<LatestState> = Arc::new(Mutex::new(None));
    let rtt = Arc::new(Mutex::new(LatencyRecorder::with_capacity(100_000)));
    let datagrams = tokio::spawn(read_datagrams(
        connection.clone(),
        epoch,
        latest.clone(),
        rtt.clone(),
    ));
    let pinger = tokio::spawn(ping(
        connection.clone(),
        epoch,
        Duration::from_millis(config.clock_ping_ms.max(1)),
    ));
    let (report_tx, report_rx) = oneshot::channel();
    let mut report = ConsoleReport {
        duration_s: operator.duration_s(),
        ..ConsoleReport::default()
    };
    let transitions = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let reader = tokio::spawn(read_events(
        EventReader::new(recv),
        transitions.clone(),
        report_tx,
    ));

    wait_until_ready(&latest).await?;
    let (events_tx, mut events_rx) = mpsc::unbounded_channel::<Event>();
    let period = Duration::from_secs_f64(1.0 / config.rate_hz);
    // The sender is a task of this runtime, paced by a timerfd: the thread that computes a
    // command also encrypts and sends its packet, with no wake-up of another thread between.
    let mut sender = tokio::spawn(send_loop(
        operator,
        connection.clone(),
        latest.clone(),
        events_tx,
        epoch,
        period,
    ));

    // Forward the operator's events until it finishes.
    let (stats, pacer) = loop {
        tokio::select! {
            Some(event) = events_rx.recv() => writer.send(&event).await?,
            done = &mut sender => break done.map_err(std::io::Error::other)??,
        }
    };
    while let Ok(event) = events_rx.try_recv() {
        writer.send(&event).await?;
    }
    writer.send(&Event::Disengage).await?;
    writer.send(&Event::Bye).await?;
    report.operator = stats;
    report.sender_ticks = pacer.ticks;
    report.sender_missed_deadlines = pacer.missed;
    match tokio::time::timeout(REPORT_TIMEOUT, report_rx).await {
        Ok(Ok(station)) => report.station = Some(station),
        _ => tracing::warn!("the station sent no report"),
    }
    connection.close(0u32.into(), b"bye");
    datagrams.abort();
    pinger.abort();
    reader.abort();
    if let Ok(recorder) = rtt.lock() {
        report.rtt_us = recorder.percentiles();
    }
    if let Ok(mut seen) = transitions.lock() {
        (report.transitions_seen, report.refused) = std::mem::take(&mut *seen);
    }
    endpoint.wait_idle().await;
    Ok(report)
}

async fn wait_until_ready(latest: &LatestState) -> Result<(), ConsoleError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline {
        let state = latest
            .lock()
            .ok()
            .and_then(|s| s.map(|(r, _)| r.supervisor_state));
        if matches!(
            SupervisorStateCode::from_byte(state.unwrap_or(u8::MAX)),
            Some(SupervisorStateCode::Ready)
        ) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err(ConsoleError::NeverReady(READY_TIMEOUT))
}

/// The control task: paced at the control rate, runs the operator and sends commands.
async fn send_loop(
    mut operator: Operator,
    connection: quinn::Connection,
    latest: Arc<LatestState>,
    events: mpsc::UnboundedSender<Event>,
    epoch: Instant,
    period: Duration,
) -> std::io::Result<(crate::operator::OperatorStats, link::PacerStats)> {
    let mut pacer = AsyncPacer::new(period)?;
    let start = Instant::now();
    let mut buf = [0u8; MAX_DATAGRAM_LEN];
    loop {
        pacer.wait().await?;
        let view = latest.lock().ok().and_then(|s| *s).and_then(|(state, at)| {
            Some(StationView {
                state: SupervisorStateCode::from_byte(state.supervisor_state)?,
                tip: pose_from_wire(&state.tip)?,
                age_s: at.elapsed().as_secs_f64(),
            })
        });
        let now_us = epoch.elapsed().as_micros() as i64;
        let running = operator.step(
            start.elapsed().as_secs_f64(),
            now_us,
            view,
            |out| match out {
                OperatorOutput::Command(cmd) => {
                    let n = Datagram::Control(cmd).encode(&mut buf);
                    // Never queue stale commands behind newer ones: drop if the send buffer is full.
                    if connection.datagram_send_buffer_space() >= n {
                        let _ = connection.send_datagram(Bytes::copy_from_slice(&buf[..n]));
                    }
                }
                OperatorOutput::Event(event) => {
                    let _ = events.send(event);
                }
            },
        );
        if !running {
            return Ok((operator.stats(), pacer.stats()));
        }
    }
}

async fn read_datagrams(
    connection: quinn::Connection,
    epoch: Instant,
    latest: Arc<LatestState>,
    rtt: Arc<Mutex<LatencyRecorder>>,
) {
    let mut clock = ClockSync::new();
    let mut buf = [0u8; MAX_DATAGRAM_LEN];
    while let Ok(bytes) = connection.read_datagram().await {
        let now_us = epoch.elapsed().as_micros() as i64;
        match Datagram::decode(&bytes) {
            Ok(Datagram::State(state)) => {
                if let Ok(mut slot) = latest.lock() {
                    *slot = Some((state, Instant::now()));
                }
            }
            Ok(Datagram::Ping(ping)) => {
                let pong = ClockPong {
                    id: ping.id,
                    t1_us: ping.t1_us,
                    t2_us: now_us,
                    t3_us: epoch.elapsed().as_micros() as i64,
                };
                let n = Datagram::Pong(pong).encode(&mut buf);
                let _ = connection.send_datagram(Bytes::copy_from_slice(&buf[..n]));
            }
            Ok(Datagram::Pong(pong)) => {
                if let (Some(sample), Ok(mut recorder)) = (clock.on_pong(&pong, now_us), rtt.lock())
                {
                    recorder.record_ns(sample.rtt_us.max(0) as u64 * 1000);
                }
            }
            Ok(Datagram::Control(_)) => {
                tracing::debug!("ignoring a control datagram from the station")
            }
            Err(e) => tracing::debug!(reason = e.reason(), "malformed datagram from the station"),
        }
    }
}

async fn ping(connection: quinn::Connection, epoch: Instant, every: Duration) {
    let mut timer = tokio::time::interval(every);
    let mut buf = [0u8; MAX_DATAGRAM_LEN];
    for id in 1.. {
        timer.tick().await;
        let n = Datagram::Ping(ClockPing {
            id,
            t1_us: epoch.elapsed().as_micros() as i64,
        })
        .encode(&mut buf);
        if connection
            .send_datagram(Bytes::copy_from_slice(&buf[..n]))
            .is_err()
        {
            return;
        }
    }
}

type SeenLog = Mutex<(Vec<String>, Vec<String>)>;

async fn read_events(
    mut reader: EventReader,
    seen: Arc<SeenLog>,
    report: oneshot::Sender<station::StationReport>,
) {
    loop {
        match reader.next().await {
            Ok(Some(Event::Transition {
                from,
                to,
                reason,
                at_us,
            })) => {
                tracing::info!(?from, ?to, %reason, at_ms = at_us as f64 / 1e3, "station supervisor transition");
                if let Ok(mut log) = seen.lock() {
                    log.0.push(format!("{from:?}->{to:?} ({reason})"));
                }
            }
            Ok(Some(Event::Refused { request, reason })) => {
                tracing::warn!(%request, %reason, "the station refused a request");
                if let Ok(mut log) = seen.lock() {
                    log.1.push(format!("{request}: {reason}"));
                }
            }
            Ok(Some(Event::Report { json })) => {
                match serde_json::from_str(&json) {
                    Ok(parsed) => {
                        let _ = report.send(parsed);
                    }
                    Err(e) => tracing::warn!(error = %e, "the station's report is not valid JSON"),
                }
                return;
            }
            Ok(Some(Event::Hello { role, wire_version })) => {
                tracing::info!(%role, wire_version, "peer hello")
            }
            Ok(Some(other)) => tracing::debug!(?other, "ignoring event"),
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "event stream failed");
                return;
            }
        }
    }
}
