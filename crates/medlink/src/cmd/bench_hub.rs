//! `medlink bench hub`: end-to-end observations per second (MQTT in, scored, committed,
//! acknowledged) with N devices, and alert latency under that load, against mosquitto alone
//! passing the same messages to one subscriber in the same run. With `--db postgres://...` the
//! hub is measured twice in the run, on SQLite and on PostgreSQL ([`pg`]).

mod pg;

use anyhow::Context;
use clap::Args;
use hub::care::HubEvent;
use hub::device::Device;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use vitals::alerts::EventKind;

#[derive(Args)]
pub struct BenchHubArgs {
    /// Simulated devices publishing at once.
    #[arg(long, default_value_t = 50)]
    devices: usize,
    /// Seconds of sustained load per system.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Most unconfirmed measurements per device (closed-loop load, bounded queues).
    #[arg(long, default_value_t = 200)]
    window: u64,
    /// Measurements per MQTT message (a JSON array, docs/ingest.md): a wearable sending its
    /// buffered readings at once. 1 = one measurement per message.
    #[arg(long, default_value_t = 1)]
    batch: u64,
    /// Also measure the hub on this PostgreSQL server (postgres://user@host:port/dbname; a
    /// scratch database is made there for the run and dropped after), in the same run as SQLite.
    #[arg(long)]
    db: Option<String>,
    /// File whose first line is the PostgreSQL password (else PGPASSWORD or ~/.pgpass).
    #[arg(long)]
    db_password_file: Option<std::path::PathBuf>,
    /// Commit without fsync (survives a hub crash, not a power cut), as `medlink hub --no-fsync`.
    #[arg(long)]
    no_fsync: bool,
    /// Score on the durable connection only, as `medlink hub --no-alert-fast-path`.
    #[arg(long)]
    no_alert_fast_path: bool,
    /// Background measurements per second while alert latency is measured (default: half the
    /// throughput phase 1 reached).
    #[arg(long)]
    background: Option<f64>,
    /// Real-time (SCHED_FIFO) priority of the alert probe's thread, as the hub's alert path has
    /// (`alert_realtime_priority`): the probe stands for a clinician's device and screen, and on
    /// a machine busy with other work its own wake-ups would otherwise dominate the tail. 0:
    /// normal scheduling. Needs root or CAP_SYS_NICE (otherwise a warning, normal scheduling).
    #[arg(long, default_value_t = 10)]
    probe_priority: i32,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Run this many `medlink hub --cluster` processes behind one mosquitto instead of one hub
    /// (docs/hub.md, "Several hubs"): throughput, alert latency, CPU per reading of each hub,
    /// takeover time after a SIGKILL, and an estimate for a region of 100,000 wearables.
    #[arg(long, default_value_t = 1)]
    hubs: usize,
}

#[path = "bench_hub_multi.rs"]
mod multi;

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A stable resident's payload: scores NEWS2 0, so load traffic raises no alerts.
fn normal_payload(patient: &str, seq: u64) -> String {
    format!(
        r#"{{"patient":"{patient}","seq":{seq},"time_ms":{},"hr":72,"rr":16,"spo2":97,"o2":false,"temp":36.8,"sbp":125,"dbp":80,"acvpu":"A"}}"#,
        hub::now_ms()
    )
}

/// Measurements `first..=last` as one payload: a single object, or an array when several.
fn normal_batch(patient: &str, first: u64, last: u64) -> String {
    if first == last {
        return normal_payload(patient, last);
    }
    let readings: Vec<String> = (first..=last).map(|s| normal_payload(patient, s)).collect();
    format!("[{}]", readings.join(","))
}

/// How one device publishes during a phase.
#[derive(Clone, Copy)]
struct Pace {
    deadline: Instant,
    /// Most measurements not yet confirmed.
    window: u64,
    /// Time between messages; `None` = as fast as the window allows (closed loop).
    every: Option<Duration>,
    /// Measurements per message.
    batch: u64,
}

/// Publishes from sequence `seq + 1` on until the deadline; returns the last sequence sent.
async fn load(
    device: Device,
    patient: String,
    mut seq: u64,
    pace: Pace,
    phase: f64,
    confirmed: impl Fn(&Device) -> u64,
) -> u64 {
    // Paced devices start at evenly spread offsets (`phase`, 0 to 1) within the period, as
    // independent wearables would, instead of all publishing at the same instant.
    let mut ticker = pace.every.map(|every| {
        let offset = every.mul_f64(phase);
        tokio::time::interval_at(tokio::time::Instant::now() + offset, every)
    });
    while Instant::now() < pace.deadline {
        if let Some(ticker) = ticker.as_mut() {
            ticker.tick().await;
        }
        if seq.saturating_sub(confirmed(&device)) >= pace.window {
            tokio::time::sleep(Duration::from_micros(500)).await;
            continue;
        }
        let first = seq + 1;
        seq += pace.batch;
        let body = normal_batch(&patient, first, seq);
        if device.publish_vitals(seq, body).await.is_err() {
            break;
        }
    }
    seq
}

/// Runs one phase on every device; returns each device's last sequence number.
async fn phase(
    devices: &[Device],
    first: &[u64],
    pace: Pace,
    confirmed: impl Fn(&Device) -> u64 + Clone + Send + 'static,
) -> anyhow::Result<Vec<u64>> {
    let tasks: Vec<_> = devices
        .iter()
        .zip(first)
        .enumerate()
        .map(|(i, (d, &seq))| {
            let patient = format!("p-{}", d.id);
            let phase = i as f64 / devices.len() as f64;
            tokio::spawn(load(
                d.clone(),
                patient,
                seq,
                pace,
                phase,
                confirmed.clone(),
            ))
        })
        .collect();
    let mut last = Vec::with_capacity(tasks.len());
    for task in tasks {
        last.push(task.await?);
    }
    Ok(last)
}

/// Waits until `done() >= target` or 30 s pass; returns when it got there.
async fn drain(target: u64, done: impl Fn() -> u64) -> Instant {
    let give_up = Instant::now() + Duration::from_secs(30);
    while done() < target && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Instant::now()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct HubFigures {
    obs_per_s: f64,
    /// Background load while the alert latency was measured (committed and confirmed, measured).
    load_obs_per_s: f64,
    p50: f64,
    p99: f64,
    alerts: usize,
    /// Share of the measurements scored on arrival by the alert fast path (the rest by the
    /// durable path).
    scored_on_arrival: f64,
}

impl HubFigures {
    /// Throughput and alert latency, two indented lines.
    fn print(&self) {
        println!("  {:.0} obs/s committed and acknowledged", self.obs_per_s);
        println!(
            "  alert latency p50 {:.2} ms, p99 {:.2} ms ({} alerts, with {:.0} obs/s in the background)",
            self.p50, self.p99, self.alerts, self.load_obs_per_s
        );
    }

    /// The alert latency figures as the JSON output has them.
    fn latency_json(&self) -> serde_json::Value {
        serde_json::json!({"p50": self.p50, "p99": self.p99, "alerts": self.alerts,
                           "background_obs_per_s": self.load_obs_per_s,
                           "scored_on_arrival": self.scored_on_arrival})
    }
}

/// Runs the hub on `database` (an SQLite file or a postgres:// URL) and drives it.
async fn bench_hub(
    args: &BenchHubArgs,
    database: std::path::PathBuf,
    database_password_file: Option<std::path::PathBuf>,
) -> anyhow::Result<HubFigures> {
    let mqtt_port = free_port()?;
    let config = hub::config::HubConfig {
        database,
        database_password_file,
        http: "127.0.0.1:0".parse()?,
        mqtt_listen: format!("127.0.0.1:{mqtt_port}").parse()?,
        fsync: !args.no_fsync,
        alert_fast_path: !args.no_alert_fast_path,
        ..hub::config::HubConfig::default()
    };
    // The hub runs on its own threads, as it would in its own process: the load generator's 50
    // devices do not share its task queue.
    let hub_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-hub")
        .enable_all()
        .build()?;
    let running = hub_runtime.spawn(hub::start(config)).await??;
    let figures = drive_hub(args, &running, mqtt_port).await;
    hub_runtime.shutdown_background();
    figures
}

/// Phase 1 (throughput) and phase 2 (alert latency under background load) against a running hub.
async fn drive_hub(
    args: &BenchHubArgs,
    running: &hub::RunningHub,
    mqtt_port: u16,
) -> anyhow::Result<HubFigures> {
    anyhow::ensure!(
        running.wait_subscribed(Duration::from_secs(20)).await,
        "the hub did not subscribe to its broker"
    );
    let devices = connect(running, mqtt_port, args.devices).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let committed = |d: &Device| d.counts().1 as u64;
    let total = || devices.iter().map(committed).sum::<u64>();

    // Phase 1: sustained throughput, closed loop.
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let pace = Pace {
        deadline,
        window: args.window,
        every: None,
        batch: args.batch,
    };
    let last = phase(&devices, &vec![0; devices.len()], pace, committed).await?;
    let sent: u64 = last.iter().sum();
    let end = drain(sent, total).await;
    let obs_per_s = total() as f64 / (end - start).as_secs_f64();

    // Phase 2: alert latency with half that load (or the asked rate) in the background, paced.
    let target_obs_per_s = args.background.unwrap_or(obs_per_s / 2.0);
    let every = Duration::from_secs_f64(
        (args.devices as u64 * args.batch) as f64 / target_obs_per_s.max(1.0),
    );
    let prober = Prober::connect(running, mqtt_port, args.seconds, args.probe_priority).await?;
    let (background_start, committed_before) = (Instant::now(), total());
    let pace = Pace {
        deadline: Instant::now() + Duration::from_secs_f64(args.seconds),
        every: Some(every),
        ..pace
    };
    let background = tokio::spawn({
        let devices = devices.clone();
        async move { phase(&devices, &last, pace, committed).await }
    });
    let latencies = prober.probe(pace.deadline).await?;
    background.await??;
    let load_obs_per_s =
        (total() - committed_before) as f64 / background_start.elapsed().as_secs_f64();
    Ok(HubFigures {
        obs_per_s,
        load_obs_per_s,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        alerts: latencies.len(),
        scored_on_arrival: scored_on_arrival(&running.shared.metrics),
    })
}

fn scored_on_arrival(metrics: &hub::metrics::Metrics) -> f64 {
    let fast = metrics.scored_fast_path.load(Ordering::Relaxed) as f64;
    let durable = metrics.scored_durable_path.load(Ordering::Relaxed) as f64;
    fast / (fast + durable).max(1.0)
}

/// Registers `n` devices (each to its own patient) and connects them with their passwords:
/// every device signs in and the gateway checks every topic, as in production.
async fn connect(running: &hub::RunningHub, port: u16, n: usize) -> anyhow::Result<Vec<Device>> {
    let mut logins = Vec::with_capacity(n);
    for i in 0..n {
        let (id, patient) = (format!("bench-{i}"), format!("p-bench-{i}"));
        logins.push(Login {
            password: running.register_device(&id, &patient)?,
            id,
            patient,
        });
    }
    connect_signed_in(port, &logins).await
}

/// A registered device's sign-in.
pub(super) struct Login {
    pub id: String,
    pub password: String,
    pub patient: String,
}

/// Connects every device of `logins` and returns once each is signed in (its SUBACKs came): what
/// is measured afterwards is the hub's work, not a storm of sign-ins.
pub(super) async fn connect_signed_in(port: u16, logins: &[Login]) -> anyhow::Result<Vec<Device>> {
    let mut devices = Vec::with_capacity(logins.len());
    for login in logins {
        let device = Device::connect(
            "127.0.0.1",
            port,
            &login.id,
            &login.password,
            &login.patient,
        );
        devices.push(device.await?);
    }
    for device in &devices {
        anyhow::ensure!(
            device.wait_signed_in(SIGN_IN_WITHIN).await,
            "device {} was not signed in within {SIGN_IN_WITHIN:?}",
            device.id
        );
    }
    Ok(devices)
}

/// [`probe_alerts`] on a thread of its own, as a clinician's device would be: its publishes and the
/// events it awaits do not queue behind the load generator's tasks. One alerter device per probe:
/// a device reports for its registered patient only, and each probe needs a patient of its own
/// (a new alert, not an update of the last one); they connect before the probing starts.
struct Prober {
    go: tokio::sync::oneshot::Sender<Instant>,
    result: tokio::sync::oneshot::Receiver<anyhow::Result<Vec<f64>>>,
}

impl Prober {
    async fn connect(
        running: &hub::RunningHub,
        port: u16,
        seconds: f64,
        priority: i32,
    ) -> anyhow::Result<Self> {
        let events = running.events();
        let probes = (seconds / PROBE_EVERY.as_secs_f64()).ceil() as usize + 1;
        let mut alerters = Vec::with_capacity(probes);
        for k in 1..=probes {
            let (id, patient) = (format!("bench-alerter-{k}"), format!("bench-alert-{k}"));
            alerters.push(Login {
                password: running.register_device(&id, &patient)?,
                id,
                patient,
            });
        }
        let (ready, connected) = tokio::sync::oneshot::channel();
        let (go, deadline) = tokio::sync::oneshot::channel::<Instant>();
        let (done, result) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("bench-alerts".into())
            .spawn(move || {
                hub::priority::realtime(priority);
                let probed = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(anyhow::Error::from)
                    .and_then(|runtime| {
                        runtime.block_on(async {
                            // Probing starts once every alerter is signed in: the latency
                            // measured is an alert's, not that of a thousand sign-ins.
                            let devices = connect_signed_in(port, &alerters).await?;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            let _ = ready.send(());
                            probe_alerts(events, &devices, deadline.await?).await
                        })
                    });
                let _ = done.send(probed);
            })?;
        if connected.await.is_err() {
            return Err(result
                .await?
                .err()
                .unwrap_or_else(|| anyhow::anyhow!("alert prober stopped")));
        }
        Ok(Prober { go, result })
    }

    /// Probes until `deadline`; the sorted latencies (ms).
    async fn probe(self, deadline: Instant) -> anyhow::Result<Vec<f64>> {
        let _ = self.go.send(deadline);
        self.result.await?
    }
}

/// How long an alerter device may take to be signed in and subscribed.
const SIGN_IN_WITHIN: Duration = Duration::from_secs(60);

/// Time between alert probes.
const PROBE_EVERY: Duration = Duration::from_millis(10);

/// Every [`PROBE_EVERY`] a red-score measurement for a new patient; returns the sorted times (ms)
/// from publishing it to the `raised` event reaching a subscriber of the hub's event stream.
async fn probe_alerts(
    mut events: tokio::sync::broadcast::Receiver<HubEvent>,
    alerters: &[Device],
    deadline: Instant,
) -> anyhow::Result<Vec<f64>> {
    let sent_at: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<std::sync::Mutex<Vec<f64>>> = Arc::default();
    let listener = {
        let (sent_at, latencies) = (sent_at.clone(), latencies.clone());
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                if let HubEvent::Alert(e) = event
                    && e.kind == EventKind::Raised
                    && let Some(t) = sent_at
                        .lock()
                        .ok()
                        .and_then(|mut s| s.remove(&e.alert.subject))
                    && let Ok(mut l) = latencies.lock()
                {
                    l.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
        })
    };
    let bar = indicatif::ProgressBar::new_spinner();
    let mut probe = 0u64;
    for alerter in alerters {
        if Instant::now() >= deadline {
            break;
        }
        probe += 1;
        let patient = format!("bench-alert-{probe}");
        let body = format!(
            r#"{{"patient":"{patient}","seq":{probe},"time_ms":{},"hr":140,"rr":16,"spo2":97,"o2":false,"temp":36.8,"sbp":125,"dbp":80,"acvpu":"A"}}"#,
            hub::now_ms()
        );
        if let Ok(mut s) = sent_at.lock() {
            s.insert(patient, Instant::now());
        }
        alerter.publish_vitals(probe, body).await?;
        bar.set_message(format!("alert probes sent: {probe}"));
        bar.tick();
        tokio::time::sleep(PROBE_EVERY).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    bar.finish_and_clear();
    listener.abort();
    let mut sorted = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    sorted.sort_by(f64::total_cmp);
    Ok(sorted)
}

/// Stops the baseline broker however the benchmark ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_mosquitto() -> Option<std::path::PathBuf> {
    let candidates = [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ];
    candidates
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

async fn bench_mosquitto(
    args: &BenchHubArgs,
    dir: &std::path::Path,
) -> anyhow::Result<Option<f64>> {
    let Some(binary) = find_mosquitto() else {
        return Ok(None);
    };
    let port = free_port()?;
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\n"
        ),
    )?;
    let _broker = KillOnDrop(
        std::process::Command::new(binary)
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("starting mosquitto")?,
    );
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // One subscriber counts what it receives per device.
    let received: Arc<std::sync::Mutex<HashMap<String, u64>>> = Arc::default();
    let total = Arc::new(AtomicU64::new(0));
    let mut options = MqttOptions::new("bench-subscriber", "127.0.0.1", port);
    options
        .set_keep_alive(Duration::from_secs(15))
        .set_max_packet_size(64 * 1024, 64 * 1024);
    let (client, mut eventloop) = AsyncClient::new(options, 1024);
    client
        .subscribe("medlink/v1/devices/+/vitals", QoS::AtLeastOnce)
        .await?;
    {
        let (received, total) = (received.clone(), total.clone());
        tokio::spawn(async move {
            while let Ok(event) = eventloop.poll().await {
                if let Event::Incoming(Packet::Publish(p)) = event {
                    let device = p.topic.split('/').nth(3).unwrap_or_default().to_string();
                    if let Ok(mut r) = received.lock() {
                        *r.entry(device).or_default() += 1;
                    }
                    total.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    // mosquitto alone runs as it is configured out of the box (anonymous, no ACL): the devices'
    // credentials are sent and ignored.
    let mut devices = Vec::with_capacity(args.devices);
    for i in 0..args.devices {
        let (id, patient) = (format!("bench-{i}"), format!("p-bench-{i}"));
        devices.push(Device::connect("127.0.0.1", port, &id, "unused", &patient).await?);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let batch = args.batch;
    let confirmed = move |d: &Device| {
        received
            .lock()
            .ok()
            .and_then(|r| r.get(&d.id).copied())
            .unwrap_or(0)
            * batch
    };
    let pace = Pace {
        deadline,
        window: args.window,
        every: None,
        batch: args.batch,
    };
    let sent: u64 = phase(&devices, &vec![0; devices.len()], pace, confirmed)
        .await?
        .iter()
        .sum();
    let end = drain(sent, || total.load(Ordering::Relaxed) * batch).await;
    let rate = (total.load(Ordering::Relaxed) * batch) as f64 / (end - start).as_secs_f64();
    Ok(Some(rate))
}

pub fn run(args: BenchHubArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.devices >= 1 && args.seconds > 0.0 && args.window >= 1,
        "devices, seconds and window must be positive"
    );
    anyhow::ensure!((1..=16).contains(&args.hubs), "hubs must be 1-16");
    if args.hubs > 1 {
        return multi::run(&args);
    }
    anyhow::ensure!(
        args.background
            .is_none_or(|rate| rate.is_finite() && rate > 0.0),
        "background must be a positive rate (measurements per second)"
    );
    anyhow::ensure!(
        (1..=vitals::payload::MAX_BATCH_READINGS as u64).contains(&args.batch),
        "batch must be 1-{}",
        vitals::payload::MAX_BATCH_READINGS
    );
    let dir = std::env::temp_dir().join(format!("medlink-bench-hub-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(async {
        let ours = bench_hub(&args, dir.join("bench-hub.db"), None).await?;
        let postgres = match &args.db {
            Some(url) => Some(pg::bench(&args, url, args.db_password_file.as_deref()).await?),
            None => None,
        };
        let baseline = bench_mosquitto(&args, &dir).await?;
        anyhow::Ok((ours, postgres, baseline))
    });
    let _ = std::fs::remove_dir_all(&dir);
    let (ours, postgres, baseline) = result?;
    let ratio = baseline.map(|b| ours.obs_per_s / b);
    let postgres_ratio = postgres.as_ref().map(|p| p.obs_per_s / ours.obs_per_s);
    if args.json {
        let json = serde_json::json!({
            "devices": args.devices, "seconds": args.seconds, "window": args.window, "fsync": !args.no_fsync,
            "batch": args.batch, "alert_fast_path": !args.no_alert_fast_path,
            "probe_priority": args.probe_priority, "device_auth": true, "topic_acl": true,
            "obs_per_s": ours.obs_per_s,
            "alert_latency_ms": ours.latency_json(),
            "mosquitto_obs_per_s": baseline, "ratio": ratio,
            "postgres": postgres.as_ref().map(|p| serde_json::json!({
                "obs_per_s": p.obs_per_s,
                "alert_latency_ms": p.latency_json(),
                "ratio_to_sqlite": postgres_ratio,
                "goal_half_of_sqlite_met": postgres_ratio.map(|r| r >= 0.5),
            })),
        });
        println!("{json}");
    } else {
        println!(
            "hub (devices sign in; gateway ACL -> decode -> NEWS2 -> SQLite WAL commit{} -> PUBACK + ack), {} devices, {} per message:",
            if args.no_fsync { "" } else { " with fsync" },
            args.devices,
            args.batch
        );
        ours.print();
        println!(
            "  {:.1} % of measurements scored on arrival, the rest by the durable path",
            100.0 * ours.scored_on_arrival
        );
        if let (Some(p), Some(r)) = (&postgres, postgres_ratio) {
            println!(
                "the same hub on PostgreSQL (synchronous_commit {}):",
                if args.no_fsync { "off" } else { "on" }
            );
            p.print();
            println!(
                "ratio PostgreSQL / SQLite: {r:.2} (goal: at least 0.5, {})",
                if r >= 0.5 { "met" } else { "not met" }
            );
        }
        match (baseline, ratio) {
            (Some(b), Some(r)) => {
                println!("mosquitto alone -> one subscriber: {b:.0} obs/s");
                println!("ratio hub / mosquitto: {r:.2}");
            }
            _ => println!("mosquitto not installed: no baseline (bash scripts/setup-mosquitto.sh)"),
        }
    }
    Ok(())
}
