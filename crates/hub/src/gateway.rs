//! The embedded MQTT gateway: the hub itself terminates device connections (MQTT 3.1.1), so it
//! knows who sent every message. A device signs in with its registered id as user name and its
//! password ([`crate::device_secret`]); every PUBLISH, SUBSCRIBE and last will is checked against
//! [`DeviceIdentity`]'s rules: a refusal is counted, logged and reported on the device's `error`
//! topic, and nothing of it is stored. Accepted publishes go straight to ingestion (no broker
//! hop): scored on arrival, committed in batches, PUBACK'd only after their commit.

use crate::Shared;
use crate::device_acl::{self, DeviceIdentity};
use crate::ecg_streams::EcgStreams;
use crate::ingest::{self, Inbound, Origin};
use crate::metrics::{DeviceRefusal, Metrics};
use bytes::BytesMut;
use rumqttc::{
    ConnAck, ConnectReturnCode, Packet, PubAck, Publish, QoS, SubAck, SubscribeReasonCode, UnsubAck,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use vitals::reading_window::ReadingWindow;

/// Largest MQTT packet accepted (a 64 KiB payload and its topic).
const MAX_PACKET: usize = 70 * 1024;
/// How long a new connection has to send its CONNECT.
const CONNECT_WITHIN: Duration = Duration::from_secs(10);

/// One signed-in device connection: who it is, what it subscribed to, and its outgoing queue.
pub struct Session {
    pub identity: DeviceIdentity,
    subscriptions: Mutex<HashSet<String>>,
    out: mpsc::UnboundedSender<Packet>,
}

impl Session {
    /// Acknowledges a QoS 1 publish (after its commit).
    pub fn puback(&self, pkid: u16) {
        let _ = self.out.send(Packet::PubAck(PubAck::new(pkid)));
    }
}

/// The gateway's state: sessions by device id, the path into ingestion.
pub struct Gateway {
    shared: Arc<Shared>,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    streams: Mutex<EcgStreams>,
    window: ReadingWindow,
    ingest: mpsc::Sender<Inbound>,
}

impl Gateway {
    pub fn new(
        shared: Arc<Shared>,
        streams: EcgStreams,
        window: ReadingWindow,
        ingest: mpsc::Sender<Inbound>,
    ) -> Arc<Gateway> {
        Arc::new(Gateway {
            shared,
            sessions: Mutex::default(),
            streams: Mutex::new(streams),
            window,
            ingest,
        })
    }

    /// Delivers a hub answer (`.../ack`, `.../error`, QoS 0) to the device it is addressed to,
    /// if that device is connected and subscribed to it.
    pub fn deliver(&self, topic: &str, body: Vec<u8>) {
        let Some(device) = device_acl::addressee(topic) else {
            return;
        };
        let session = self
            .sessions
            .lock()
            .ok()
            .and_then(|s| s.get(device).cloned());
        if let Some(session) = session
            && session
                .subscriptions
                .lock()
                .is_ok_and(|s| s.contains(topic))
        {
            let _ = session
                .out
                .send(Packet::Publish(Publish::new(topic, QoS::AtMostOnce, body)));
        }
    }

    fn refuse(&self, what: DeviceRefusal, who: &str, detail: &str) {
        self.shared.metrics.refuse_device(what);
        tracing::warn!(device = who, refused = what.label(), "{detail}");
    }

    /// Serves one connection until it closes.
    pub async fn serve<S>(self: Arc<Self>, stream: S, peer: String)
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (mut reader, writer) = tokio::io::split(stream);
        let mut buf = BytesMut::with_capacity(8 * 1024);
        let first = tokio::time::timeout(CONNECT_WITHIN, read_packet(&mut reader, &mut buf)).await;
        let Ok(Some(Packet::Connect(connect))) = first else {
            tracing::debug!(%peer, "closed before a CONNECT");
            return;
        };
        let (out, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(writer, rx));
        // The password check (PBKDF2) runs off this thread: a storm of devices signing in at
        // once (after an outage) must not hold up the scoring of those already connected.
        let checking = self.clone();
        let login = connect.login.clone();
        let signed_in = tokio::task::spawn_blocking(move || checking.sign_in(login.as_ref())).await;
        let identity = match signed_in.unwrap_or(Err(ConnectReturnCode::ServiceUnavailable)) {
            Ok(identity) => identity,
            Err(code) => {
                let _ = out.send(Packet::ConnAck(ConnAck::new(code, false)));
                return; // the writer flushes the refusal and closes
            }
        };
        let will = connect.last_will.clone();
        if let Some(w) = &will
            && !identity.may_publish(&w.topic)
        {
            let detail = format!("last will on {} is not its topic", w.topic);
            self.refuse(DeviceRefusal::Will, &identity.device, &detail);
            let _ = out.send(Packet::ConnAck(ConnAck::new(
                ConnectReturnCode::NotAuthorized,
                false,
            )));
            return;
        }
        let _ = out.send(Packet::ConnAck(ConnAck::new(
            ConnectReturnCode::Success,
            false,
        )));
        let session = Arc::new(Session {
            identity,
            subscriptions: Mutex::default(),
            out,
        });
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(session.identity.device.clone(), session.clone());
        }
        tracing::info!(device = %session.identity.device, %peer, "device connected");
        // A silent client is gone after 1.5 keep-alive periods (MQTT 3.1.1, 3.1.2.10).
        let idle = Duration::from_millis(u64::from(connect.keep_alive.max(1)) * 1500);
        let clean = loop {
            let packet = match tokio::time::timeout(idle, read_packet(&mut reader, &mut buf)).await
            {
                Ok(Some(packet)) => packet,
                _ => break false,
            };
            match packet {
                Packet::Publish(publish) => {
                    if !self.publish(&session, publish).await {
                        break false;
                    }
                }
                Packet::Subscribe(subscribe) => {
                    let mut codes = Vec::with_capacity(subscribe.filters.len());
                    for filter in subscribe.filters {
                        codes.push(self.subscribe(&session, filter.path));
                    }
                    let _ = session
                        .out
                        .send(Packet::SubAck(SubAck::new(subscribe.pkid, codes)));
                }
                Packet::Unsubscribe(unsubscribe) => {
                    if let Ok(mut subscriptions) = session.subscriptions.lock() {
                        for topic in &unsubscribe.topics {
                            subscriptions.remove(topic);
                        }
                    }
                    let _ = session
                        .out
                        .send(Packet::UnsubAck(UnsubAck::new(unsubscribe.pkid)));
                }
                Packet::PingReq => {
                    let _ = session.out.send(Packet::PingResp);
                }
                Packet::Disconnect => break true,
                Packet::PubAck(_) => {}
                _ => break false, // a second CONNECT or QoS 2: not spoken here
            }
        };
        if let Ok(mut sessions) = self.sessions.lock()
            && sessions
                .get(&session.identity.device)
                .is_some_and(|s| Arc::ptr_eq(s, &session))
        {
            sessions.remove(&session.identity.device);
        }
        tracing::info!(device = %session.identity.device, clean, "device disconnected");
        if !clean && let Some(w) = will {
            let mut publish = Publish::new(w.topic, QoS::AtMostOnce, w.message.to_vec());
            publish.retain = w.retain;
            self.ingest(Origin::Unacknowledged, &session.identity, publish)
                .await;
        }
    }

    /// Checks the user name (a registered device id) and password against the registration.
    fn sign_in(&self, login: Option<&rumqttc::Login>) -> Result<DeviceIdentity, ConnectReturnCode> {
        let Some(login) = login else {
            self.refuse(DeviceRefusal::Connect, "", "a client without credentials");
            return Err(ConnectReturnCode::NotAuthorized);
        };
        let registration = self
            .shared
            .store
            .lock()
            .ok()
            .and_then(|store| store.registration(&login.username).ok().flatten());
        match registration {
            Some(r) if crate::device_secret::verify(&login.password, &r.secret_hash) => {
                Ok(DeviceIdentity {
                    device: r.device,
                    patient: r.patient,
                })
            }
            _ => {
                let detail = "unknown device or wrong password";
                self.refuse(DeviceRefusal::Connect, &login.username, detail);
                Err(ConnectReturnCode::BadUserNamePassword)
            }
        }
    }

    /// Takes one PUBLISH; false when the connection must close (ingestion stopped).
    async fn publish(&self, session: &Arc<Session>, publish: Publish) -> bool {
        let identity = &session.identity;
        if !identity.may_publish(&publish.topic) {
            let detail = format!("publish on {} refused: not its topic", publish.topic);
            self.refuse(DeviceRefusal::Publish, &identity.device, &detail);
            let event = crate::care::HubEvent::IngestError {
                topic: publish.topic.clone(),
                reason: DeviceRefusal::Publish.label(),
                detail,
            };
            let body = serde_json::to_vec(&event).unwrap_or_default();
            self.deliver(&crate::topics::error(&identity.device), body);
            if publish.qos != QoS::AtMostOnce {
                session.puback(publish.pkid); // nothing to store, nothing to redeliver
            }
            return true;
        }
        let origin = match publish.qos {
            QoS::AtMostOnce => Origin::Unacknowledged,
            _ => Origin::Device(session.clone()),
        };
        self.ingest(origin, identity, publish).await
    }

    async fn ingest(&self, origin: Origin, identity: &DeviceIdentity, publish: Publish) -> bool {
        let patient = Some(identity.patient.as_str());
        let inbound = ingest::classify(publish, origin, &self.streams, &self.window, patient);
        let scored = ingest::score_on_arrival(&self.shared, &inbound);
        Metrics::add(&self.shared.metrics.scored_fast_path, scored);
        self.ingest.send(inbound).await.is_ok()
    }

    fn subscribe(&self, session: &Session, filter: String) -> SubscribeReasonCode {
        if !session.identity.may_subscribe(&filter) {
            let detail = format!("subscribe to {filter} refused");
            self.refuse(DeviceRefusal::Subscribe, &session.identity.device, &detail);
            return SubscribeReasonCode::Failure;
        }
        if let Ok(mut subscriptions) = session.subscriptions.lock() {
            subscriptions.insert(filter);
        }
        SubscribeReasonCode::Success(QoS::AtMostOnce)
    }
}

/// Reads the next packet; `None` at the end of the stream or on a malformed packet.
async fn read_packet<R: AsyncRead + Unpin>(reader: &mut R, buf: &mut BytesMut) -> Option<Packet> {
    loop {
        match Packet::read(buf, MAX_PACKET) {
            Ok(packet) => return Some(packet),
            Err(rumqttc::Error::InsufficientBytes(_)) => {}
            Err(e) => {
                tracing::debug!("malformed MQTT packet: {e}");
                return None;
            }
        }
        buf.reserve(4096);
        if reader.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
}

/// Writes queued packets, as many per write as are waiting; closes after a refused CONNECT.
async fn write_loop<W: AsyncWrite + Unpin>(mut writer: W, mut rx: mpsc::UnboundedReceiver<Packet>) {
    let mut buf = BytesMut::with_capacity(8 * 1024);
    while let Some(packet) = rx.recv().await {
        let mut refused = is_refusal(&packet);
        let _ = packet.write(&mut buf, MAX_PACKET);
        while let Ok(next) = rx.try_recv() {
            refused |= is_refusal(&next);
            let _ = next.write(&mut buf, MAX_PACKET);
        }
        if writer.write_all(&buf).await.is_err() || refused {
            break;
        }
        buf.clear();
    }
    let _ = writer.shutdown().await;
}

fn is_refusal(packet: &Packet) -> bool {
    matches!(packet, Packet::ConnAck(ack) if ack.code != ConnectReturnCode::Success)
}
