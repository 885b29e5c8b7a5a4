//! The station's network thread: accepts consoles (a new one supersedes the open session, as a
//! console that reconnects after its link dropped must be able to), decodes their datagrams and
//! events into session inputs for the servo thread, and sends what the servo thread's session core
//! asks for. The two threads share only lock-free queues and an eventfd wake-up.

use crate::shared::Shared;
use bytes::Bytes;
use link::{EventReader, EventWriter, LinkError};
use proto::Datagram;
use proto::datagram::MAX_DATAGRAM_LEN;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use teleop::{SessionEvent, StationInput, StationOutput};
use tokio::sync::mpsc;

/// Decoder rejections by reason, counted on the network side only.
pub type Malformed = Arc<Mutex<BTreeMap<String, u64>>>;

/// What the per-connection tasks tell the network loop.
enum NetEvent {
    /// A console completed the handshake.
    Accepted(quinn::Connection),
    /// The console opened its event stream.
    Stream(u64, quinn::SendStream),
    /// The connection of this generation ended.
    Ended(u64, String),
}

/// The open session's connection and event stream.
struct Live {
    generation: u64,
    connection: quinn::Connection,
    writer: Option<EventWriter>,
    /// Events the core sent before the console's stream was open.
    pending: VecDeque<SessionEvent>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

/// Serves consoles until the endpoint closes.
pub async fn serve(
    endpoint: quinn::Endpoint,
    shared: Arc<Shared>,
    waiter: link::wake::Waiter,
    malformed: Malformed,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut accept = tokio::spawn(accept_loop(endpoint, tx.clone()));
    let mut live: Option<Live> = None;
    let mut generation = 0u64;
    let mut buf = [0u8; MAX_DATAGRAM_LEN];
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                None => break,
                Some(NetEvent::Accepted(connection)) => {
                    if let Some(old) = live.take() {
                        tracing::warn!(remote = %old.connection.remote_address(), "a new console session supersedes the open one");
                        close(old, b"superseded by a new session");
                    }
                    generation += 1;
                    shared.push_inbound(StationInput::Connected);
                    live = Some(open(connection, generation, &shared, &malformed, &tx));
                }
                Some(NetEvent::Stream(g, send)) => {
                    if let Some(session) = live.as_mut().filter(|l| l.generation == g) {
                        let mut writer = EventWriter::new(send);
                        while let Some(event) = session.pending.pop_front() {
                            let _ = writer.send(&event).await;
                        }
                        session.writer = Some(writer);
                    }
                }
                Some(NetEvent::Ended(g, reason)) => {
                    if live.as_ref().is_some_and(|l| l.generation == g) {
                        tracing::info!(%reason, "session ended");
                        if let Some(old) = live.take() {
                            close(old, b"session ended");
                        }
                        shared.push_inbound(StationInput::Disconnected);
                    }
                }
            },
            // The endpoint was closed: the station is shutting down.
            _ = &mut accept => break,
            woke = waiter.notified() => {
                if woke.is_err() {
                    break;
                }
                drain_outputs(&shared, live.as_mut(), &malformed, &mut buf).await;
            }
        }
    }
    if let Some(session) = live.take() {
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

/// Starts the readers of a new connection.
fn open(
    connection: quinn::Connection,
    generation: u64,
    shared: &Arc<Shared>,
    malformed: &Malformed,
    tx: &mpsc::UnboundedSender<NetEvent>,
) -> Live {
    let datagrams = tokio::spawn(read_datagrams(
        connection.clone(),
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
        generation,
        connection,
        writer: None,
        pending: VecDeque::new(),
        readers: vec![datagrams, events],
    }
}

fn close(live: Live, reason: &[u8]) {
    for reader in &live.readers {
        reader.abort();
    }
    live.connection.close(0u32.into(), reason);
}

async fn read_datagrams(connection: quinn::Connection, shared: Arc<Shared>, malformed: Malformed) {
    while let Ok(bytes) = connection.read_datagram().await {
        let received_at = shared.now();
        match Datagram::decode(&bytes) {
            Ok(Datagram::State(_)) => count(&malformed, "unexpected_state_datagram"),
            Ok(datagram) => shared.push_inbound(StationInput::Datagram {
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
            Ok(Some(event)) => shared.push_inbound(StationInput::Event { event }),
            Ok(None) => return Ok(()),
            Err(e) => {
                count(malformed, "bad_event_frame");
                connection.close(1u32.into(), b"malformed event frame");
                return Err(e);
            }
        }
    }
}

/// Sends what the session core asked for; events are logged here, never on the servo thread.
async fn drain_outputs(
    shared: &Shared,
    mut live: Option<&mut Live>,
    malformed: &Malformed,
    buf: &mut [u8; MAX_DATAGRAM_LEN],
) {
    while let Some(output) = shared.pop_outbound() {
        match output {
            StationOutput::Datagram { datagram } => {
                if let Some(session) = live.as_deref() {
                    let n = datagram.encode(buf);
                    // Datagrams are unreliable anyway: a full or closed connection drops it.
                    let _ = session
                        .connection
                        .send_datagram(Bytes::copy_from_slice(&buf[..n]));
                }
            }
            StationOutput::Event { mut event } => {
                log_event(&event);
                if let SessionEvent::Report(report) = &mut event {
                    report.servo_missed_deadlines = shared
                        .servo_missed
                        .load(std::sync::atomic::Ordering::Relaxed);
                    if let Ok(counts) = malformed.lock() {
                        report.malformed = counts.clone();
                    }
                }
                if let Some(session) = live.as_deref_mut() {
                    match session.writer.as_mut() {
                        Some(writer) => {
                            if let Err(e) = writer.send(&event).await {
                                tracing::warn!(error = %e, "could not send an event to the console");
                            }
                        }
                        None => session.pending.push_back(event),
                    }
                }
            }
            StationOutput::Close { reason } => {
                tracing::warn!(%reason, "closing the console session");
                if let Some(session) = live.as_deref() {
                    session.connection.close(2u32.into(), reason.as_bytes());
                }
            }
            StationOutput::Verdict { .. } => {}
        }
    }
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
        _ => {}
    }
}

fn count(malformed: &Malformed, reason: &str) {
    if let Ok(mut map) = malformed.lock() {
        *map.entry(reason.to_string()).or_default() += 1;
    }
}
