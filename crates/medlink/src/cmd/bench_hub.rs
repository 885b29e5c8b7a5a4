//! `medlink bench hub`: end-to-end observations per second (MQTT in, scored, committed,
//! acknowledged) with N devices, and alert latency under that load, against mosquitto alone
//! passing the same messages to one subscriber in the same run.

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
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

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

/// Publishes as fast as the window allows until `deadline`; `confirmed` says how many are done.
async fn load(
    device: Device,
    patient: String,
    deadline: Instant,
    window: u64,
    confirmed: impl Fn(&Device) -> u64,
) -> u64 {
    let mut seq = 0;
    while Instant::now() < deadline {
        if seq - confirmed(&device) >= window {
            tokio::time::sleep(Duration::from_micros(500)).await;
            continue;
        }
        seq += 1;
        if device
            .publish_vitals(seq, normal_payload(&patient, seq))
            .await
            .is_err()
        {
            break;
        }
    }
    seq
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
    p50: f64,
    p99: f64,
    alerts: usize,
}

async fn bench_hub(args: &BenchHubArgs, dir: &std::path::Path) -> anyhow::Result<HubFigures> {
    let mqtt_port = free_port()?;
    let config = hub::config::HubConfig {
        database: dir.join("bench-hub.db"),
        http: "127.0.0.1:0".parse()?,
        mqtt_listen: format!("127.0.0.1:{mqtt_port}").parse()?,
        ..hub::config::HubConfig::default()
    };
    let running = hub::start(config).await?;
    let mut events = running.events();
    let mut devices = Vec::new();
    for i in 0..args.devices {
        devices.push(
            Device::connect(
                "127.0.0.1",
                mqtt_port,
                &format!("bench-{i}"),
                &format!("bench-p{i}"),
            )
            .await?,
        );
    }
    let alerter = Device::connect("127.0.0.1", mqtt_port, "bench-alerter", "bench-alert").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let committed = |d: &Device| d.counts().1 as u64;
    let tasks: Vec<_> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            tokio::spawn(load(
                d.clone(),
                format!("bench-p{i}"),
                deadline,
                args.window,
                committed,
            ))
        })
        .collect();

    // Alert probes: every 100 ms a red-score measurement for a new patient; time to the push.
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
    let bar = indicatif::ProgressBar::new((args.seconds * 10.0) as u64);
    let mut probe = 0u64;
    while Instant::now() < deadline {
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
        tokio::time::sleep(Duration::from_millis(100)).await;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut sent = 0;
    for task in tasks {
        sent += task.await?;
    }
    let end = drain(sent, || devices.iter().map(|d| d.counts().1 as u64).sum()).await;
    let done: u64 = devices.iter().map(|d| d.counts().1 as u64).sum();
    tokio::time::sleep(Duration::from_millis(200)).await;
    listener.abort();
    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_by(f64::total_cmp);
    Ok(HubFigures {
        obs_per_s: done as f64 / (end - start).as_secs_f64(),
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        alerts: lat.len(),
    })
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
    let mut devices = Vec::new();
    for i in 0..args.devices {
        devices.push(
            Device::connect(
                "127.0.0.1",
                port,
                &format!("bench-{i}"),
                &format!("bench-p{i}"),
            )
            .await?,
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let tasks: Vec<_> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let received = received.clone();
            let confirmed = move |d: &Device| {
                received
                    .lock()
                    .ok()
                    .and_then(|r| r.get(&d.id).copied())
                    .unwrap_or(0)
            };
            tokio::spawn(load(
                d.clone(),
                format!("bench-p{i}"),
                deadline,
                args.window,
                confirmed,
            ))
        })
        .collect();
    let mut sent = 0;
    for task in tasks {
        sent += task.await?;
    }
    let end = drain(sent, || total.load(Ordering::Relaxed)).await;
    let rate = total.load(Ordering::Relaxed) as f64 / (end - start).as_secs_f64();
    Ok(Some(rate))
}

pub fn run(args: BenchHubArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.devices >= 1 && args.seconds > 0.0 && args.window >= 1,
        "devices, seconds and window must be positive"
    );
    let dir = std::env::temp_dir().join(format!("medlink-bench-hub-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(async {
        let ours = bench_hub(&args, &dir).await?;
        let baseline = bench_mosquitto(&args, &dir).await?;
        anyhow::Ok((ours, baseline))
    });
    let _ = std::fs::remove_dir_all(&dir);
    let (ours, baseline) = result?;
    let ratio = baseline.map(|b| ours.obs_per_s / b);
    if args.json {
        let json = serde_json::json!({
            "devices": args.devices, "seconds": args.seconds, "window": args.window,
            "obs_per_s": ours.obs_per_s,
            "alert_latency_ms": {"p50": ours.p50, "p99": ours.p99, "alerts": ours.alerts},
            "mosquitto_obs_per_s": baseline, "ratio": ratio,
        });
        println!("{json}");
    } else {
        println!(
            "hub (rumqttd -> decode -> NEWS2 -> SQLite WAL fsync commit -> ack), {} devices:",
            args.devices
        );
        println!("  {:.0} obs/s committed and acknowledged", ours.obs_per_s);
        println!(
            "  alert latency p50 {:.2} ms, p99 {:.2} ms ({} alerts under load)",
            ours.p50, ours.p99, ours.alerts
        );
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
