//! A console run: one task on a current-thread runtime owns the session core (`teleop`) and
//! drives it from a 1 kHz timerfd pacer (master samples, the scripted operator's decisions),
//! from the station's datagrams and events, and from the link's life. When the link is lost (the
//! connection ends, or no datagram arrives for `link_timeout_ms`) the console says so, reconnects
//! with exponential backoff, and the new session starts disengaged.

use crate::config::ConsoleConfig;
use crate::hifu::{HifuControls, HifuRun, read_frames, send_plan};
use crate::input::{self, InputError};
use bytes::Bytes;
use link::{AsyncPacer, EventReader, EventWriter, Identity, LinkError, PkiError};
use proto::Datagram;
use proto::datagram::MAX_DATAGRAM_LEN;
use robot::script::MasterInput;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use teleop::console::surgeon::ScriptedSurgeon;
use teleop::hifu::operator::OperatorStep;
use teleop::{
    ConsoleInput, ConsoleOutput, ConsoleReport, ConsoleSession, MasterSample, OperatorAction,
    Recorded, SessionEvent, Tap,
};
use thiserror::Error;
use tokio::sync::mpsc;

#[derive(Debug, Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("rate_hz must be between 100 and 10000, got {0}")]
    BadRate(f64),
    #[error("the station never reported READY within {0:?}; is it in e-stop or fault?")]
    NeverReady(Duration),
    #[error("could not start: {0}")]
    Io(#[from] std::io::Error),
    #[error("starting the recording: {0}")]
    Tap(String),
    #[error("the station refused this console: {0}")]
    Refused(String),
    #[error("the HIFU procedure failed: {0}")]
    Hifu(String),
}

/// How long to keep trying the first connection, to wait for the station to become READY, and
/// to wait for its report at the end.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const REPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// One connection attempt is given up after this long (a handshake lost in an outage would
/// otherwise wait for QUIC's idle timeout), and the next one is made after the backoff.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs a whole console run on the calling thread and returns its report. Every input of the
/// session core and every output goes through the tap that `make_tap` builds from the core's
/// configuration (a recorder, which stores it, or nothing).
pub fn run<T, E>(
    config: &ConsoleConfig,
    controls: Controls,
    make_tap: impl FnOnce(&teleop::ConsoleSessionConfig) -> Result<T, E>,
) -> Result<ConsoleReport, ConsoleError>
where
    T: Tap<ConsoleInput, ConsoleOutput>,
    E: std::fmt::Display,
{
    if !(100.0..=10_000.0).contains(&config.rate_hz) {
        return Err(ConsoleError::BadRate(config.rate_hz));
    }
    let (master, duration_s) = input::build(&config.input, config.duration_s)?;
    let identity = Identity::load(&config.pki_paths())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let epoch = config.shared_epoch.unwrap_or_else(Instant::now);
    let operator = identity
        .chain
        .first()
        .map(|cert| link::identity_of(cert))
        .transpose()?;
    let session = teleop::ConsoleSessionConfig {
        operator,
        ..config.session(epoch)
    };
    let tap = make_tap(&session).map_err(|e| ConsoleError::Tap(e.to_string()))?;
    let core = Recorded::new(ConsoleSession::new(session), tap);
    // The QUIC endpoint must be made inside the runtime.
    runtime.block_on(async {
        Run::new(config, identity, master, duration_s, core, epoch, controls)?
            .drive()
            .await
    })
}

/// What a person at the console adds to the scripted run: commands typed (offer, accept, ...)
/// and where the console's audit records go.
#[derive(Default)]
pub struct Controls {
    /// Operator commands, taken each control period.
    pub actions: Option<std::sync::mpsc::Receiver<OperatorAction>>,
    pub audit: Option<Box<dyn trust::AuditSink>>,
    /// A remote HIFU procedure to run instead of the scripted arm motion.
    pub hifu: Option<HifuControls>,
    /// Sees every thermometry frame the station sends (the OpenIGTLink edge republishes them).
    pub thermometry: Option<crate::igtl::watch::ThermometrySink>,
    /// A person at a web page drives the master instead of the script (no scripted operator:
    /// the page's buttons come through `actions`), until the page link's `stop` is set.
    pub page: Option<std::sync::Arc<crate::ui::PageLink>>,
}

/// What the connection's reader tasks hand to the run, tagged with the connection's generation.
enum Net {
    Datagram(u64, Datagram),
    Event(u64, SessionEvent),
    Frame(u64, hifu::device::ThermometryFrame),
    Lost(u64, String),
}

/// The station's reason, when it closed the connection refusing or dropping this console (code
/// 2: admission, role, revocation): reconnecting would not change its answer.
fn refusal(connection: &quinn::Connection) -> Option<String> {
    match connection.close_reason()? {
        quinn::ConnectionError::ApplicationClosed(close)
            if close.error_code == quinn::VarInt::from_u32(2) =>
        {
            Some(String::from_utf8_lossy(&close.reason).into_owned())
        }
        _ => None,
    }
}

/// An open connection with its event stream.
struct Live {
    generation: u64,
    connection: quinn::Connection,
    writer: EventWriter,
    readers: [tokio::task::JoinHandle<()>; 3],
    last_heard: Instant,
}

type Connecting =
    Pin<Box<dyn Future<Output = Result<(quinn::Connection, EventWriter, EventReader), LinkError>>>>;

struct Run<'a, T: Tap<ConsoleInput, ConsoleOutput>> {
    config: &'a ConsoleConfig,
    endpoint: quinn::Endpoint,
    core: Recorded<ConsoleSession, T>,
    surgeon: ScriptedSurgeon,
    master: Box<dyn MasterInput + Send>,
    duration: Duration,
    epoch: Instant,
    started: Instant,
    tx: mpsc::UnboundedSender<Net>,
    rx: mpsc::UnboundedReceiver<Net>,
    live: Option<Live>,
    generation: u64,
    connecting: Option<Connecting>,
    retry_at: Option<Instant>,
    backoff: Duration,
    attempts: u32,
    last_error: Option<LinkError>,
    script_start: Option<Instant>,
    finished_at: Option<Instant>,
    outputs: Vec<ConsoleOutput>,
    buf: [u8; MAX_DATAGRAM_LEN],
    controls: Controls,
    /// Why the station refused this console, if it did.
    refused: Option<String>,
    hifu: Option<HifuRun>,
}

impl<'a, T: Tap<ConsoleInput, ConsoleOutput>> Run<'a, T> {
    fn new(
        config: &'a ConsoleConfig,
        identity: Identity,
        master: Box<dyn MasterInput + Send>,
        duration_s: f64,
        core: Recorded<ConsoleSession, T>,
        epoch: Instant,
        mut controls: Controls,
    ) -> Result<Self, ConsoleError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let hifu = controls.hifu.take().map(HifuRun::new);
        Ok(Self {
            endpoint: link::client_endpoint(identity, config.station)?,
            config,
            core,
            surgeon: ScriptedSurgeon::new(
                config.auto_reengage,
                Duration::from_millis(config.reengage_after_ms),
            ),
            master,
            duration: Duration::from_secs_f64(duration_s),
            epoch,
            started: Instant::now(),
            tx,
            rx,
            live: None,
            generation: 0,
            connecting: None,
            retry_at: Some(Instant::now()),
            backoff: Duration::from_millis(config.reconnect_initial_ms.max(1)),
            attempts: 0,
            last_error: None,
            script_start: None,
            finished_at: None,
            outputs: Vec::with_capacity(16),
            buf: [0; MAX_DATAGRAM_LEN],
            controls,
            refused: None,
            hifu,
        })
    }

    /// The console's session clock.
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    async fn drive(mut self) -> Result<ConsoleReport, ConsoleError> {
        let period = Duration::from_secs_f64(1.0 / self.config.rate_hz);
        let mut pacer = match (self.config.shared_epoch, self.config.control_phase) {
            (Some(epoch), Some(phase)) => AsyncPacer::aligned(period, epoch + phase)?,
            _ => AsyncPacer::new(period)?,
        };
        loop {
            tokio::select! {
                biased;
                tick = pacer.wait() => {
                    tick?;
                    if self.control_tick().await? {
                        break;
                    }
                }
                Some(net) = self.rx.recv() => self.on_net(net).await,
                connected = async {
                    match self.connecting.as_mut() {
                        Some(connecting) => connecting.await,
                        None => std::future::pending().await,
                    }
                } => {
                    self.connecting = None;
                    self.on_connect_result(connected).await;
                }
            }
        }
        let stats = pacer.stats();
        if let Some(live) = self.live.take() {
            live.connection.close(0u32.into(), b"bye");
            for reader in &live.readers {
                reader.abort();
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.endpoint.wait_idle()).await;
        let mut report = self.core.core().report();
        report.sender_ticks = stats.ticks;
        report.sender_missed_deadlines = stats.missed;
        report.duration_s = self
            .script_start
            .map_or(0.0, |s| s.elapsed().min(self.duration).as_secs_f64());
        let stopped = format!(
            "{:.1} s, {} sessions, {} commands sent",
            report.duration_s,
            report.sessions.len(),
            report.operator.commands_sent
        );
        self.audit_own(trust::AuditAction::Stopped, "console".into(), stopped);
        match self.hifu.as_ref().and_then(|h| h.operator.outcome()) {
            Some(Err(reason)) => Err(ConsoleError::Hifu(reason.clone())),
            _ => Ok(report),
        }
    }

    /// One control period; returns true when the run is over.
    async fn control_tick(&mut self) -> Result<bool, ConsoleError> {
        if let Some(reason) = self.refused.take() {
            return Err(ConsoleError::Refused(reason));
        }
        self.watch_link().await?;
        let now = self.now();
        let view = self.core.core().view(now);
        if self.script_start.is_none() {
            let ready = matches!(
                view.station_state,
                Some(
                    proto::SupervisorStateCode::Ready
                        | proto::SupervisorStateCode::Hold
                        | proto::SupervisorStateCode::Engaged
                )
            );
            // A console admitted to watch only runs its script without waiting for the arm; a
            // HIFU procedure needs no arm.
            let hifu_admitted = self.hifu.is_some() && view.connected && view.may_operate.is_some();
            // A person at a page enables and engages with the page's buttons.
            let page_admitted =
                self.controls.page.is_some() && view.connected && view.may_operate.is_some();
            if ready || view.may_operate == Some(false) || hifu_admitted || page_admitted {
                self.script_start = Some(Instant::now());
            } else if self.live.is_some() && self.started.elapsed() > READY_TIMEOUT {
                return Err(ConsoleError::NeverReady(READY_TIMEOUT));
            }
        }
        let hifu_over = self
            .hifu
            .as_ref()
            .is_some_and(|h| h.operator.outcome().is_some());
        let page_stopped = self
            .controls
            .page
            .as_ref()
            .is_some_and(|p| p.stop.load(std::sync::atomic::Ordering::Relaxed));
        let input = match (self.script_start.map(|s| s.elapsed()), &self.controls.page) {
            (_, Some(_)) if page_stopped && self.finished_at.is_none() => self.finish(),
            (_, Some(page)) if !page.drives => self.scripted_input(hifu_over),
            // The page's hand, while the page is heard; silence: no command at all, so the
            // station holds on its own clock.
            (_, Some(page)) => {
                let page_now = page.now();
                let master = page.master();
                page.view().on_page(master.liveness(page_now), page_now);
                match master.sample(page_now) {
                    Some(sample) if self.finished_at.is_none() && self.script_start.is_some() => {
                        ConsoleInput::Master { sample }
                    }
                    _ => ConsoleInput::Tick,
                }
            }
            _ => self.scripted_input(hifu_over),
        };
        self.feed(input, now).await;
        if let Some(shift_us) = self
            .config
            .video
            .as_ref()
            .and_then(|v| v.take_capture_shift())
        {
            self.feed(ConsoleInput::VideoPacing { shift_us }, now).await;
        }
        let view = self.core.core().view(now);
        if let Some(page) = &self.controls.page {
            page.view().on_view(&view);
        }
        if self.controls.page.as_ref().is_some_and(|p| p.drives) {
            // The person at the page presses the buttons.
        } else if self.hifu.is_some() {
            if self.script_start.is_some() && self.finished_at.is_none() {
                self.hifu_step(now).await;
            }
        } else if let Some(action) = self.surgeon.decide(&view) {
            self.feed(ConsoleInput::Operator { action }, now).await;
        }
        // Typed commands wait until the station has admitted this console.
        let admitted = view.connected && view.may_operate.is_some();
        let typed = self
            .controls
            .actions
            .as_ref()
            .filter(|_| admitted)
            .and_then(|rx| rx.try_recv().ok());
        if let Some(action) = typed {
            self.feed(ConsoleInput::Operator { action }, now).await;
        }
        Ok(self.finished_at.is_some_and(|at| {
            self.live.is_none() || self.report_is_current() || at.elapsed() > REPORT_TIMEOUT
        }))
    }

    /// The scripted input (or the HIFU procedure's ticks) for this control period.
    fn scripted_input(&mut self, hifu_over: bool) -> ConsoleInput {
        match self.script_start.map(|s| s.elapsed()) {
            Some(_) if self.hifu.is_some() && !hifu_over => ConsoleInput::Tick,
            Some(t) if t < self.duration && self.finished_at.is_none() && self.hifu.is_none() => {
                let t_s = t.as_secs_f64();
                match self.master.pose_at(t_s) {
                    Some(pose) => ConsoleInput::Master {
                        sample: MasterSample {
                            position: pose.position,
                            rotation: pose.rotation,
                            jaw_rad: self.master.jaw_at(t_s).unwrap_or(0.0),
                        },
                    },
                    None => self.finish(),
                }
            }
            Some(_) if self.finished_at.is_none() => self.finish(),
            _ => ConsoleInput::Tick,
        }
    }

    /// One step of the HIFU procedure: typed commands, the operator's next step, the view.
    async fn hifu_step(&mut self, now: Duration) {
        let Some(hifu) = self.hifu.as_mut() else {
            return;
        };
        hifu.take_commands();
        let step = hifu.poll(now);
        hifu.show();
        match step {
            Some(OperatorStep::SendPlan) => {
                if let Some(live) = &self.live {
                    let plan = hifu.operator.plan().clone();
                    let connection = live.connection.clone();
                    tokio::spawn(async move {
                        if let Err(e) = send_plan(connection, plan).await {
                            tracing::warn!(error = %e, "could not send the plan");
                        }
                    });
                }
            }
            Some(OperatorStep::Request { digest, request }) => {
                let action = OperatorAction::Hifu { digest, request };
                self.feed(ConsoleInput::Operator { action }, now).await;
            }
            None => {}
        }
    }

    fn finish(&mut self) -> ConsoleInput {
        self.finished_at = Some(Instant::now());
        ConsoleInput::Operator {
            action: OperatorAction::Finish,
        }
    }

    /// Whether the station's report of the session that is open now has arrived.
    fn report_is_current(&self) -> bool {
        self.core.core().last_session_reported()
    }

    /// Declares the link lost when the station fell silent; starts (re)connecting when due.
    async fn watch_link(&mut self) -> Result<(), ConsoleError> {
        let timeout = Duration::from_millis(self.config.link_timeout_ms.max(1));
        if let Some(live) = &self.live
            && live.last_heard.elapsed() > timeout
        {
            let reason = format!("no datagram from the station for {timeout:?}");
            self.lose_link(reason);
        }
        if self.live.is_none()
            && self.connecting.is_none()
            && self.finished_at.is_none()
            && self.retry_at.is_some_and(|at| Instant::now() >= at)
        {
            if self.generation == 0 && self.started.elapsed() > CONNECT_TIMEOUT {
                return Err(self.last_error.take().map_or(
                    ConsoleError::NeverReady(CONNECT_TIMEOUT),
                    ConsoleError::Link,
                ));
            }
            self.retry_at = None;
            self.attempts += 1;
            self.connecting = Some(Box::pin(connect(
                self.endpoint.clone(),
                self.config.station,
                self.config.server_name.clone(),
            )));
        }
        Ok(())
    }

    fn lose_link(&mut self, reason: String) {
        let Some(live) = self.live.take() else {
            return;
        };
        tracing::warn!(%reason, "link to the station lost; reconnecting (the arm holds until an explicit engage)");
        live.connection.close(3u32.into(), b"link lost");
        for reader in &live.readers {
            reader.abort();
        }
        let now = self.now();
        if let Some(hifu) = self.hifu.as_mut() {
            hifu.operator.on_link_lost();
        }
        self.core
            .drive(ConsoleInput::Disconnected { reason }, now, |_| {});
        self.backoff = Duration::from_millis(self.config.reconnect_initial_ms.max(1));
        self.retry_at = Some(Instant::now());
    }

    async fn on_connect_result(
        &mut self,
        result: Result<(quinn::Connection, EventWriter, EventReader), LinkError>,
    ) {
        match result {
            Ok((connection, writer, reader)) => {
                self.generation += 1;
                if self.generation > 1 {
                    tracing::warn!(
                        attempts = self.attempts,
                        "reconnected to the station: a new session, disengaged"
                    );
                } else {
                    tracing::info!(station = %self.config.station, "connected with mutual TLS");
                }
                self.attempts = 0;
                let generation = self.generation;
                let readers = [
                    tokio::spawn(read_datagrams(
                        connection.clone(),
                        self.generation,
                        self.tx.clone(),
                    )),
                    tokio::spawn(read_events(reader, self.generation, self.tx.clone())),
                    tokio::spawn(read_frames(
                        connection.clone(),
                        self.tx.clone(),
                        move |f| Net::Frame(generation, f),
                        self.config.video.clone(),
                    )),
                ];
                if let Some(hifu) = self.hifu.as_mut() {
                    hifu.operator.on_connected();
                }
                self.live = Some(Live {
                    generation: self.generation,
                    connection,
                    writer,
                    readers,
                    last_heard: Instant::now(),
                });
                let now = self.now();
                self.feed(ConsoleInput::Connected, now).await;
            }
            Err(e) => {
                tracing::debug!(error = %e, backoff = ?self.backoff, "connection attempt failed");
                self.last_error = Some(e);
                self.retry_at = Some(Instant::now() + self.backoff);
                let max = Duration::from_millis(self.config.reconnect_max_ms.max(1));
                self.backoff = (self.backoff * 2).min(max);
            }
        }
    }

    async fn on_net(&mut self, net: Net) {
        let current = self.live.as_ref().map(|l| l.generation);
        let now = self.now();
        if let Some(page) = &self.controls.page {
            match &net {
                Net::Datagram(g, datagram) if Some(*g) == current => {
                    page.view().on_datagram(datagram, now)
                }
                Net::Event(g, event) if Some(*g) == current => {
                    page.view().on_event(event, page.now())
                }
                _ => {}
            }
        }
        match net {
            Net::Datagram(g, datagram) if Some(g) == current => {
                if let Some(live) = self.live.as_mut() {
                    live.last_heard = Instant::now();
                }
                self.feed(ConsoleInput::Datagram { datagram }, now).await;
            }
            Net::Frame(g, frame) if Some(g) == current => {
                if let Some(watch) = self.controls.thermometry.as_mut() {
                    watch(&frame);
                }
                if let Some(hifu) = self.hifu.as_mut() {
                    hifu.operator.on_frame(frame);
                }
            }
            Net::Event(g, event) if Some(g) == current => {
                log_event(&event);
                if let Some(hifu) = self.hifu.as_mut() {
                    match &event {
                        SessionEvent::Hifu(news) => hifu.on_news(news, now),
                        SessionEvent::Refused { request, reason }
                            if request.starts_with("hifu") =>
                        {
                            hifu.operator.on_refused(reason)
                        }
                        _ => {}
                    }
                }
                self.feed(ConsoleInput::Event { event }, now).await;
            }
            Net::Lost(g, reason) if Some(g) == current => {
                match self.live.as_ref().and_then(|l| refusal(&l.connection)) {
                    Some(refused) => {
                        tracing::error!(reason = %refused, "the station refused this console");
                        self.audit_own(
                            trust::AuditAction::Admission,
                            self.config.station.to_string(),
                            format!("refused by the station: {refused}"),
                        );
                        self.lose_link(format!("closed by the station: {refused}"));
                        self.refused = Some(refused);
                    }
                    None => self.lose_link(reason),
                }
            }
            _ => {}
        }
    }

    /// Appends what the console edge itself saw (a refusal, the run's end) to the console's
    /// audit log, as the person at this console, at the session clock's now.
    fn audit_own(&self, action: trust::AuditAction, subject: String, outcome: String) {
        if let Some(audit) = &self.controls.audit {
            let operator = self.core.core().config().operator.as_ref();
            let at_us = self.now().as_micros() as i64;
            audit.push(trust::AuditRecord::new(
                at_us, operator, action, subject, outcome,
            ));
        }
    }

    /// Hands one input to the core and carries out its outputs.
    async fn feed(&mut self, input: ConsoleInput, now: Duration) {
        let clock_echo = matches!(
            input,
            ConsoleInput::Datagram {
                datagram: Datagram::Pong(_)
            }
        );
        let mut outputs = std::mem::take(&mut self.outputs);
        self.core.drive(input, now, |o| outputs.push(o));
        if let (true, Some(video), Some(zero)) = (
            clock_echo,
            &self.config.video,
            self.core.core().station_zero_us(),
        ) {
            video.set_station_zero(zero);
        }
        for output in outputs.drain(..) {
            if let ConsoleOutput::Audit(record) = output {
                if let Some(audit) = &self.controls.audit {
                    audit.push(*record);
                }
                continue;
            }
            let Some(live) = self.live.as_mut() else {
                continue;
            };
            match output {
                ConsoleOutput::Datagram { datagram } => {
                    if let (Datagram::Control(command), Some(page)) =
                        (&datagram, &self.controls.page)
                    {
                        page.view().on_command(command.target.position_m);
                    }
                    let n = datagram.encode(&mut self.buf);
                    // Never queue stale commands behind newer ones: drop if the buffer is full.
                    if live.connection.datagram_send_buffer_space() >= n {
                        let _ = live
                            .connection
                            .send_datagram(Bytes::copy_from_slice(&self.buf[..n]));
                    }
                }
                ConsoleOutput::Event { event } => {
                    if let Err(e) = live.writer.send(&event).await {
                        tracing::warn!(error = %e, event = event.name(), "could not send an event");
                    }
                }
                ConsoleOutput::Audit(_) => {}
            }
        }
        self.outputs = outputs;
    }
}

/// Connects, opens the event stream; the console's hello goes out with the core's first output.
async fn connect(
    endpoint: quinn::Endpoint,
    station: std::net::SocketAddr,
    server_name: String,
) -> Result<(quinn::Connection, EventWriter, EventReader), LinkError> {
    let attempt = async {
        let connection = link::connect(&endpoint, station, &server_name).await?;
        let (send, recv) = connection.open_bi().await?;
        Ok((connection, EventWriter::new(send), EventReader::new(recv)))
    };
    tokio::time::timeout(ATTEMPT_TIMEOUT, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(LinkError::Connect {
                addr: station,
                detail: format!("no handshake within {ATTEMPT_TIMEOUT:?}"),
            })
        })
}

async fn read_datagrams(
    connection: quinn::Connection,
    generation: u64,
    tx: mpsc::UnboundedSender<Net>,
) {
    loop {
        match connection.read_datagram().await {
            Ok(bytes) => match Datagram::decode(&bytes) {
                Ok(datagram) => {
                    if tx.send(Net::Datagram(generation, datagram)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!(reason = e.reason(), "malformed datagram from the station")
                }
            },
            Err(e) => {
                let _ = tx.send(Net::Lost(generation, e.to_string()));
                return;
            }
        }
    }
}

async fn read_events(mut reader: EventReader, generation: u64, tx: mpsc::UnboundedSender<Net>) {
    loop {
        let net = match reader.next::<SessionEvent>().await {
            Ok(Some(event)) => Net::Event(generation, event),
            Ok(None) => Net::Lost(generation, "the station closed the event stream".into()),
            Err(e) => Net::Lost(generation, e.to_string()),
        };
        let lost = matches!(net, Net::Lost(..));
        if tx.send(net).is_err() || lost {
            return;
        }
    }
}

fn log_event(event: &SessionEvent) {
    match event {
        SessionEvent::Transition {
            from,
            to,
            reason,
            at_us,
        } => {
            tracing::info!(?from, ?to, %reason, at_ms = *at_us as f64 / 1e3, "station supervisor transition")
        }
        SessionEvent::Refused { request, reason } => {
            tracing::warn!(%request, %reason, "the station refused a request")
        }
        SessionEvent::Hello { session_id, .. } => {
            tracing::info!(session_id, "session opened by the station")
        }
        SessionEvent::Admitted {
            name,
            role,
            may_operate,
            rule,
            explanation,
        } => {
            tracing::info!(%name, %role, may_operate, %rule, %explanation, "admitted by the station")
        }
        SessionEvent::Control {
            step,
            by,
            to,
            holder,
            present,
            ..
        } => tracing::info!(
            step = step.name(),
            %by,
            to = to.as_deref().unwrap_or("-"),
            ?holder,
            ?present,
            "control"
        ),
        _ => {}
    }
}
