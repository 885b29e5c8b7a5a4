//! The station's network side: accepts one console at a time, answers and sends clock pings,
//! turns control datagrams into inbound commands stamped on the station clock, maps console
//! events to supervisor requests, and forwards transitions to the console.

use crate::core::Inbound;
use crate::report::StationReport;
use bytes::Bytes;
use crossbeam_queue::ArrayQueue;
use link::{EventReader, EventWriter, LinkError};
use proto::datagram::MAX_DATAGRAM_LEN;
use proto::{ClockPing, ClockPong, ClockSync, Datagram, Event, SupervisorStateCode};
use safety::{Request, Transition};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// What the servo thread tells the console.
#[derive(Debug)]
pub enum Outbound {
    Transition(Transition),
    Refused {
        request: Request,
        reason: &'static str,
    },
}

/// State shared by the servo and network threads.
pub struct Shared {
    pub epoch: Instant,
    pub inbound: ArrayQueue<Inbound>,
    /// The live session, for the servo thread's state datagrams.
    pub connection: Mutex<Option<quinn::Connection>>,
    /// Requests for a report, answered by the servo thread on its next tick.
    pub report_requests: ArrayQueue<oneshot::Sender<StationReport>>,
    pub clock_ping: Duration,
}

impl Shared {
    pub fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn now_us(&self) -> i64 {
        self.now().as_micros() as i64
    }

    /// Queues an item for the servo thread; when full the oldest is dropped (it is stale anyway).
    pub fn push_inbound(&self, item: Inbound) {
        let _ = self.inbound.force_push(item);
    }
}

/// Serves consoles one after another until the endpoint closes.
pub async fn serve(
    endpoint: quinn::Endpoint,
    shared: Arc<Shared>,
    mut outbound: mpsc::UnboundedReceiver<Outbound>,
) {
    while let Some(connection) = link::accept_session(&endpoint).await {
        let remote = connection.remote_address();
        if let Ok(mut slot) = shared.connection.lock() {
            *slot = Some(connection.clone());
        }
        match run_session(&connection, &shared, &mut outbound).await {
            Ok(()) => tracing::info!(%remote, "session ended"),
            Err(e) => tracing::warn!(%remote, error = %e, "session ended with an error"),
        }
        if let Ok(mut slot) = shared.connection.lock() {
            *slot = None;
        }
    }
}

struct SessionState {
    clock: ClockSync,
    malformed: BTreeMap<String, u64>,
    ping_id: u64,
    buf: [u8; MAX_DATAGRAM_LEN],
}

async fn run_session(
    connection: &quinn::Connection,
    shared: &Shared,
    outbound: &mut mpsc::UnboundedReceiver<Outbound>,
) -> Result<(), LinkError> {
    let (send, recv) = connection.accept_bi().await?;
    let mut writer = EventWriter::new(send);
    let mut reader = EventReader::new(recv);
    writer
        .send(&Event::Hello {
            role: "station".into(),
            wire_version: proto::WIRE_VERSION,
        })
        .await?;
    let mut session = SessionState {
        clock: ClockSync::new(),
        malformed: BTreeMap::new(),
        ping_id: 0,
        buf: [0; MAX_DATAGRAM_LEN],
    };
    let mut ping_timer = tokio::time::interval(shared.clock_ping);
    loop {
        tokio::select! {
            datagram = connection.read_datagram() => on_datagram(connection, shared, &mut session, &datagram?),
            event = reader.next() => {
                let event = match event {
                    Ok(Some(event)) => event,
                    Ok(None) => return Ok(()),
                    Err(e) => {
                        count(&mut session.malformed, "bad_event_frame");
                        connection.close(1u32.into(), b"malformed event frame");
                        return Err(e);
                    }
                };
                if let Event::Bye = event {
                    let report = final_report(shared, &session).await;
                    let json = serde_json::to_string(&report).unwrap_or_default();
                    writer.send(&Event::Report { json }).await?;
                    return writer.finish().await;
                }
                if let Some(request) = request_from_console(&event) {
                    shared.push_inbound(Inbound::Request(request));
                }
            }
            _ = ping_timer.tick() => {
                session.ping_id += 1;
                let ping = Datagram::Ping(ClockPing { id: session.ping_id, t1_us: shared.now_us() });
                send_datagram(connection, &ping, &mut session.buf);
            }
            Some(out) = outbound.recv() => writer.send(&event_for_console(out)).await?,
        }
    }
}

/// Only these requests may come from the network; clearing an e-stop or a fault never does.
fn request_from_console(event: &Event) -> Option<Request> {
    match event {
        Event::Enable => Some(Request::Enable),
        Event::Disable => Some(Request::Disable),
        Event::Engage { from_seq } => Some(Request::Engage {
            from_seq: *from_seq,
        }),
        Event::Disengage => Some(Request::Disengage),
        Event::EstopRequest => Some(Request::RemoteEstop),
        _ => None,
    }
}

fn state_code(state: safety::SafetyState) -> SupervisorStateCode {
    SupervisorStateCode::from_byte(state as u8).unwrap_or(SupervisorStateCode::Fault)
}

fn event_for_console(out: Outbound) -> Event {
    match out {
        Outbound::Transition(t) => Event::Transition {
            from: state_code(t.from),
            to: state_code(t.to),
            reason: t.reason.name().into(),
            at_us: t.at.as_micros() as i64,
        },
        Outbound::Refused { request, reason } => Event::Refused {
            request: format!("{request:?}"),
            reason: reason.into(),
        },
    }
}

fn on_datagram(
    connection: &quinn::Connection,
    shared: &Shared,
    session: &mut SessionState,
    bytes: &[u8],
) {
    let received_at = shared.now();
    match Datagram::decode(bytes) {
        Ok(Datagram::Control(cmd)) => {
            let issued_at = session
                .clock
                .to_local_us(cmd.sent_at_us)
                .and_then(|us| u64::try_from(us).ok())
                .map(Duration::from_micros);
            shared.push_inbound(Inbound::Command {
                cmd,
                issued_at,
                received_at,
            });
        }
        Ok(Datagram::Ping(ping)) => {
            let t2_us = received_at.as_micros() as i64;
            let pong = ClockPong {
                id: ping.id,
                t1_us: ping.t1_us,
                t2_us,
                t3_us: shared.now_us(),
            };
            send_datagram(connection, &Datagram::Pong(pong), &mut session.buf);
        }
        Ok(Datagram::Pong(pong)) => {
            if session
                .clock
                .on_pong(&pong, received_at.as_micros() as i64)
                .is_none()
            {
                count(&mut session.malformed, "inconsistent_clock_echo");
            }
        }
        Ok(Datagram::State(_)) => count(&mut session.malformed, "unexpected_state_datagram"),
        Err(e) => count(&mut session.malformed, e.reason()),
    }
}

fn count(map: &mut BTreeMap<String, u64>, reason: &str) {
    *map.entry(reason.to_string()).or_default() += 1;
}

/// Sends a datagram; a full or closed connection drops it (datagrams are unreliable anyway).
pub fn send_datagram(
    connection: &quinn::Connection,
    datagram: &Datagram,
    buf: &mut [u8; MAX_DATAGRAM_LEN],
) {
    let n = datagram.encode(buf);
    let _ = connection.send_datagram(Bytes::copy_from_slice(&buf[..n]));
}

async fn final_report(shared: &Shared, session: &SessionState) -> StationReport {
    let (tx, rx) = oneshot::channel();
    let _ = shared.report_requests.force_push(tx);
    let mut report = rx.await.unwrap_or_default();
    report.malformed = session.malformed.clone();
    report.clock_rtt_us = session.clock.latest().map(|s| s.rtt_us);
    report
}
