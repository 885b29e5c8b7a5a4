//! A simulated MQTT device (wearable, ambulance monitor) as the simulators, the benchmark and
//! the tests use it: one connection with a last will, QoS 1 publishes, and bookkeeping of which
//! sequence numbers the broker PUBACK'd and which the hub confirmed after its commit.

use crate::topics;
use rumqttc::{AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Sequence numbers confirmed so far.
#[derive(Debug, Default)]
pub struct Confirmations {
    /// PUBACK'd by the broker (hop-by-hop: the broker has it).
    pub pubacked: BTreeSet<u64>,
    /// Confirmed by the hub on the `ack` topic (end to end: committed to the store).
    pub committed: BTreeSet<u64>,
    /// Rejections the hub reported on the `error` topic.
    pub errors: Vec<String>,
}

#[derive(Default)]
struct PacketIds {
    queued: VecDeque<Option<u64>>,
    in_flight: HashMap<u16, u64>,
}

/// One connected device.
#[derive(Clone)]
pub struct Device {
    pub id: String,
    client: AsyncClient,
    pending: Arc<Mutex<PacketIds>>,
    pub confirmations: Arc<Mutex<Confirmations>>,
    /// SUBACKs received: 2 once signed in and subscribed to its `ack` and `error` topics.
    subacks: Arc<AtomicUsize>,
}

#[derive(Deserialize)]
struct AckBody {
    seqs: Vec<u64>,
}

impl Device {
    /// Connects with the device's credentials (its id as user name and the password `medlink hub
    /// device add` printed), sets the last will (`offline` on the status topic), announces
    /// `online` and listens for the hub's confirmations. The connection runs on a spawned task.
    pub async fn connect(
        host: &str,
        port: u16,
        id: &str,
        password: &str,
        patient: &str,
    ) -> Result<Device, rumqttc::ClientError> {
        let mut options = MqttOptions::new(format!("dev-{id}"), host, port);
        options.set_credentials(id, password);
        let will = serde_json::json!({"state": "offline", "patient": patient}).to_string();
        options
            .set_keep_alive(Duration::from_secs(5))
            .set_last_will(LastWill::new(
                topics::status(id),
                will,
                QoS::AtLeastOnce,
                true,
            ))
            .set_inflight(1000)
            .set_request_channel_capacity(10_000);
        let (client, mut eventloop) = AsyncClient::new(options, 10_000);
        crate::ingest::no_delay(&mut eventloop);
        let device = Device {
            id: id.to_string(),
            client,
            pending: Arc::default(),
            confirmations: Arc::default(),
            subacks: Arc::default(),
        };
        tokio::spawn(device.clone().drive(eventloop));
        device
            .client
            .subscribe(topics::ack(id), QoS::AtLeastOnce)
            .await?;
        device
            .client
            .subscribe(topics::error(id), QoS::AtLeastOnce)
            .await?;
        let online = serde_json::json!({"state": "online", "patient": patient}).to_string();
        device.track(None);
        device
            .client
            .publish(topics::status(id), QoS::AtLeastOnce, true, online)
            .await?;
        Ok(device)
    }

    /// Waits until the hub has signed the device in and confirmed both its subscriptions
    /// (`connect` returns before the connection is made); false if that took longer than `within`.
    pub async fn wait_signed_in(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while self.subacks.load(Ordering::Relaxed) < 2 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }

    async fn drive(self, mut eventloop: EventLoop) {
        let mut connected_before = false;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    // A broker that lost the session (restarted without persistence) forgot
                    // the subscriptions: take them again, or no confirmation would arrive.
                    if connected_before && !ack.session_present {
                        for topic in [topics::ack(&self.id), topics::error(&self.id)] {
                            let _ = self.client.try_subscribe(topic, QoS::AtLeastOnce);
                        }
                    }
                    connected_before = true;
                }
                Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                    if let Ok(mut p) = self.pending.lock()
                        && let Some(queued) = p.queued.pop_front()
                    {
                        match queued {
                            Some(seq) => p.in_flight.insert(pkid, seq),
                            None => p.in_flight.remove(&pkid),
                        };
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    self.subacks.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Event::Incoming(Packet::PubAck(ack))) => {
                    let seq = self
                        .pending
                        .lock()
                        .ok()
                        .and_then(|mut p| p.in_flight.remove(&ack.pkid));
                    if let (Some(seq), Ok(mut c)) = (seq, self.confirmations.lock()) {
                        c.pubacked.insert(seq);
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let Ok(mut c) = self.confirmations.lock() else {
                        continue;
                    };
                    // Acks come on `.../ack` (vitals) or `medlink/v1/ecg/.../ack` (ECG chunks).
                    if p.topic.ends_with("/ack") {
                        if let Ok(body) = serde_json::from_slice::<AckBody>(&p.payload) {
                            c.committed.extend(body.seqs);
                        }
                    } else {
                        c.errors
                            .push(String::from_utf8_lossy(&p.payload).into_owned());
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Publishes one vitals payload (QoS 1) carrying sequence number `seq`.
    pub async fn publish_vitals(
        &self,
        seq: u64,
        payload: String,
    ) -> Result<(), rumqttc::ClientError> {
        self.publish_sequenced(topics::vitals(&self.id), seq, payload.into_bytes())
            .await
    }

    /// Publishes a payload carrying sequence number `seq` (QoS 1) to any topic, e.g. an ECG
    /// chunk; its PUBACK is counted against `seq`.
    pub async fn publish_sequenced(
        &self,
        topic: String,
        seq: u64,
        payload: Vec<u8>,
    ) -> Result<(), rumqttc::ClientError> {
        self.track(Some(seq));
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
    }

    /// Also listens on `topic` (e.g. the ack and error topics of an ECG stream): messages on a
    /// topic ending in `/ack` count as confirmations, anything else as an error report.
    pub async fn listen(&self, topic: String) -> Result<(), rumqttc::ClientError> {
        self.client.subscribe(topic, QoS::AtLeastOnce).await
    }

    /// Publishes a raw payload to any topic at QoS 1 (heartbeats, positions, bad payloads).
    pub async fn publish_raw(
        &self,
        topic: String,
        payload: Vec<u8>,
    ) -> Result<(), rumqttc::ClientError> {
        self.track(None);
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
    }

    fn track(&self, seq: Option<u64>) {
        if let Ok(mut p) = self.pending.lock() {
            // Untracked publishes still take a packet id: queue them too to stay aligned.
            p.queued.push_back(seq);
        }
    }

    /// Publishes a heartbeat.
    pub async fn heartbeat(&self, patient: &str) -> Result<(), rumqttc::ClientError> {
        let body = serde_json::json!({"patient": patient})
            .to_string()
            .into_bytes();
        self.publish_raw(topics::heartbeat(&self.id), body).await
    }

    /// Counts of (PUBACK'd, committed) sequence numbers so far.
    pub fn counts(&self) -> (usize, usize) {
        self.confirmations
            .lock()
            .map(|c| (c.pubacked.len(), c.committed.len()))
            .unwrap_or_default()
    }

    /// Disconnects cleanly (no last will).
    pub async fn disconnect(&self) {
        let _ = self.client.disconnect().await;
    }
}
