//! MQTT ingestion: subscribe, decode, commit in batches, and only then acknowledge.
//!
//! The MQTT task decodes each publish and hands it to the ingest thread, which owns the store:
//! the MQTT task also scores each measurement the alert fast path ([`crate::fast_path`]) has not
//! scored yet and pushes its alerts (they never wait for a commit). The ingest thread drains
//! whatever is queued (up to `max_batch`), writes it in one transaction, commits, and hands the
//! batch to the ack task, which after the commit (1) PUBACKs every publish to the broker (manual
//! acks, persistent session, so an uncommitted message is redelivered after a crash) and (2)
//! publishes the committed sequence
//! numbers on each device's `ack` topic: the end-to-end confirmation a device can rely on.

use crate::care::HubEvent;
use crate::ecg_streams::{self, Analysis, EcgStreams};
use crate::metrics::Metrics;
use crate::recent::Seen;
use crate::topics::{self, Topic};
use crate::{Shared, now_ms};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use store::{Insert, Store, StoreError};
use tokio::sync::mpsc;
use vitals::Measurement;
use vitals::payload::{self, DeviceState, Heartbeat, Position, Rejection, Status};
use vitals::reading_window::ReadingWindow;

/// A decoded publish, still holding the packet so it can be acknowledged after the commit.
pub struct Inbound {
    publish: Publish,
    message: Message,
}

enum Message {
    /// Vitals of a device: the readings accepted (or why the payload was not), and the readings
    /// refused for their time stamp ([`ReadingWindow`]).
    Vitals(String, Result<Vec<Measurement>, Rejection>, Vec<Rejection>),
    Status(String, Result<Status, Rejection>),
    Heartbeat(String, Result<Heartbeat, Rejection>),
    Position(String, Result<Position, Rejection>),
    /// An ECG chunk, already analysed in the MQTT task (its alerts are raised there), and the
    /// heart rates refused for their time stamp ([`ReadingWindow`]).
    Ecg(Result<Analysis, Rejection>, Vec<Rejection>),
    UnknownTopic,
}

fn classify(publish: Publish, streams: &mut EcgStreams, window: &ReadingWindow) -> Inbound {
    let body = &publish.payload[..];
    let message = match topics::parse(&publish.topic) {
        Some(Topic::Vitals(d)) => match payload::decode_vitals_batch(d, body) {
            Ok(readings) => {
                let (accepted, refused) = window.split(readings, now_ms());
                Message::Vitals(d.into(), Ok(accepted), refused)
            }
            Err(r) => Message::Vitals(d.into(), Err(r), Vec::new()),
        },
        Some(Topic::Status(d)) => Message::Status(d.into(), payload::decode_status(body)),
        Some(Topic::Heartbeat(d)) => Message::Heartbeat(d.into(), payload::decode_heartbeat(body)),
        Some(Topic::Position(u)) => Message::Position(u.into(), payload::decode_position(body)),
        Some(Topic::Ecg(stream)) => match ecg_streams::decode(&stream, body) {
            Ok(chunk) => {
                let mut analysis = streams.analyse(chunk);
                let refused = analysis.keep_in_window(window, now_ms());
                Message::Ecg(Ok(analysis), refused)
            }
            Err(r) => Message::Ecg(Err(r), Vec::new()),
        },
        None => Message::UnknownTopic,
    };
    Inbound { publish, message }
}

/// MQTT options of the hub's subscriber: persistent session, acks sent by hand after commit.
pub fn client_options(client_id: &str, host: &str, port: u16) -> MqttOptions {
    let mut options = MqttOptions::new(client_id, host, port);
    options
        .set_keep_alive(Duration::from_secs(15))
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_max_packet_size(64 * 1024, 64 * 1024)
        .set_request_channel_capacity(1 << 16);
    options
}

/// Small MQTT packets (PUBACKs, acks) must not wait for Nagle's algorithm.
pub fn no_delay(eventloop: &mut EventLoop) {
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
}

/// Polls the MQTT connection forever: subscribes on every connect, forwards every publish.
pub async fn mqtt_loop(
    mut eventloop: EventLoop,
    client: AsyncClient,
    tx: mpsc::Sender<Inbound>,
    shared: Arc<Shared>,
    mut streams: EcgStreams,
    window: ReadingWindow,
) {
    no_delay(&mut eventloop);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                tracing::info!(
                    session_present = ack.session_present,
                    "connected to the MQTT broker"
                );
                for filter in topics::SUBSCRIPTIONS {
                    if let Err(e) = client.try_subscribe(filter, QoS::AtLeastOnce) {
                        tracing::error!("cannot subscribe to {filter}: {e}");
                    }
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                shared
                    .metrics
                    .mqtt_subscribed
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let inbound = classify(publish, &mut streams, &window);
                match &inbound.message {
                    Message::Vitals(_, Ok(measurements), _) => {
                        let scored = raise_alerts(&shared, measurements);
                        Metrics::add(&shared.metrics.scored_durable_path, scored);
                    }
                    Message::Ecg(Ok(analysis), _) => raise_ecg_alerts(&shared, analysis),
                    _ => {}
                }
                if tx.send(inbound).await.is_err() {
                    return; // the ingest thread stopped
                }
            }
            Ok(_) => {}
            Err(e) => {
                shared
                    .metrics
                    .mqtt_subscribed
                    .store(false, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!("MQTT connection: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// What one committed batch owes the outside world.
#[derive(Default)]
struct Outcome {
    publishes: Vec<Publish>,
    /// Committed sequence numbers by the topic they are confirmed on.
    acks: BTreeMap<String, Vec<u64>>,
    /// Rejections with the topic they are reported on (empty: reported only to the hub's clients).
    errors: Vec<(String, HubEvent)>,
    stored: u64,
    statuses: Vec<(String, Status)>,
    heartbeats: Vec<(String, Heartbeat)>,
    positions: Vec<(String, Position)>,
}

impl Outcome {
    fn reject(&mut self, metrics: &Metrics, reply_to: Option<String>, topic: &str, r: Rejection) {
        metrics.reject(r.reason());
        tracing::warn!(topic, reason = r.reason(), "rejected payload: {r}");
        let event = HubEvent::IngestError {
            topic: topic.to_string(),
            reason: r.reason(),
            detail: r.to_string(),
        };
        self.errors.push((reply_to.unwrap_or_default(), event));
    }
}

/// The ingest thread: batches, commits, feeds the alert engine, acknowledges.
pub struct Ingest {
    pub store: Store,
    pub shared: Arc<Shared>,
    /// Committed batches go to [`ack_loop`].
    pub acks: mpsc::UnboundedSender<Acks>,
    pub max_batch: usize,
    /// Nice value for this thread (0: unchanged).
    pub nice: i32,
}

impl Ingest {
    /// Runs until the MQTT side goes away; a store error stops ingestion (nothing more is acked).
    pub fn run(mut self, mut rx: mpsc::Receiver<Inbound>) -> Result<(), StoreError> {
        crate::priority::lower(self.nice);
        let mut known = HashSet::new();
        let mut batch = Vec::with_capacity(self.max_batch);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let size = batch.len();
            let started = std::time::Instant::now();
            let outcome = self.commit(&mut batch, &mut known)?;
            let committed = started.elapsed();
            self.after_commit(outcome);
            tracing::debug!(
                size,
                commit_ms = committed.as_secs_f64() * 1e3,
                total_ms = started.elapsed().as_secs_f64() * 1e3,
                "batch committed and acknowledged"
            );
        }
        Ok(())
    }

    fn commit(
        &mut self,
        batch: &mut Vec<Inbound>,
        known: &mut HashSet<(String, String)>,
    ) -> Result<Outcome, StoreError> {
        let metrics = &self.shared.metrics;
        let mut out = Outcome::default();
        let tx = self.store.begin_batch()?;
        let mut duplicates = 0;
        for inbound in batch.drain(..) {
            let topic = inbound.publish.topic.clone();
            match inbound.message {
                Message::Vitals(d, Ok(measurements), refused) => {
                    for r in refused {
                        out.reject(metrics, Some(topics::error(&d)), &topic, r);
                    }
                    for m in measurements {
                        if known.insert((m.device.clone(), m.patient.clone())) {
                            tx.ensure_patient(&m.patient)?;
                            tx.ensure_device(&m.device, Some(&m.patient))?;
                        }
                        let stored = matches!(tx.insert(&m)?, Insert::Stored(_));
                        out.acks
                            .entry(topics::ack(&m.device))
                            .or_default()
                            .push(m.seq);
                        if stored {
                            out.stored += 1;
                        } else {
                            duplicates += 1;
                        }
                    }
                }
                Message::Vitals(d, Err(r), _) => {
                    out.reject(metrics, Some(topics::error(&d)), &topic, r)
                }
                Message::Status(d, Ok(s)) => out.statuses.push((d, s)),
                Message::Heartbeat(d, Ok(h)) => out.heartbeats.push((d, h)),
                Message::Position(u, Ok(p)) => out.positions.push((u, p)),
                Message::Status(d, Err(r)) | Message::Heartbeat(d, Err(r)) => {
                    out.reject(metrics, Some(topics::error(&d)), &topic, r)
                }
                Message::Ecg(Ok(analysis), refused) => {
                    for r in refused {
                        out.reject(metrics, Some(format!("{topic}/error")), &topic, r);
                    }
                    let stream = analysis.key.stream_device();
                    duplicates += u64::from(analysis.duplicate);
                    if known.insert((stream.clone(), analysis.key.patient.clone())) {
                        tx.ensure_patient(&analysis.key.patient)?;
                        tx.ensure_device(&stream, Some(&analysis.key.patient))?;
                    }
                    for m in &analysis.heart_rates {
                        if matches!(tx.insert(m)?, Insert::Stored(_)) {
                            out.stored += 1;
                        } else {
                            duplicates += 1;
                        }
                    }
                    let ack_topic = topics::ecg_ack(&analysis.key.topic());
                    out.acks
                        .entry(ack_topic)
                        .or_default()
                        .push(analysis.chunk_seq);
                }
                Message::Ecg(Err(r), _) => {
                    out.reject(metrics, Some(format!("{topic}/error")), &topic, r)
                }
                Message::Position(_, Err(r)) => out.reject(metrics, None, &topic, r),
                Message::UnknownTopic => {
                    let r = Rejection::Schema(format!("topic {topic} is outside the scheme"));
                    out.reject(metrics, None, &topic, r)
                }
            }
            out.publishes.push(inbound.publish);
        }
        tx.commit()?;
        Metrics::add(&metrics.commits, 1);
        Metrics::add(&metrics.duplicates, duplicates);
        Metrics::add(&metrics.measurements_stored, out.stored);
        Ok(out)
    }

    fn after_commit(&self, out: Outcome) {
        let now = now_ms();
        let mut events: Vec<HubEvent> = out.errors.iter().map(|(_, e)| e.clone()).collect();
        // Vitals-only batches leave the ward alone: this (lower-priority) thread then never holds
        // the lock the alert paths need.
        let ward_news =
            !(out.statuses.is_empty() && out.heartbeats.is_empty() && out.positions.is_empty());
        if ward_news && let Ok(mut care) = self.shared.care.lock() {
            for (device, s) in &out.statuses {
                let online = s.state == DeviceState::Online;
                care.status(device, online, s.patient.as_deref(), now, &mut events);
            }
            for (device, h) in &out.heartbeats {
                care.heartbeat(device, h.patient.as_deref(), now, &mut events);
            }
            for (unit, p) in out.positions {
                care.position(&unit, p, now);
            }
            care.drain_alerts(&mut events);
        }
        self.shared.publish_events(events);
        let owed = Acks {
            publishes: out.publishes,
            acks: out.acks,
            errors: out.errors,
        };
        if self.acks.send(owed).is_err() {
            tracing::warn!("the ack task stopped; nothing more is acknowledged");
        }
    }
}

/// Scores the measurements not scored before (by either connection) and pushes the alerts they
/// raise at once: an alert does not queue behind the batch commits (nor is it lost if a commit
/// fails: then nothing is acknowledged and the device sends the measurement again, which is stored
/// but not re-scored). Readings stamped outside the reading window are not scored (the durable
/// path reports them). Returns how many it scored.
pub(crate) fn raise_alerts(shared: &Shared, measurements: &[Measurement]) -> u64 {
    let mut events = Vec::new();
    let mut scored = 0;
    if let Ok(mut care) = shared.care.lock() {
        let now = now_ms();
        for m in measurements {
            match care.score_new(m, now, &mut events) {
                Ok(Seen::Again) | Err(_) => {}
                Ok(Seen::New) => scored += 1,
                Ok(Seen::Reboot) => {
                    scored += 1;
                    Metrics::add(&shared.metrics.device_reboots, 1);
                    tracing::info!(device = %m.device, seq = m.seq, "device rebooted: sequence restarted");
                }
            }
        }
        care.drain_alerts(&mut events);
    }
    if !events.is_empty() {
        shared.publish_events(events);
    }
    scored
}

/// Applies an analysed ECG chunk to the ward at once (liveness, heart rates into NEWS2, rhythm
/// and electrode alerts) and pushes the alert events; a redelivered chunk changes nothing.
fn raise_ecg_alerts(shared: &Shared, analysis: &Analysis) {
    let metrics = &shared.metrics;
    if analysis.duplicate {
        return; // counted as a duplicate when its batch commits
    }
    Metrics::add(&metrics.ecg_chunks, 1);
    if analysis.missed_chunks > 0 {
        Metrics::add(&metrics.ecg_missed_chunks, analysis.missed_chunks);
        tracing::warn!(stream = %analysis.key.stream_device(), missed = analysis.missed_chunks,
            "ECG chunks missing: analysis restarted");
    }
    let mut events = Vec::new();
    if let Ok(mut care) = shared.care.lock() {
        care.ecg(analysis, now_ms(), &mut events);
        care.drain_alerts(&mut events);
    }
    if !events.is_empty() {
        shared.publish_events(events);
    }
}

/// What a committed batch owes the devices and the broker.
pub struct Acks {
    publishes: Vec<Publish>,
    acks: BTreeMap<String, Vec<u64>>,
    errors: Vec<(String, HubEvent)>,
}

/// Sends PUBACKs and `ack`/`error` messages for committed batches, in commit order, so the
/// ingest thread can start the next batch while the previous one is being acknowledged.
pub async fn ack_loop(
    client: AsyncClient,
    shared: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<Acks>,
) {
    while let Some(owed) = rx.recv().await {
        for publish in &owed.publishes {
            if let Err(e) = client.ack(publish).await {
                tracing::warn!("PUBACK not sent: {e}");
            }
        }
        let mut acked = 0;
        for (ack_topic, seqs) in &owed.acks {
            acked += seqs.len() as u64;
            let body = serde_json::json!({ "seqs": seqs }).to_string();
            if let Err(e) = client
                .publish(ack_topic, QoS::AtMostOnce, false, body)
                .await
            {
                tracing::warn!("ack on {ack_topic} not sent: {e}");
            }
        }
        for (error_topic, event) in owed.errors.iter().filter(|(t, _)| !t.is_empty()) {
            let body = serde_json::to_string(event).unwrap_or_default();
            let _ = client
                .publish(error_topic, QoS::AtMostOnce, false, body)
                .await;
        }
        Metrics::add(&shared.metrics.acks_sent, acked);
    }
}
