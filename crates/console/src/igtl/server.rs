//! The OpenIGTLink TCP server: many clients at once, each with a bounded queue of encoded
//! messages; a client whose queue is full (it reads slower than the stream) is dropped, never
//! waited for. A publisher sends the tool tip at `rate_hz` (when a new state report came), the
//! RCM and the supervisor's STATUS every second and on change, and the thermometry IMAGEs at
//! `image_rate_hz` (when a new frame came). Runs on a thread of its own with its own runtime, so
//! the console's 1 kHz loop never waits for a peer.

use super::inbound::{self, Inbound, Target};
use super::publish::{self, Framing, Registration};
use super::watch::{Latest, SessionWatch};
use bytes::Bytes;
use igtl::{Body, DataType, Message, Query, QueryKind, Status, StreamDecoder, Timestamp};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// How the server listens and what it sends how often.
#[derive(Debug, Clone)]
pub struct IgtlConfig {
    pub listen: SocketAddr,
    /// Tool-tip TRANSFORMs per second (at most; only new poses are sent).
    pub rate_hz: f64,
    /// Thermometry IMAGE pairs per second (at most; only new frames are sent).
    pub image_rate_hz: f64,
    /// Messages waiting per client before it counts as too slow and is dropped.
    pub queue: usize,
    pub registration: Registration,
    pub framing: Framing,
    /// The largest message body accepted from a peer.
    pub max_inbound_body: u64,
    /// Clients served at once; one more is turned away (each may hold `queue` messages).
    pub max_clients: usize,
    /// OpenIGTLink over TLS with mutual authentication (`tls_from_pki`); none: plain TCP.
    pub tls: Option<IgtlTls>,
}

/// TLS 1.3 for peers that support it (directly, or through stunnel): the server presents a
/// certificate of the medlink CA and requires one from each client, of the CA, not revoked and
/// carrying a person's role (surgeon, bedside, observer), as the station does for consoles.
#[derive(Clone)]
pub struct IgtlTls(tokio_rustls::TlsAcceptor);

impl std::fmt::Debug for IgtlTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IgtlTls")
    }
}

impl IgtlTls {
    /// From a PKI directory and the file stem of a certificate with server authentication
    /// (`station`, which `medlink pki init` makes).
    pub fn from_pki(dir: &std::path::Path, certificate: &str) -> Result<IgtlTls, link::PkiError> {
        let identity = link::Identity::load(&link::PkiPaths::in_dir(dir, certificate))?;
        let mut config = link::tls::server_config(identity)?;
        // OpenIGTLink peers offer no ALPN; medlink's own protocol name would refuse them.
        config.alpn_protocols.clear();
        Ok(IgtlTls(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
    }
}

impl Default for IgtlConfig {
    fn default() -> Self {
        IgtlConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], igtl::DEFAULT_PORT)),
            rate_hz: 50.0,
            image_rate_hz: 2.0,
            queue: 256,
            registration: Registration::default(),
            framing: Framing::V2,
            max_inbound_body: 1 << 20,
            max_clients: 32,
            tls: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IgtlServerError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("rate_hz and image_rate_hz must be in (0, 1000], got {0} and {1}")]
    BadRate(f64, f64),
    #[error("the per-client queue must hold at least 4 messages, got {0}")]
    BadQueue(usize),
    #[error("could not start the server's runtime: {0}")]
    Runtime(std::io::Error),
}

/// Counters for the operator and the tests.
#[derive(Debug, Default)]
pub struct ServerStats {
    pub accepted: AtomicU64,
    pub dropped_slow: AtomicU64,
    pub refused: AtomicU64,
    pub targets: AtomicU64,
    pub tool_tips_sent: AtomicU64,
    pub images_sent: AtomicU64,
}

/// A running server; dropping it (or `stop`) closes every connection.
pub struct IgtlServer {
    addr: SocketAddr,
    stats: Arc<ServerStats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Client {
    tx: mpsc::Sender<Bytes>,
    muted: HashSet<DataType>,
    tasks: Vec<tokio::task::AbortHandle>,
}

type Clients = Arc<Mutex<HashMap<u64, Client>>>;

fn lock(clients: &Clients) -> std::sync::MutexGuard<'_, HashMap<u64, Client>> {
    clients.lock().unwrap_or_else(|e| e.into_inner())
}

fn wall_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

fn encode(message: &Message) -> Option<Bytes> {
    match message.encode() {
        Ok(bytes) => Some(Bytes::from(bytes)),
        Err(e) => {
            tracing::warn!(error = %e, device = %message.device_name, "could not encode");
            None
        }
    }
}

impl IgtlServer {
    /// Binds at once (so a taken port is an error here) and serves on a thread of its own.
    /// Targets peers send go to `targets`.
    pub fn start(
        config: IgtlConfig,
        watch: SessionWatch,
        targets: std::sync::mpsc::Sender<Target>,
    ) -> Result<IgtlServer, IgtlServerError> {
        let rates = [config.rate_hz, config.image_rate_hz];
        if rates
            .iter()
            .any(|r| !(r.is_finite() && *r > 0.0 && *r <= 1000.0))
        {
            return Err(IgtlServerError::BadRate(rates[0], rates[1]));
        }
        if config.queue < 4 {
            return Err(IgtlServerError::BadQueue(config.queue));
        }
        let listen_error = |source| IgtlServerError::Listen {
            addr: config.listen,
            source,
        };
        let listener = std::net::TcpListener::bind(config.listen).map_err(listen_error)?;
        listener.set_nonblocking(true).map_err(listen_error)?;
        let addr = listener.local_addr().map_err(listen_error)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(IgtlServerError::Runtime)?;
        let stats = Arc::new(ServerStats::default());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let shared = Shared {
            config: Arc::new(config),
            watch,
            clients: Clients::default(),
            stats: stats.clone(),
            targets,
        };
        let thread = std::thread::Builder::new()
            .name("igtl".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(e) => {
                            tracing::error!(error = %e, "OpenIGTLink listener");
                            return;
                        }
                    };
                    tokio::select! {
                        _ = stopped => {}
                        _ = shared.clone().accept(listener) => {}
                        _ = shared.clone().publish() => {}
                    }
                    for (_, client) in lock(&shared.clients).drain() {
                        client.tasks.iter().for_each(|t| t.abort());
                    }
                })
            })
            .map_err(IgtlServerError::Runtime)?;
        tracing::info!(%addr, "OpenIGTLink server listening");
        Ok(IgtlServer {
            addr,
            stats,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> &ServerStats {
        &self.stats
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for IgtlServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[derive(Clone)]
struct Shared {
    config: Arc<IgtlConfig>,
    watch: SessionWatch,
    clients: Clients,
    stats: Arc<ServerStats>,
    targets: std::sync::mpsc::Sender<Target>,
}

impl Shared {
    async fn accept(self, listener: tokio::net::TcpListener) {
        let mut next_id = 0u64;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "OpenIGTLink accept");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if lock(&self.clients).len() >= self.config.max_clients {
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%peer, max = self.config.max_clients, "OpenIGTLink client turned away: the server is full");
                continue;
            }
            let _ = stream.set_nodelay(true);
            next_id += 1;
            let id = next_id;
            match self.config.tls.clone() {
                None => {
                    self.stats.accepted.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(%peer, client = id, "OpenIGTLink client connected");
                    self.serve(id, stream);
                }
                Some(IgtlTls(acceptor)) => {
                    let shared = self.clone();
                    tokio::spawn(async move {
                        let handshake = acceptor.accept(stream);
                        match tokio::time::timeout(Duration::from_secs(10), handshake).await {
                            Ok(Ok(tls)) => {
                                let who = tls
                                    .get_ref()
                                    .1
                                    .peer_certificates()
                                    .and_then(|c| c.first())
                                    .and_then(|c| link::identity_of(c).ok())
                                    .map_or_else(
                                        || "?".into(),
                                        |i| format!("{} ({})", i.name, i.role),
                                    );
                                shared.stats.accepted.fetch_add(1, Ordering::Relaxed);
                                tracing::info!(%peer, client = id, %who, "OpenIGTLink client connected over TLS");
                                shared.serve(id, tls);
                            }
                            Ok(Err(e)) => {
                                shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!(%peer, error = %e, "OpenIGTLink TLS handshake refused");
                            }
                            Err(_) => tracing::warn!(%peer, "OpenIGTLink TLS handshake timed out"),
                        }
                    });
                }
            }
        }
    }

    /// Starts a client's writer and reader; either ending ends both.
    fn serve<S: AsyncRead + AsyncWrite + Send + 'static>(&self, id: u64, stream: S) {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let (tx, mut rx) = mpsc::channel::<Bytes>(self.config.queue);
        let clients = self.clients.clone();
        let write = tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if writer.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
            drop_client(&clients, id, "its connection closed");
        });
        let shared = self.clone();
        let read = tokio::spawn(async move {
            let mut decoder = StreamDecoder::new(shared.config.max_inbound_body);
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                decoder.push(&buf[..n]);
                while let Some(received) = decoder.next_message() {
                    if let Err(e) = &received
                        && e.is_fatal()
                    {
                        tracing::warn!(client = id, error = %e, "closing: the stream cannot be framed");
                        shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                        drop_client(&shared.clients, id, "its stream cannot be framed");
                        return;
                    }
                    shared.on_inbound(id, inbound::classify(received));
                }
            }
            drop_client(&shared.clients, id, "it closed the connection");
        });
        let mut clients = lock(&self.clients);
        clients.insert(
            id,
            Client {
                tx,
                muted: HashSet::new(),
                tasks: vec![write.abort_handle(), read.abort_handle()],
            },
        );
        drop(clients);
        // A new client learns where the RCM is and the supervisor's state at once.
        let latest = self.watch.snapshot();
        let now = wall_now();
        let framing = self.config.framing;
        for message in [
            publish::rcm(&self.config.registration, now, framing),
            publish::supervisor(&latest, now, framing),
        ] {
            self.send_to(id, &message);
        }
    }

    fn send_to(&self, id: u64, message: &Message) {
        let Some(bytes) = encode(message) else { return };
        let mut clients = lock(&self.clients);
        if let Some(client) = clients.get(&id)
            && client.tx.try_send(bytes).is_err()
        {
            if let Some(client) = clients.remove(&id) {
                client.tasks.iter().for_each(|t| t.abort());
            }
            self.stats.dropped_slow.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(client = id, "OpenIGTLink client dropped: too slow");
        }
    }

    /// Sends to every client not muted for `data`; a client whose queue is full is dropped.
    fn broadcast(&self, data: DataType, message: &Message) -> usize {
        let Some(bytes) = encode(message) else {
            return 0;
        };
        let mut clients = lock(&self.clients);
        let mut slow = Vec::new();
        let mut sent = 0;
        for (id, client) in clients.iter() {
            if client.muted.contains(&data) {
                continue;
            }
            match client.tx.try_send(bytes.clone()) {
                Ok(()) => sent += 1,
                Err(_) => slow.push(*id),
            }
        }
        for id in slow {
            if let Some(client) = clients.remove(&id) {
                client.tasks.iter().for_each(|t| t.abort());
                self.stats.dropped_slow.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    client = id,
                    "OpenIGTLink client dropped: too slow for the stream"
                );
            }
        }
        sent
    }

    fn on_inbound(&self, id: u64, inbound: Inbound) {
        let now = wall_now();
        match inbound {
            Inbound::Target(target) => {
                self.stats.targets.fetch_add(1, Ordering::Relaxed);
                tracing::info!(client = id, target = %target.describe(), "target from an OpenIGTLink peer (shown to the operator, never sent to the station)");
                let _ = self.targets.send(target);
            }
            Inbound::Query { query, device } => self.answer(id, query, &device, now),
            Inbound::Noted(what) => tracing::info!(client = id, %what, "from an OpenIGTLink peer"),
            Inbound::Refuse { code, reason } => {
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(client = id, code, %reason, "refused a message from an OpenIGTLink peer");
                self.send_to(id, &refusal(code, &reason, now));
            }
        }
    }

    fn answer(&self, id: u64, query: Query, device: &str, now: f64) {
        let framing = self.config.framing;
        let latest = self.watch.snapshot();
        match query.kind {
            QueryKind::Get => {
                let reply = match query.data {
                    DataType::Transform if device == publish::RCM => {
                        Some(publish::rcm(&self.config.registration, now, framing))
                    }
                    DataType::Transform => latest.state.as_ref().map(|(report, at)| {
                        publish::tool_tip(report, *at, &self.config.registration, framing)
                    }),
                    DataType::Status => Some(publish::supervisor(&latest, now, framing)),
                    DataType::String if device == publish::VITALS => latest
                        .vitals
                        .as_ref()
                        .map(|(reading, at)| publish::vitals(reading, *at, framing)),
                    DataType::Image => latest.frame.as_ref().and_then(|(frame, at)| {
                        let [t, d] = publish::thermal_images(frame, *at, framing)?;
                        Some(if device == publish::DOSE { d } else { t })
                    }),
                    _ => None,
                };
                let reply = reply.unwrap_or_else(|| {
                    let what = format!("{} {device:?} is not available", query.type_name());
                    refusal(igtl::StatusCode::NotFound as u16, &what, now)
                });
                self.send_to(id, &reply);
            }
            QueryKind::Start | QueryKind::Stop => {
                if let Some(client) = lock(&self.clients).get_mut(&id) {
                    if query.kind == QueryKind::Stop {
                        client.muted.insert(query.data);
                    } else {
                        client.muted.remove(&query.data);
                    }
                }
                let reply = Query {
                    kind: QueryKind::Reply,
                    data: query.data,
                    status: 0,
                };
                let message =
                    Message::new(device, Timestamp::from_secs_f64(now), Body::Query(reply));
                self.send_to(id, &message);
            }
            QueryKind::Reply => {}
        }
    }

    /// The publisher: tool tips at `rate_hz`, RCM and STATUS every second and on change, HIFU
    /// news one a tick, each new patient monitor reading, IMAGEs at `image_rate_hz`.
    async fn publish(self) {
        let framing = self.config.framing;
        let mut pose_tick =
            tokio::time::interval(Duration::from_secs_f64(1.0 / self.config.rate_hz));
        let mut image_tick =
            tokio::time::interval(Duration::from_secs_f64(1.0 / self.config.image_rate_hz));
        let mut slow_tick = tokio::time::interval(Duration::from_secs(1));
        for tick in [&mut pose_tick, &mut image_tick, &mut slow_tick] {
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        }
        let mut sent_state = 0u64;
        let mut sent_frame = 0u64;
        let mut sent_news = 0u64;
        let mut sent_vitals = 0u64;
        let mut last_status: Option<(u16, String)> = None;
        loop {
            tokio::select! {
                _ = pose_tick.tick() => {
                    let latest = self.watch.snapshot();
                    if let Some((report, at)) = latest.state.as_ref().filter(|_| latest.state_count != sent_state) {
                        sent_state = latest.state_count;
                        let m = publish::tool_tip(report, *at, &self.config.registration, framing);
                        let n = self.broadcast(DataType::Transform, &m);
                        self.stats.tool_tips_sent.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    // One news item a tick, so a peer that keeps the newest message per device
                    // (pyigtl) sees each.
                    if let Some((n, json, at)) = latest.hifu_news.iter().find(|(n, ..)| *n > sent_news) {
                        sent_news = *n;
                        self.broadcast(DataType::String, &publish::hifu_news(json, *at, framing));
                    }
                    if let Some((reading, at)) = latest.vitals.as_ref().filter(|_| latest.vitals_count != sent_vitals) {
                        sent_vitals = latest.vitals_count;
                        self.broadcast(DataType::String, &publish::vitals(reading, *at, framing));
                    }
                    let status = status_key(&latest);
                    if last_status.as_ref() != Some(&status) {
                        last_status = Some(status);
                        self.broadcast(DataType::Status, &publish::supervisor(&latest, wall_now(), framing));
                    }
                }
                _ = image_tick.tick() => {
                    let latest = self.watch.snapshot();
                    if let Some((frame, at)) = latest.frame.as_ref().filter(|_| latest.frame_count != sent_frame) {
                        sent_frame = latest.frame_count;
                        match publish::thermal_images(frame, *at, framing) {
                            Some(images) => for image in &images {
                                let n = self.broadcast(DataType::Image, image);
                                self.stats.images_sent.fetch_add(n as u64, Ordering::Relaxed);
                            },
                            None => tracing::warn!("a thermometry frame without its geometry was not sent"),
                        }
                    }
                }
                _ = slow_tick.tick() => {
                    let latest = self.watch.snapshot();
                    let now = wall_now();
                    self.broadcast(DataType::Transform, &publish::rcm(&self.config.registration, now, framing));
                    self.broadcast(DataType::Status, &publish::supervisor(&latest, now, framing));
                }
            }
        }
    }
}

fn status_key(latest: &Latest) -> (u16, String) {
    (
        publish::status_code(latest.supervisor(), latest.connected),
        latest.reason.clone(),
    )
}

/// The STATUS reply to a refused message.
fn refusal(code: u16, reason: &str, now: f64) -> Message {
    let status = Status {
        code,
        subcode: 0,
        error_name: "REFUSED".into(),
        message: reason.chars().take(1000).collect(),
    };
    Message::new(
        "medlink",
        Timestamp::from_secs_f64(now),
        Body::Status(status),
    )
}

fn drop_client(clients: &Clients, id: u64, why: &str) {
    if let Some(client) = lock(clients).remove(&id) {
        tracing::info!(client = id, why, "OpenIGTLink client gone");
        client.tasks.iter().for_each(|t| t.abort());
    }
}
