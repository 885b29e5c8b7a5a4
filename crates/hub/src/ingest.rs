//! MQTT ingestion: decode, attribute to the registered patient, commit in batches, and only then
//! acknowledge.
//!
//! Publishes come from the embedded gateway ([`crate::gateway`], which knows the device that sent
//! each one) or from the hub's subscription to an external broker (whose ACL binds each device to
//! its topics; the device is the one its topic names). Either way each publish is classified
//! here, its readings attributed to the patient the device is registered to, scored at once (its
//! alerts never wait for a commit), and handed to the ingest thread, which owns the store: it
//! drains whatever is queued (up to `max_batch`), writes it in one transaction, commits, and hands
//! the batch to the ack task, which after the commit (1) PUBACKs every publish (to the device, or
//! to the broker: manual acks, persistent session, so an uncommitted message is redelivered after
//! a crash) and (2) publishes the committed sequence numbers on each device's `ack` topic: the
//! end-to-end confirmation a device can rely on.

use crate::care::HubEvent;
use crate::ecg_streams::{self, Analysis, EcgStreams};
use crate::gateway::{Gateway, Session};
use crate::metrics::{DeviceRefusal, Metrics};
use crate::recent::Seen;
use crate::registrations::Registrations;
use crate::topics::{self, Topic};
use crate::{Shared, now_ms};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use store::{Insert, Store, StoreError};
use tokio::sync::mpsc;
use vitals::Measurement;
use vitals::payload::{self, DeviceState, Heartbeat, Position, Rejection, Status};
use vitals::reading_window::ReadingWindow;

/// Who a publish is acknowledged to once committed.
#[derive(Clone)]
pub enum Origin {
    /// The external broker (the hub's own subscription).
    Broker,
    /// A device connected to the embedded gateway.
    Device(Arc<Session>),
    /// Nobody: a QoS 0 publish or a last will.
    Unacknowledged,
}

/// A decoded publish, still holding the packet so it can be acknowledged after the commit.
pub struct Inbound {
    publish: Publish,
    origin: Origin,
    message: Message,
}

enum Message {
    /// Vitals of a device: the readings accepted (or why the payload was not), and the readings
    /// refused for their time stamp ([`ReadingWindow`]).
    Vitals(String, Result<Vec<Measurement>, Rejection>, Vec<Rejection>),
    Status(String, Result<Status, Rejection>),
    Heartbeat(String, Result<Heartbeat, Rejection>),
    Position(String, Result<Position, Rejection>),
    /// An ECG chunk, already analysed (its alerts are raised on arrival), and the heart rates
    /// refused for their time stamp ([`ReadingWindow`]).
    Ecg(Result<Analysis, Rejection>, Vec<Rejection>),
    UnknownTopic,
}

/// Why a device's message names the wrong patient.
fn wrong_patient(device: &str, named: &str, registered: &str) -> Rejection {
    Rejection::Schema(format!(
        "the message names patient {named}; device {device} is registered to {registered}"
    ))
}

/// Classifies a publish of a device registered to `patient` (`None`: not registered, so nothing
/// it sends is taken): vitals naming another patient are refused whole; status, heartbeat and
/// position messages count for the registered patient whatever they name.
pub(crate) fn classify(
    publish: Publish,
    origin: Origin,
    streams: &Mutex<EcgStreams>,
    window: &ReadingWindow,
    patient: Option<&str>,
) -> Inbound {
    let body = &publish.payload[..];
    let topic = topics::parse(&publish.topic);
    let message = match (topic, patient) {
        (None, _) => Message::UnknownTopic,
        (Some(t), None) => {
            let r = Rejection::Schema(format!("device {} is not registered", t.device()));
            match t {
                Topic::Ecg(_) => Message::Ecg(Err(r), Vec::new()),
                t => Message::Vitals(t.device().into(), Err(r), Vec::new()),
            }
        }
        (Some(Topic::Vitals(d)), Some(p)) => match payload::decode_vitals_batch(d, body) {
            Ok(readings) => match readings.iter().find(|m| m.patient != p) {
                Some(m) => Message::Vitals(d.into(), Err(wrong_patient(d, &m.patient, p)), vec![]),
                None => {
                    let (accepted, refused) = window.split(readings, now_ms());
                    Message::Vitals(d.into(), Ok(accepted), refused)
                }
            },
            Err(r) => Message::Vitals(d.into(), Err(r), Vec::new()),
        },
        (Some(Topic::Status(d)), Some(p)) => {
            let status = payload::decode_status(body).map(|s| Status {
                patient: Some(p.to_string()),
                ..s
            });
            Message::Status(d.into(), status)
        }
        (Some(Topic::Heartbeat(d)), Some(p)) => {
            let heartbeat = payload::decode_heartbeat(body).map(|_| Heartbeat {
                patient: Some(p.to_string()),
            });
            Message::Heartbeat(d.into(), heartbeat)
        }
        (Some(Topic::Position(u)), Some(p)) => {
            let position = payload::decode_position(body).map(|pos| Position {
                patient: p.to_string(),
                ..pos
            });
            Message::Position(u.into(), position)
        }
        (Some(Topic::Ecg(stream)), Some(p)) if stream.patient != p => {
            let r = wrong_patient(stream.device, stream.patient, p);
            Message::Ecg(Err(r), Vec::new())
        }
        (Some(Topic::Ecg(stream)), Some(_)) => match ecg_streams::decode(&stream, body) {
            Ok(chunk) => {
                // Locked for ECG chunks only: vitals from many connections never wait on it.
                let mut streams = streams.lock().unwrap_or_else(PoisonError::into_inner);
                let mut analysis = streams.analyse(chunk);
                let refused = analysis.keep_in_window(window, now_ms());
                Message::Ecg(Ok(analysis), refused)
            }
            Err(r) => Message::Ecg(Err(r), Vec::new()),
        },
    };
    Inbound {
        publish,
        origin,
        message,
    }
}

/// Scores what a classified publish carries and pushes the alerts it raises (vitals, ECG) at
/// once; returns how many measurements it scored.
pub(crate) fn score_on_arrival(shared: &Shared, inbound: &Inbound) -> u64 {
    match &inbound.message {
        Message::Vitals(_, Ok(measurements), _) => raise_alerts(shared, measurements),
        Message::Ecg(Ok(analysis), _) => {
            raise_ecg_alerts(shared, analysis);
            0
        }
        _ => 0,
    }
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

/// Polls the external broker's connection forever: subscribes on every connect, forwards every
/// publish (attributed to its topic's device's registration).
pub async fn mqtt_loop(
    mut eventloop: EventLoop,
    client: AsyncClient,
    tx: mpsc::Sender<Inbound>,
    shared: Arc<Shared>,
    streams: EcgStreams,
    window: ReadingWindow,
) {
    let streams = Mutex::new(streams);
    no_delay(&mut eventloop);
    let mut registrations = Registrations::default();
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                tracing::info!(
                    session_present = ack.session_present,
                    "connected to the MQTT broker"
                );
                if let Some(cluster) = &shared.cluster {
                    // Only the devices of the patients this hub owns (crate::cluster).
                    cluster.connected(crate::cluster::Link::Durable, &client);
                    shared
                        .metrics
                        .mqtt_subscribed
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    continue;
                }
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
                let device = topics::parse(&publish.topic).map(|t| t.device().to_string());
                let patient = device.and_then(|d| registrations.patient_of(&shared, &d, now_ms()));
                if patient.is_none() {
                    shared.metrics.refuse_device(DeviceRefusal::Unregistered);
                }
                if let (Some(cluster), Some(p)) = (&shared.cluster, &patient)
                    && !cluster.owns(p, now_ms())
                {
                    // Another hub owns the patient: not stored, not confirmed (its device sends
                    // it again, to the owner), only taken off the broker's queue.
                    cluster.refuse_not_owned();
                    if let Err(e) = client.try_ack(&publish) {
                        tracing::warn!("PUBACK of a publish not owned: {e}");
                    }
                    continue;
                }
                let inbound = classify(
                    publish,
                    Origin::Broker,
                    &streams,
                    &window,
                    patient.as_deref(),
                );
                let scored = score_on_arrival(&shared, &inbound);
                Metrics::add(&shared.metrics.scored_durable_path, scored);
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
    publishes: Vec<(Publish, Origin)>,
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

/// The device-patient links the ingest thread has written (so each is written once, without an
/// allocation per reading).
#[derive(Default)]
struct Linked(HashMap<String, String>);

impl Linked {
    /// Records the link; true when it is new (and must be written).
    fn link(&mut self, device: &str, patient: &str) -> bool {
        if self.0.get(device).is_some_and(|p| p == patient) {
            return false;
        }
        self.0.insert(device.to_string(), patient.to_string());
        true
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
    /// Runs until the MQTT side goes away. An SQLite error stops ingestion (nothing more is
    /// acked); on PostgreSQL, whose server may restart or fail over under the hub, the batch is
    /// dropped unacknowledged (its devices send it again) and ingestion goes on once the server
    /// answers ([`Ingest::wait_for_the_server`]).
    pub fn run(mut self, mut rx: mpsc::Receiver<Inbound>) -> Result<(), StoreError> {
        crate::priority::lower(self.nice);
        let mut known = Linked::default();
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
            let outcome = match self.commit(&mut batch, &mut known) {
                Ok(outcome) => outcome,
                Err(e) if self.store.conn().engine() == store::db::Engine::Postgres => {
                    batch.clear();
                    known = Linked::default(); // the links of the lost batch were not written
                    self.wait_for_the_server(&e);
                    continue;
                }
                Err(e) => return Err(e),
            };
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

    /// After a failed PostgreSQL commit: logs it, then waits (a second at most) until the
    /// server answers again.
    fn wait_for_the_server(&mut self, error: &StoreError) {
        tracing::warn!("batch not committed, not acknowledged (devices send it again): {error}");
        let give_up = std::time::Instant::now() + Duration::from_secs(1);
        let answers = |store: &Store| store.conn().query_value::<i64>("SELECT 1", &[]).is_ok();
        while !answers(&self.store) && std::time::Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn commit(
        &mut self,
        batch: &mut Vec<Inbound>,
        known: &mut Linked,
    ) -> Result<Outcome, StoreError> {
        let metrics = &self.shared.metrics;
        let mut out = Outcome::default();
        let tx = self.store.begin_batch()?;
        let mut duplicates = 0;
        // Every reading of the batch goes in at the end, in a few multi-row inserts (one round
        // trip each to PostgreSQL), in arrival order.
        let mut readings = Vec::new();
        for inbound in batch.drain(..) {
            let topic = inbound.publish.topic.clone();
            match inbound.message {
                Message::Vitals(d, Ok(measurements), refused) => {
                    for r in refused {
                        out.reject(metrics, Some(topics::error(&d)), &topic, r);
                    }
                    for m in measurements {
                        if known.link(&m.device, &m.patient) {
                            tx.ensure_patient(&m.patient)?;
                            tx.ensure_device(&m.device, Some(&m.patient))?;
                        }
                        out.acks
                            .entry(topics::ack(&m.device))
                            .or_default()
                            .push(m.seq);
                        readings.push(m);
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
                    if known.link(&stream, &analysis.key.patient) {
                        tx.ensure_patient(&analysis.key.patient)?;
                        tx.ensure_device(&stream, Some(&analysis.key.patient))?;
                    }
                    readings.extend(analysis.heart_rates.iter().cloned());
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
            out.publishes.push((inbound.publish, inbound.origin));
        }
        for inserted in tx.insert_all(&readings)? {
            if matches!(inserted, Insert::Stored(_)) {
                out.stored += 1;
            } else {
                duplicates += 1;
            }
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
            // Among several hubs, only the patient's owner keeps its devices' liveness.
            let owns = |patient: Option<&str>| patient.is_none_or(|p| self.shared.owns(p, now));
            for (device, s) in out
                .statuses
                .iter()
                .filter(|(_, s)| owns(s.patient.as_deref()))
            {
                let online = s.state == DeviceState::Online;
                care.status(device, online, s.patient.as_deref(), now, &mut events);
            }
            for (device, h) in &out.heartbeats {
                if owns(h.patient.as_deref()) {
                    care.heartbeat(device, h.patient.as_deref(), now, &mut events);
                }
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
        // Checked under the ward's lock: a shard handed over meanwhile is not scored here.
        for m in measurements.iter().filter(|m| shared.owns(&m.patient, now)) {
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
    if let Ok(mut care) = shared.care.lock()
        && shared.owns(&analysis.key.patient, now_ms())
    {
        care.ecg(analysis, now_ms(), &mut events);
        care.drain_alerts(&mut events);
    }
    if !events.is_empty() {
        shared.publish_events(events);
    }
}

/// What a committed batch owes the devices and the broker.
pub struct Acks {
    publishes: Vec<(Publish, Origin)>,
    acks: BTreeMap<String, Vec<u64>>,
    errors: Vec<(String, HubEvent)>,
}

/// Where the hub's PUBACKs and answers go: the external broker or the embedded gateway.
pub enum Outlet {
    Broker(AsyncClient),
    Gateway(Arc<Gateway>),
}

impl Outlet {
    async fn puback(&self, publish: &Publish, origin: &Origin) {
        match (origin, self) {
            (Origin::Device(session), _) => session.puback(publish.pkid),
            (Origin::Broker, Outlet::Broker(client)) => {
                if let Err(e) = client.ack(publish).await {
                    tracing::warn!("PUBACK not sent: {e}");
                }
            }
            _ => {}
        }
    }

    async fn publish(&self, topic: &str, body: String) {
        match self {
            Outlet::Broker(client) => {
                if let Err(e) = client.publish(topic, QoS::AtMostOnce, false, body).await {
                    tracing::warn!("{topic} not sent: {e}");
                }
            }
            Outlet::Gateway(gateway) => gateway.deliver(topic, body.into_bytes()),
        }
    }
}

/// Sends PUBACKs and `ack`/`error` messages for committed batches, in commit order, so the
/// ingest thread can start the next batch while the previous one is being acknowledged.
pub async fn ack_loop(outlet: Outlet, shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Acks>) {
    while let Some(owed) = rx.recv().await {
        for (publish, origin) in &owed.publishes {
            outlet.puback(publish, origin).await;
        }
        let mut acked = 0;
        for (ack_topic, seqs) in &owed.acks {
            acked += seqs.len() as u64;
            let body = serde_json::json!({ "seqs": seqs }).to_string();
            outlet.publish(ack_topic, body).await;
        }
        for (error_topic, event) in owed.errors.iter().filter(|(t, _)| !t.is_empty()) {
            let body = serde_json::to_string(event).unwrap_or_default();
            outlet.publish(error_topic, body).await;
        }
        Metrics::add(&shared.metrics.acks_sent, acked);
    }
}
