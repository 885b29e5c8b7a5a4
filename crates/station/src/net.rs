//! The station's network thread: accepts consoles (several at once: one in control, the others
//! watching), reads who each is from its verified certificate and asks the gate what the site's
//! admission policy allows it, decodes their datagrams and events into session inputs for the
//! servo thread, and sends what the servo thread's session core asks for, to one console or all.
//! It drops a console whose certificate is revoked while connected. The two threads share only
//! lock-free queues and an eventfd wake-up.

use crate::camera::sender::{self as video, VideoPeer};
use crate::camera::{VideoChannel, VideoOut};
use crate::shared::Shared;
use bytes::Bytes;
use hifu::device::ThermometryFrame;
use link::{EventReader, EventWriter, LinkError};
use proto::Datagram;
use proto::datagram::MAX_DATAGRAM_LEN;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use teleop::hifu::{BulkMessage, DeviceOrder};
use teleop::station::control::PeerId;
use teleop::station::peers::Admission;
use teleop::{SessionEvent, StationInput, StationOutput};
use tokio::sync::mpsc;
use trust::{AuditAction, AuditRecord, Identity};

/// How often the revocation list and the policy are checked for changes.
const GATE_RELOAD: Duration = Duration::from_secs(1);

pub use crate::gate::Gate;

/// Decoder rejections by reason, counted on the network side only.
pub type Malformed = Arc<Mutex<BTreeMap<String, u64>>>;

/// The HIFU device thread's side of the network loop: orders to it, frames from it.
pub struct HifuLink {
    pub orders: std::sync::mpsc::Sender<DeviceOrder>,
    pub frames: mpsc::UnboundedReceiver<ThermometryFrame>,
}

/// The camera thread's side of the network loop: its frames, and the channel's shared state.
pub struct VideoLink {
    pub channel: Arc<VideoChannel>,
    pub frames: mpsc::UnboundedReceiver<VideoOut>,
}

/// What the per-connection tasks tell the network loop.
enum NetEvent {
    /// A console completed the handshake.
    Accepted(quinn::Connection),
    /// The console opened its event stream.
    Stream(u64, quinn::SendStream),
    /// The connection of this generation ended.
    Ended(u64, String),
}

/// A console's connection and event stream.
struct Live {
    identity: Identity,
    /// What the site's policy decided when it connected.
    admission: Admission,
    connection: quinn::Connection,
    writer: Option<EventWriter>,
    /// Events the core sent before the console's stream was open.
    pending: VecDeque<SessionEvent>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    /// Cancels the thermometry frame still in flight when a newer one is ready (latest wins).
    frame_in_flight: Option<tokio::sync::oneshot::Sender<()>>,
    /// The video frame in flight to this console.
    video: VideoPeer,
}

/// Serves consoles until the endpoint closes.
pub async fn serve(
    endpoint: quinn::Endpoint,
    shared: Arc<Shared>,
    waiter: link::wake::Waiter,
    malformed: Malformed,
    mut gate: Box<dyn Gate>,
    hifu: Option<HifuLink>,
    mut camera: Option<VideoLink>,
) {
    let (orders, mut frames) = match hifu {
        Some(link) => (Some(link.orders), Some(link.frames)),
        None => (None, None),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut accept = tokio::spawn(accept_loop(endpoint, tx.clone()));
    let mut lives: BTreeMap<PeerId, Live> = BTreeMap::new();
    let mut generation = 0u64;
    let mut buf = [0u8; MAX_DATAGRAM_LEN];
    let mut reload = tokio::time::interval(GATE_RELOAD);
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                None => break,
                Some(NetEvent::Accepted(connection)) => {
                    let identity = match link::peer_identity(&connection) {
                        Ok(identity) => identity,
                        Err(e) => {
                            tracing::warn!(remote = %connection.remote_address(), error = %e, "refusing a console");
                            connection.close(3u32.into(), b"no usable medlink identity");
                            continue;
                        }
                    };
                    generation += 1;
                    let admission = gate.admit(&identity);
                    tracing::info!(peer = generation, %identity, admitted = admission.admitted, rule = %admission.rule, remote = %connection.remote_address(), "console connected");
                    shared.push_inbound(StationInput::Connected { peer: generation, identity: identity.clone(), admission: admission.clone() });
                    let mut live = open(connection, identity, generation, &shared, &malformed, &tx);
                    live.admission = admission;
                    lives.insert(generation, live);
                }
                Some(NetEvent::Stream(g, send)) => {
                    if let Some(session) = lives.get_mut(&g) {
                        let mut writer = EventWriter::new(send);
                        while let Some(event) = session.pending.pop_front() {
                            let _ = writer.send(&event).await;
                        }
                        session.writer = Some(writer);
                    }
                }
                Some(NetEvent::Ended(g, reason)) => {
                    if let Some(old) = lives.remove(&g) {
                        tracing::info!(peer = g, identity = %old.identity, %reason, "console disconnected");
                        close(old, b"session ended");
                        shared.push_inbound(StationInput::Disconnected { peer: g });
                    }
                }
            },
            // The endpoint was closed: the station is shutting down.
            _ = &mut accept => break,
            _ = reload.tick() => {
                let reloaded = gate.reload();
                for (subject, outcome) in reloaded.changes {
                    let at_us = shared.now().as_micros() as i64;
                    shared.audit(AuditRecord::new(at_us, None, AuditAction::Configuration, subject, outcome));
                }
                let policy_changed = reloaded.policy_changed;
                let dropped: Vec<(PeerId, u32, String)> = lives
                    .iter()
                    .filter_map(|(g, l)| still_admitted(gate.as_mut(), l, policy_changed).err().map(|(code, why)| (*g, code, why)))
                    .collect();
                for (g, code, why) in dropped {
                    if let Some(old) = lives.remove(&g) {
                        tracing::warn!(peer = g, identity = %old.identity, reason = %why, "closing a connected console");
                        close_with(old, code, why.as_bytes());
                        shared.push_inbound(StationInput::Disconnected { peer: g });
                    }
                }
            }
            woke = waiter.notified() => {
                if woke.is_err() {
                    break;
                }
                let channel = camera.as_ref().map(|c| c.channel.as_ref());
                drain_outputs(&shared, &mut lives, &malformed, &mut buf, orders.as_ref(), channel).await;
            }
            Some(frame) = async {
                match frames.as_mut() {
                    Some(frames) => frames.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                // Only the newest frame matters: skip any already queued behind it.
                let mut newest = frame;
                while let Some(newer) = frames.as_mut().and_then(|f| f.try_recv().ok()) {
                    newest = newer;
                }
                send_frame(&mut lives, newest, &malformed);
            }
            Some(frame) = async {
                match camera.as_mut() {
                    Some(camera) => camera.frames.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some(camera) = camera.as_mut() {
                    send_video(&mut lives, frame, camera, &shared);
                }
            }
        }
        if let Some(camera) = &camera {
            let viewers = lives.values().filter(|l| l.writer.is_some()).count();
            if camera
                .channel
                .viewers
                .swap(viewers, std::sync::atomic::Ordering::Relaxed)
                < viewers
            {
                // A console joined: its decoder starts from a keyframe.
                camera
                    .channel
                    .keyframe_wanted
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
    for (_, session) in std::mem::take(&mut lives) {
        close(session, b"station shutting down");
    }
}

async fn accept_loop(endpoint: quinn::Endpoint, tx: mpsc::UnboundedSender<NetEvent>) {
    while let Some(connection) = link::accept_session(&endpoint).await {
        if tx.send(NetEvent::Accepted(connection)).is_err() {
            return;
        }
    }
}

/// Whether a connected console may stay: its certificate still holds (not revoked, not expired)
/// and, when the policy changed, the new policy decides as the old one did. Otherwise the close
/// code (2: refused, the console stops; 0: decided differently, it reconnects for the new
/// decision) and the reason.
fn still_admitted(
    gate: &mut dyn Gate,
    live: &Live,
    policy_changed: bool,
) -> Result<(), (u32, String)> {
    gate.check(&live.identity).map_err(|why| (2, why))?;
    if !policy_changed {
        return Ok(());
    }
    let now = gate.admit(&live.identity);
    if !now.admitted {
        return Err((
            2,
            format!("refused by rule {}: {}", now.rule, now.explanation),
        ));
    }
    let before = &live.admission;
    if (now.may_operate, now.bedside_confirmation)
        != (before.may_operate, before.bedside_confirmation)
    {
        return Err((
            0,
            "the site policy changed; reconnect for its new decision".into(),
        ));
    }
    Ok(())
}

/// Starts the readers of a new connection.
fn open(
    connection: quinn::Connection,
    identity: Identity,
    generation: u64,
    shared: &Arc<Shared>,
    malformed: &Malformed,
    tx: &mpsc::UnboundedSender<NetEvent>,
) -> Live {
    let datagrams = tokio::spawn(read_datagrams(
        connection.clone(),
        generation,
        shared.clone(),
        malformed.clone(),
    ));
    let bulk = tokio::spawn(read_bulk(
        connection.clone(),
        generation,
        shared.clone(),
        malformed.clone(),
    ));
    let events = tokio::spawn(read_events(
        connection.clone(),
        generation,
        shared.clone(),
        malformed.clone(),
        tx.clone(),
    ));
    Live {
        identity,
        admission: Admission::refused("pending", String::new()),
        connection,
        writer: None,
        pending: VecDeque::new(),
        readers: vec![datagrams, events, bulk],
        frame_in_flight: None,
        video: VideoPeer::default(),
    }
}

/// Closes a connection with an application error code (0: normal end; 2: refused or closed by
/// the station) and a reason the console shows.
fn close(live: Live, reason: &[u8]) {
    close_with(live, 0, reason);
}

fn close_with(live: Live, code: u32, reason: &[u8]) {
    for reader in &live.readers {
        reader.abort();
    }
    live.connection
        .close(code.into(), &reason[..reason.len().min(1000)]);
}

async fn read_datagrams(
    connection: quinn::Connection,
    peer: PeerId,
    shared: Arc<Shared>,
    malformed: Malformed,
) {
    while let Ok(bytes) = connection.read_datagram().await {
        let received_at = shared.now();
        match Datagram::decode(&bytes) {
            Ok(Datagram::State(_)) => count(&malformed, "unexpected_state_datagram"),
            Ok(datagram) => shared.push_inbound(StationInput::Datagram {
                peer,
                datagram,
                received_at,
            }),
            Err(e) => count(&malformed, e.reason()),
        }
    }
}

async fn read_events(
    connection: quinn::Connection,
    generation: u64,
    shared: Arc<Shared>,
    malformed: Malformed,
    tx: mpsc::UnboundedSender<NetEvent>,
) {
    let reason = match read_stream(&connection, generation, &shared, &malformed, &tx).await {
        Ok(()) => "the console closed its event stream".to_string(),
        Err(e) => e.to_string(),
    };
    let _ = tx.send(NetEvent::Ended(generation, reason));
}

async fn read_stream(
    connection: &quinn::Connection,
    generation: u64,
    shared: &Shared,
    malformed: &Malformed,
    tx: &mpsc::UnboundedSender<NetEvent>,
) -> Result<(), LinkError> {
    let (send, recv) = connection.accept_bi().await?;
    let _ = tx.send(NetEvent::Stream(generation, send));
    let mut reader = EventReader::new(recv);
    loop {
        match reader.next::<SessionEvent>().await {
            Ok(Some(event)) => shared.push_inbound(StationInput::Event {
                peer: generation,
                event,
            }),
            Ok(None) => return Ok(()),
            Err(e) => {
                count(malformed, "bad_event_frame");
                connection.close(1u32.into(), b"malformed event frame");
                return Err(e);
            }
        }
    }
}

/// Sends what the session core asked for, to one console or all; events are logged here, never
/// on the servo thread.
async fn drain_outputs(
    shared: &Shared,
    lives: &mut BTreeMap<PeerId, Live>,
    malformed: &Malformed,
    buf: &mut [u8; MAX_DATAGRAM_LEN],
    hifu: Option<&std::sync::mpsc::Sender<DeviceOrder>>,
    camera: Option<&VideoChannel>,
) {
    while let Some(output) = shared.pop_outbound() {
        match output {
            StationOutput::Datagram { to, datagram } => {
                let n = datagram.encode(buf);
                let bytes = Bytes::copy_from_slice(&buf[..n]);
                for session in addressed(lives, to) {
                    // Datagrams are unreliable anyway: a full or closed connection drops it.
                    let _ = session.connection.send_datagram(bytes.clone());
                }
            }
            StationOutput::Event { to, mut event } => {
                log_event(&event);
                if let SessionEvent::Report(report) = &mut event {
                    report.servo_missed_deadlines = shared
                        .servo_missed
                        .load(std::sync::atomic::Ordering::Relaxed);
                    if let Ok(counts) = malformed.lock() {
                        report.malformed = counts.clone();
                    }
                }
                for session in addressed(lives, to) {
                    match session.writer.as_mut() {
                        Some(writer) => {
                            if let Err(e) = writer.send(&event).await {
                                tracing::warn!(identity = %session.identity, error = %e, "could not send an event to the console");
                            }
                        }
                        None => session.pending.push_back(event.clone()),
                    }
                }
            }
            StationOutput::Close { peer, reason } => {
                if let Some(session) = lives.remove(&peer) {
                    tracing::warn!(peer, identity = %session.identity, %reason, "closing the console's connection");
                    close_with(session, 2, reason.as_bytes());
                }
            }
            StationOutput::HifuDevice(order) => {
                if let Some(orders) = hifu {
                    let _ = orders.send(order);
                }
            }
            StationOutput::VideoPacing { shift_us } => {
                if let Some(camera) = camera {
                    camera.shift_capture(shift_us);
                }
            }
            // Audit records go to the audit log on the servo side; verdicts are for the recording.
            StationOutput::Verdict { .. } | StationOutput::Audit(_) => {}
        }
    }
}

/// The consoles an output is for: one, or every connected console.
fn addressed(
    lives: &mut BTreeMap<PeerId, Live>,
    to: Option<PeerId>,
) -> impl Iterator<Item = &mut Live> {
    lives
        .iter_mut()
        .filter(move |(peer, _)| to.is_none_or(|to| to == **peer))
        .map(|(_, live)| live)
}

fn log_event(event: &SessionEvent) {
    match event {
        SessionEvent::Transition {
            from, to, reason, ..
        } => tracing::info!(?from, ?to, %reason, "supervisor transition"),
        SessionEvent::Refused { request, reason } => {
            tracing::warn!(%request, %reason, "request refused")
        }
        SessionEvent::Hello { session_id, .. } => tracing::info!(session_id, "session opened"),
        SessionEvent::Hifu(news) => {
            if let Some(line) = news.describe() {
                tracing::info!("HIFU: {line}");
            }
        }
        SessionEvent::Control {
            step,
            by,
            to,
            holder,
            ..
        } => {
            tracing::info!(step = step.name(), %by, to = to.as_deref().unwrap_or("-"), ?holder, "control")
        }
        _ => {}
    }
}

fn count(malformed: &Malformed, reason: &str) {
    if let Ok(mut map) = malformed.lock() {
        *map.entry(reason.to_string()).or_default() += 1;
    }
}

/// Reads the console's bulk streams (one message each: a HIFU plan) until the connection ends.
/// A malformed or oversize stream is counted and dropped; the session goes on.
async fn read_bulk(
    connection: quinn::Connection,
    peer: PeerId,
    shared: Arc<Shared>,
    malformed: Malformed,
) {
    while let Ok(mut stream) = connection.accept_uni().await {
        let bytes = match stream
            .read_to_end(proto::frame::MAX_BULK_FRAME_LEN + 4)
            .await
        {
            Ok(bytes) => bytes,
            Err(_) => {
                count(&malformed, "bad_bulk_stream");
                continue;
            }
        };
        let mut decoder = proto::FrameDecoder::within(proto::frame::MAX_BULK_FRAME_LEN);
        decoder.push(&bytes);
        match decoder.next_message::<BulkMessage>() {
            Some(Ok(message)) => shared.push_inbound(StationInput::Bulk { peer, message }),
            Some(Err(e)) => count(&malformed, e.reason()),
            None => count(&malformed, "truncated_bulk_frame"),
        }
    }
}

/// Sends a thermometry frame to every console on its own stream, below control in priority; a
/// frame still in flight to a console is reset, never queued ahead of the newer one.
fn send_frame(lives: &mut BTreeMap<PeerId, Live>, frame: ThermometryFrame, malformed: &Malformed) {
    let mut bytes = Vec::new();
    let message = BulkMessage::Thermometry(Box::new(frame));
    if proto::encode_frame_within(&message, proto::frame::MAX_BULK_FRAME_LEN, &mut bytes).is_err() {
        count(malformed, "thermometry_frame_too_large");
        return;
    }
    let bytes = Bytes::from(bytes);
    for live in lives.values_mut().filter(|l| l.writer.is_some()) {
        if let Some(cancel) = live.frame_in_flight.take() {
            let _ = cancel.send(());
        }
        let (cancel, cancelled) = tokio::sync::oneshot::channel();
        live.frame_in_flight = Some(cancel);
        tokio::spawn(send_bulk(live.connection.clone(), bytes.clone(), cancelled));
    }
}

/// Sends the newest video frame to every console whose session is open; frames the camera made
/// while this thread was busy are skipped (the next one is then a keyframe, as their successors
/// referred to them).
fn send_video(
    lives: &mut BTreeMap<PeerId, Live>,
    frame: VideoOut,
    camera: &mut VideoLink,
    shared: &Arc<Shared>,
) {
    let mut newest = frame;
    while let Ok(newer) = camera.frames.try_recv() {
        newest = newer;
        camera.channel.on_dropped(shared.now());
    }
    camera.channel.on_sending(newest.seq, shared.now());
    for live in lives.values_mut().filter(|l| l.writer.is_some()) {
        video::send_to(
            &mut live.video,
            &live.connection,
            &newest,
            &camera.channel,
            shared,
        );
    }
}

async fn send_bulk(
    connection: quinn::Connection,
    bytes: Bytes,
    cancelled: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(mut stream) = connection.open_uni().await else {
        return;
    };
    // Control datagrams and events go first (docs/network.md).
    let _ = stream.set_priority(-1);
    tokio::select! {
        written = stream.write_chunk(bytes) => {
            if written.is_ok() {
                let _ = stream.finish();
            }
        }
        _ = cancelled => {
            let _ = stream.reset(0u32.into());
        }
    }
}
