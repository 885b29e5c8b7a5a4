//! The care hub edge: MQTT ingestion (its own device gateway or an external broker), the SQLite store,
//! NEWS2 and alerts from the `vitals` core, and HTTP (alerts, server-sent events, FHIR R4,
//! Prometheus metrics) with axum.

pub mod auth;
pub mod broker;
pub mod care;
pub mod cluster;
pub mod config;
pub mod device;
pub mod device_acl;
pub mod device_secret;
pub mod ecg_streams;
pub mod ecg_strips;
pub mod fast_path;
pub mod gateway;
mod http;
pub mod ingest;
pub mod metrics;
pub mod ownership;
pub mod priority;
pub mod recent;
pub mod registrations;
pub mod topics;

use care::{Care, HubEvent};
use config::{HubConfig, MqttSource};
use metrics::Metrics;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{AlertStore, Durability, Store, StoreError};
use tokio::sync::{broadcast, mpsc};
use vitals::SpO2Scale;
use vitals::alerts::AlertEngine;
use vitals::tracker::DEFAULT_FRESH_FOR_MS;

/// Errors that stop the hub.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Broker(#[from] broker::BrokerError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("HTTP server on {addr}: {source}")]
    Http {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("ingestion stopped: {0}")]
    Ingest(String),
}

/// Milliseconds since the Unix epoch on the hub's clock (edges read clocks; cores never do).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// State shared by ingestion, the alert timer and the HTTP handlers.
pub struct Shared {
    pub care: Mutex<Care>,
    pub metrics: Metrics,
    pub events: broadcast::Sender<HubEvent>,
    /// Second connection for HTTP reads and FHIR writes (WAL lets it read while ingest writes).
    pub store: Mutex<Store>,
    pub fhir_base: String,
    /// Accounts, sessions and tokens: who may call what (docs/hub.md, "People, sign-in and
    /// tokens").
    pub auth: auth::Auth,
    /// This hub's share of the ward when several hubs share it (`None`: it owns every patient).
    pub cluster: Option<Arc<cluster::Cluster>>,
    /// Among several hubs, a connection to the shared journal for the API: the whole ward's
    /// alerts, and actions on alerts other hubs own (queued for them).
    pub ward_journal: Option<Mutex<AlertStore>>,
}

impl Shared {
    /// Whether this hub scores `patient` now: always alone, only while it holds the patient's
    /// shard among several hubs.
    pub fn owns(&self, patient: &str, now: i64) -> bool {
        self.cluster.as_ref().is_none_or(|c| c.owns(patient, now))
    }
}

impl Shared {
    /// Sends events to every connected client and counts the ones that page someone.
    pub fn publish_events(&self, events: Vec<HubEvent>) {
        for event in events {
            if let HubEvent::Alert(alert) = &event {
                if alert.notify.is_some() {
                    Metrics::add(&self.metrics.alert_notifications, 1);
                }
                tracing::info!(kind = ?alert.kind, id = alert.alert.id, subject = %alert.alert.subject,
                    notify = ?alert.notify, "{}", alert.alert.message);
            }
            let _ = self.events.send(event);
        }
    }
}

/// A started hub.
pub struct RunningHub {
    pub http_addr: SocketAddr,
    pub mqtt_host: String,
    pub mqtt_port: u16,
    pub shared: Arc<Shared>,
    /// Whether the alert fast path runs (external broker only: the embedded gateway scores every
    /// publish on arrival).
    pub fast_path: bool,
    /// This hub's id (`--hub-id`, or made up at start).
    pub hub_id: String,
    ingest: std::thread::JoinHandle<Result<(), StoreError>>,
}

impl RunningHub {
    /// Subscribes to the hub's event stream (what `/api/events` pushes).
    pub fn events(&self) -> broadcast::Receiver<HubEvent> {
        self.shared.events.subscribe()
    }

    /// Waits (up to `timeout`) until the hub has subscribed to its topics (on both connections
    /// when the fast path runs); false if it did not.
    pub async fn wait_subscribed(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let metrics = &self.shared.metrics;
        let subscribed = || {
            let on = |flag: &std::sync::atomic::AtomicBool| {
                flag.load(std::sync::atomic::Ordering::Relaxed)
            };
            on(&metrics.mqtt_subscribed) && (!self.fast_path || on(&metrics.fast_path_subscribed))
        };
        while !subscribed() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Waits until ingestion stops (a store failure) and reports why.
    pub async fn wait(self) -> Result<(), HubError> {
        let joined = tokio::task::spawn_blocking(move || self.ingest.join())
            .await
            .map_err(|e| HubError::Ingest(e.to_string()))?;
        match joined {
            Ok(Ok(())) => Err(HubError::Ingest("the MQTT connection task ended".into())),
            Ok(Err(e)) => Err(HubError::Store(e)),
            Err(_) => Err(HubError::Ingest("the ingest thread panicked".into())),
        }
    }
}

fn load_scales(store: &Store, care: &mut Care) -> Result<(), StoreError> {
    let (_, patients) = store.patients(0, usize::MAX >> 1)?;
    for p in patients.iter().filter(|p| p.spo2_scale == 2) {
        care.tracker.set_scale(&p.id, SpO2Scale::Scale2);
    }
    Ok(())
}

/// Feeds the readings of the NEWS2 window before `now` back through the patient tracker.
fn replay_recent(store: &Store, care: &mut Care, now: i64) -> Result<usize, StoreError> {
    let recent = store.measurements_since(now.saturating_sub(DEFAULT_FRESH_FOR_MS))?;
    for r in &recent {
        care.replay(&r.measurement);
    }
    Ok(recent.len())
}

/// Starts the hub inside the current tokio runtime: store, broker, MQTT subscriber, ingest
/// thread, alert timer and HTTP server.
pub async fn start(config: HubConfig) -> Result<RunningHub, HubError> {
    config.validate().map_err(HubError::Config)?;
    let durability = if config.fsync {
        Durability::Full
    } else {
        Durability::Normal
    };
    let location = config.location().map_err(HubError::Config)?;
    let writer = Store::connect(&location, durability)?;
    let reader = Store::connect(&location, durability)?;
    let journal = AlertStore::connect(&location.journal(), durability)?;
    let hub_id = config.resolved_hub_id();
    let mut engine = AlertEngine::new(config.alerts.clone());
    let mut care = if config.cluster {
        // Alerts, baselines and readings come shard by shard as the hub takes them over.
        Care::new(engine, config.hospital)
    } else {
        let unresolved = journal.unresolved()?;
        let restored = unresolved.len();
        engine.restore(unresolved, journal.next_id()?);
        for (patient, aggregate) in journal.news2_baselines()? {
            engine.restore_news2_baseline(&patient, aggregate);
        }
        let mut care = Care::new(engine, config.hospital);
        load_scales(&reader, &mut care)?;
        let replayed = replay_recent(&reader, &mut care, now_ms())?;
        tracing::info!(
            "{restored} unresolved alerts restored, {replayed} recent readings replayed"
        );
        care
    };
    care = care
        .with_reading_window(config.reading_window())
        .with_journal(journal);
    if config.cluster {
        care = care.fenced_as(&hub_id);
    }
    tracing::info!(hub_id, cluster = config.cluster, "hub id {hub_id}");

    let listener = tokio::net::TcpListener::bind(config.http)
        .await
        .map_err(|source| HubError::Http {
            addr: config.http,
            source,
        })?;
    let http_addr = listener.local_addr().map_err(|source| HubError::Http {
        addr: config.http,
        source,
    })?;

    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(http::tls::server_config(cert, key)?),
        _ => None,
    };
    let auth = auth::Auth::open(
        &location.journal(),
        durability,
        config.auth.clone(),
        tls.is_some(),
    )?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let (events, _) = broadcast::channel(4096);
    let shared = Arc::new(Shared {
        care: Mutex::new(care),
        metrics: Metrics::default(),
        events,
        store: Mutex::new(reader),
        fhir_base: format!("{scheme}://{http_addr}/fhir"),
        auth,
        ward_journal: match config.cluster {
            true => Some(Mutex::new(AlertStore::connect(
                &location.journal(),
                durability,
            )?)),
            false => None,
        },
        cluster: config.cluster.then(|| {
            Arc::new(cluster::Cluster::new(
                hub_id.clone(),
                ownership::LeaseTimes::default(),
            ))
        }),
    });

    let (tx, rx) = mpsc::channel(config.max_batch.max(1) * 4);
    let streams = ecg_streams::EcgStreams::new(config.ecg.clone());
    config.check_mqtt().map_err(HubError::Config)?;
    let source = config.mqtt_source().map_err(HubError::Config)?;
    let fast_path = config.alert_fast_path && matches!(source, MqttSource::External { .. });
    let (mqtt_host, mqtt_port, outlet) = match source {
        MqttSource::Embedded(listen) => {
            let tls = match config.mqtt_tls_files() {
                Some((cert, key)) => Some(broker::acceptor(&broker::TlsFiles { cert, key })?),
                None => None,
            };
            let gateway =
                gateway::Gateway::new(shared.clone(), streams, config.reading_window(), tx);
            let priority = config.alert_realtime_priority;
            let bound = broker::start(listen, tls, gateway.clone(), priority)?;
            shared
                .metrics
                .mqtt_subscribed
                .store(true, std::sync::atomic::Ordering::Relaxed);
            tracing::info!("embedded MQTT gateway on {bound}");
            let outlet = ingest::Outlet::Gateway(gateway);
            (bound.ip().to_string(), bound.port(), outlet)
        }
        MqttSource::External { host, port } => {
            let credentials = config.mqtt_credentials().map_err(HubError::Config)?;
            let client_id = config.mqtt_client_id(&hub_id);
            let mut options = ingest::client_options(&client_id, &host, port);
            // Among several hubs a session is not kept: a dead hub's queue would go nowhere,
            // and what it did not confirm its devices send again, to the new owner.
            options.set_clean_session(config.cluster);
            if let Some((user, password)) = &credentials {
                options.set_credentials(user, password);
            }
            let (client, eventloop) = rumqttc::AsyncClient::new(options, 1 << 16);
            tokio::spawn(ingest::mqtt_loop(
                eventloop,
                client.clone(),
                tx,
                shared.clone(),
                streams,
                config.reading_window(),
            ));
            if fast_path {
                let mut options = fast_path::client_options(&client_id, &host, port);
                if let Some((user, password)) = &credentials {
                    options.set_credentials(user, password);
                }
                fast_path::spawn(options, config.alert_realtime_priority, shared.clone())
                    .map_err(|e| HubError::Ingest(format!("starting the alert fast path: {e}")))?;
            }
            if let Some(cluster) = &shared.cluster {
                let stores = cluster::LeaseStores {
                    leases: store::Leases::open(&location, durability)?,
                    journal: AlertStore::connect(&location.journal(), durability)?,
                    reader: Store::connect(&location, durability)?,
                };
                cluster::start(
                    shared.clone(),
                    cluster.clone(),
                    stores,
                    AlertStore::connect(&location.journal(), durability)?,
                    format!("{scheme}://{http_addr}"),
                )?;
            }
            (host, port, ingest::Outlet::Broker(client))
        }
    };
    let (acks, owed) = mpsc::unbounded_channel();
    tokio::spawn(ingest::ack_loop(outlet, shared.clone(), owed));
    let ingest = ingest::Ingest {
        store: writer,
        shared: shared.clone(),
        acks,
        max_batch: config.max_batch.max(1),
        nice: config.ingest_nice,
    };
    let ingest = std::thread::Builder::new()
        .name("ingest".into())
        .spawn(move || ingest.run(rx))
        .map_err(|e| HubError::Ingest(e.to_string()))?;

    tokio::spawn(alert_timer(shared.clone()));
    let app = http::router(shared.clone());
    match tls {
        Some(tls) => {
            tokio::spawn(http::tls::serve(listener, app, tls));
        }
        None => {
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!("HTTP server stopped: {e}");
                }
            });
        }
    }
    tracing::info!(
        "hub HTTP on {scheme}://{http_addr} (FHIR at /fhir), MQTT at {mqtt_host}:{mqtt_port}"
    );
    Ok(RunningHub {
        http_addr,
        mqtt_host,
        mqtt_port,
        shared,
        fast_path,
        hub_id,
        ingest,
    })
}

/// Runs escalations, snooze ends and offline detection on the hub clock.
async fn alert_timer(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    loop {
        interval.tick().await;
        let mut events = Vec::new();
        if let Ok(mut care) = shared.care.lock() {
            care.tick(now_ms());
            care.drain_alerts(&mut events);
        }
        shared.publish_events(events);
    }
}
