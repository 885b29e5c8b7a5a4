//! The alert fast path: a second MQTT connection, on a thread of its own, that scores vitals as
//! they arrive.
//!
//! The durable path PUBACKs a publish only after its batch is committed, and a broker keeps a
//! bounded number of unacknowledged QoS 1 messages in flight per connection (rumqttd: 100,
//! mosquitto: 20), so while a commit is slow (a long fsync, a busy CPU) the broker holds back
//! everything behind it, alarming readings included. This connection acknowledges on receipt
//! (its session is clean: storing is the durable path's job), so an alert waits for decoding
//! and scoring only, never for the disk. It subscribes at QoS 1 because rumqttd delivers a busy
//! QoS 0 stream in bursts (about 5 ms later at the median in `medlink bench hub`). Each
//! measurement is scored once, by whichever path sees it first ([`crate::care::Care::score_new`]);
//! one this path missed (its connection was down) is scored when the durable path receives it.

use crate::ingest::{no_delay, raise_alerts};
use crate::metrics::Metrics;
use crate::registrations::Registrations;
use crate::topics::{self, Topic};
use crate::{Shared, now_ms};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use vitals::payload;

/// MQTT options of the fast-path connection: its own client id, a clean session (nothing to
/// redeliver: storage is the durable path's job), acknowledgements sent on receipt.
pub fn client_options(hub_client_id: &str, host: &str, port: u16) -> MqttOptions {
    let mut options = MqttOptions::new(format!("{hub_client_id}-alerts"), host, port);
    options
        .set_keep_alive(Duration::from_secs(15))
        .set_clean_session(true)
        .set_max_packet_size(64 * 1024, 64 * 1024);
    options
}

/// Starts the fast path on a thread of its own (with its own single-threaded runtime), so its
/// work never queues behind the durable path's tasks, at real-time `priority` when allowed
/// ([`crate::priority::realtime`]; 0: normal scheduling).
pub fn spawn(options: MqttOptions, priority: i32, shared: Arc<Shared>) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("alert-fast-path".into())
        .spawn(move || {
            crate::priority::realtime(priority);
            runtime.block_on(async move {
                // Room for the (un)subscriptions of a takeover (crate::cluster).
                let (client, eventloop) = AsyncClient::new(options, 1024);
                run(eventloop, client, shared).await
            })
        })?;
    Ok(())
}

/// Polls the fast-path connection forever: subscribes to vitals on every connect and scores
/// every measurement not scored before. Bad payloads, and readings that name another patient
/// than their device's registered one (or come from an unregistered device), are left to the
/// durable path, which rejects and reports them.
async fn run(mut eventloop: EventLoop, client: AsyncClient, shared: Arc<Shared>) {
    no_delay(&mut eventloop);
    let subscribed = &shared.metrics.fast_path_subscribed;
    let mut registrations = Registrations::default();
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => match &shared.cluster {
                Some(cluster) => {
                    cluster.connected(crate::cluster::Link::Fast, &client);
                    subscribed.store(true, Ordering::Relaxed);
                }
                None => {
                    if let Err(e) = client.try_subscribe(topics::VITALS, QoS::AtLeastOnce) {
                        tracing::error!("alert fast path cannot subscribe: {e}");
                    }
                }
            },
            Ok(Event::Incoming(Packet::SubAck(_))) => subscribed.store(true, Ordering::Relaxed),
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                if let Some(Topic::Vitals(device)) = topics::parse(&publish.topic)
                    && let Ok(measurements) = payload::decode_vitals_batch(device, &publish.payload)
                    && let Some(patient) = registrations.patient_of(&shared, device, now_ms())
                    && measurements.iter().all(|m| m.patient == patient)
                    && shared.owns(&patient, now_ms())
                {
                    let scored = raise_alerts(&shared, &measurements);
                    Metrics::add(&shared.metrics.scored_fast_path, scored);
                }
            }
            Ok(_) => {}
            Err(e) => {
                subscribed.store(false, Ordering::Relaxed);
                tracing::warn!(
                    "alert fast path connection: {e}; retrying (the durable path scores meanwhile)"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
