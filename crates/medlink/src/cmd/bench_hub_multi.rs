//! `medlink bench hub --hubs N`: N `medlink hub --cluster` processes sharing one mosquitto and
//! one database (docs/hub.md, "Several hubs"), loaded by the same devices as `bench hub`.
//! Reports committed obs/s across the hubs, alert latency (a red-score reading published to the
//! `raised` event on the owning hub's `/api/events`), each hub's CPU per reading (from
//! /proc, user + system time over the throughput phase), mosquitto's, the takeover time after
//! a SIGKILL of one hub (kill to the first confirmation of a new reading of one of its patients
//! by another hub), and from the measured per-reading costs an estimate of the cores and
//! machines a region of 100,000 wearables at one reading per second needs. With `--db
//! postgres://...` the hubs share a scratch database on that server (dropped after), otherwise
//! an SQLite file.

use super::{
    BenchHubArgs, KillOnDrop, Login, Pace, connect_signed_in, drain, free_port, percentile, phase,
};
use anyhow::Context;
use hub::device::Device;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The region the estimate is for.
const REGION_WEARABLES: f64 = 100_000.0;
/// Share of a machine's cores the estimate plans to use (the rest is headroom for bursts,
/// takeovers and reconnect storms).
const PLANNED_LOAD: f64 = 0.5;
/// Alert probes, one patient each.
const PROBES: usize = 200;

/// One hub process.
struct HubProc {
    id: String,
    port: u16,
    child: KillOnDrop,
}

/// The figures of one run.
struct Figures {
    obs_per_s: f64,
    p50: f64,
    p99: f64,
    alerts: usize,
    hubs: Vec<(String, f64, u64)>,
    broker_cpu_s: f64,
    /// CPU of the PostgreSQL server over the throughput phase (0 on SQLite).
    database_cpu_s: f64,
    takeover_s: Option<f64>,
}

pub(super) fn run(args: &BenchHubArgs) -> anyhow::Result<()> {
    let mosquitto = super::find_mosquitto()
        .context("--hubs needs mosquitto (bash scripts/setup-mosquitto.sh)")?;
    let dir = std::env::temp_dir().join(format!("medlink-bench-hubs-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(bench(args, &dir, &mosquitto));
    let _ = std::fs::remove_dir_all(&dir);
    let figures = result?;
    print(args, &figures);
    Ok(())
}

/// Where the hubs keep their store: what `--db` says to them (with its extra arguments) and
/// the location, and the scratch PostgreSQL database to drop after the run.
struct Database {
    arg: PathBuf,
    extra: Vec<String>,
    /// The PostgreSQL password, for the commands that take it from PGPASSWORD only.
    password: Option<String>,
    location: store::Location,
    _scratch: Option<store::testing::PgTestDb>,
}

fn database(args: &BenchHubArgs, dir: &Path) -> anyhow::Result<Database> {
    let Some(url) = &args.db else {
        let path = dir.join("hub.db");
        return Ok(Database {
            arg: path.clone(),
            extra: Vec::new(),
            password: None,
            location: store::Location::Sqlite(path),
            _scratch: None,
        });
    };
    let password_file = args.db_password_file.as_deref();
    let server = store::Location::parse(url, password_file)?;
    let store::Location::Postgres(target) = &server else {
        anyhow::bail!("--db {url}: expected a postgres:// URL");
    };
    let admin = store::db::Conn::open(&server, store::Durability::Normal)
        .with_context(|| format!("connecting to {}", target.url()))?;
    let scratch = store::testing::scratch_database(admin, target, "medlink_bench_hubs")
        .map_err(anyhow::Error::msg)?;
    let location = scratch.location();
    let mut extra = Vec::new();
    let mut password = None;
    if let Some(file) = password_file {
        extra.extend(["--db-password-file".to_string(), file.display().to_string()]);
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        password = text.lines().next().map(|l| l.trim().to_string());
    }
    Ok(Database {
        arg: PathBuf::from(location.describe()),
        extra,
        password,
        location,
        _scratch: Some(scratch),
    })
}

/// Registers the devices and the alert probes, writes mosquitto's password and ACL files.
fn register(
    dir: &Path,
    db: &store::Location,
    devices: usize,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut store = store::Store::connect(db, store::Durability::Normal)?;
    let now = hub::now_ms();
    let mut passwords = Vec::new();
    let ids = (0..devices)
        .map(|i| (format!("bench-{i}"), format!("p-bench-{i}")))
        .chain((1..=PROBES).map(|k| (format!("bench-alerter-{k}"), format!("bench-alert-{k}"))));
    for (device, patient) in ids {
        let password = hub::registrations::register(&mut store, &device, &patient, now)?;
        passwords.push((device, password));
    }
    let hub_password =
        hub::device_secret::new_password().map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    std::fs::write(dir.join("hub.password"), format!("{hub_password}\n"))?;
    let hash = |p: &str| {
        hub::device_secret::hash_new(p).map_err(|e| anyhow::anyhow!("no randomness: {e}"))
    };
    let registrations = store.registrations()?;
    let hub_hash = hash(&hub_password)?;
    let accounts = std::iter::once(("medlink-hub", hub_hash.as_str())).chain(
        registrations
            .iter()
            .map(|r| (r.device.as_str(), r.secret_hash.as_str())),
    );
    std::fs::write(
        dir.join("passwd"),
        hub::device_acl::mosquitto_passwords(accounts),
    )?;
    let identities: Vec<hub::device_acl::DeviceIdentity> = registrations
        .iter()
        .map(|r| hub::device_acl::DeviceIdentity {
            device: r.device.clone(),
            patient: r.patient.clone(),
        })
        .collect();
    std::fs::write(
        dir.join("acl"),
        hub::device_acl::mosquitto_acl("medlink-hub", &identities),
    )?;
    Ok(passwords)
}

fn start_mosquitto(dir: &Path, binary: &Path) -> anyhow::Result<(KillOnDrop, u16)> {
    let port = free_port()?;
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {0}/passwd\nacl_file {0}/acl\nmax_queued_messages 0\nmax_inflight_messages 0\n",
            dir.display()
        ),
    )?;
    let child = std::process::Command::new(binary)
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("starting mosquitto")?;
    Ok((KillOnDrop(child), port))
}

/// A token for the hubs' HTTP API, as `medlink hub token issue` makes it.
fn issue_token(db: &Database) -> anyhow::Result<String> {
    let output = std::process::Command::new(std::env::current_exe()?)
        .args(["hub", "token", "issue", "--db"])
        .arg(&db.arg)
        .envs(db.password.as_ref().map(|p| ("PGPASSWORD", p.as_str())))
        .args(["--name", "bench", "--scope", "system/*.*", "--quiet"])
        .output()?;
    anyhow::ensure!(output.status.success(), "issuing a token failed");
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn start_hub(
    args: &BenchHubArgs,
    dir: &Path,
    db: &Database,
    mqtt: u16,
    i: usize,
) -> anyhow::Result<HubProc> {
    let (id, port) = (format!("bench-hub-{i}"), free_port()?);
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .arg("hub")
        .arg("--db")
        .arg(&db.arg)
        .args(&db.extra)
        .args(["--http", &format!("127.0.0.1:{port}")])
        .args(["--mqtt", &format!("mqtt://127.0.0.1:{mqtt}")])
        .args(["--mqtt-username", "medlink-hub", "--mqtt-password-file"])
        .arg(dir.join("hub.password"))
        .args(["--cluster", "--hub-id", &id])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{id}.log")))?);
    if args.no_fsync {
        command.arg("--no-fsync");
    }
    if args.no_alert_fast_path {
        command.arg("--no-alert-fast-path");
    }
    let child = KillOnDrop(command.spawn().context("starting a hub")?);
    Ok(HubProc { id, port, child })
}

/// `GET path` on a hub with the token; the body when it answers 200.
fn get(port: u16, path: &str, token: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

/// A hub's metric (its first sample), if the hub answers.
fn metric(port: u16, token: &str, name: &str) -> Option<f64> {
    get(port, "/metrics", token)?
        .lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

/// CPU seconds (user + system) a process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The fields after the command name (which may hold spaces) end with ')'.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (ticks(11) + ticks(12)) / hz
}

/// CPU seconds every `postgres` process on this machine has used (the database server, when it
/// runs here; 0 otherwise).
fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        })
        .map(cpu_seconds)
        .sum()
}

/// Follows every hub's `/api/events`: sends the subject of each `raised` alert, when it came.
fn follow_alerts(
    hubs: &[(u16, String)],
    tx: std::sync::mpsc::Sender<(String, Instant)>,
) -> anyhow::Result<()> {
    for (port, token) in hubs {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", *port))?;
        let request = format!(
            "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        );
        stream.write_all(request.as_bytes())?;
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let Some(data) = line.strip_prefix("data:") else {
                    continue;
                };
                let Ok(event) = serde_json::from_str::<serde_json::Value>(data.trim()) else {
                    continue;
                };
                let raised = event["type"] == "alert" && event["kind"]["type"] == "raised";
                if let (true, Some(subject)) = (raised, event["alert"]["subject"].as_str())
                    && tx.send((subject.to_string(), Instant::now())).is_err()
                {
                    break;
                }
            }
        });
    }
    Ok(())
}

/// Connects the devices of `logins` (id, password) to the broker on `port`, each signed in.
async fn connect_all(port: u16, logins: &[(String, String)]) -> anyhow::Result<Vec<Device>> {
    let logins: Vec<Login> = logins
        .iter()
        .map(|(id, password)| Login {
            patient: match id.strip_prefix("bench-alerter-") {
                Some(k) => format!("bench-alert-{k}"),
                None => format!("p-{id}"),
            },
            id: id.clone(),
            password: password.clone(),
        })
        .collect();
    connect_signed_in(port, &logins).await
}

async fn bench(args: &BenchHubArgs, dir: &Path, mosquitto: &Path) -> anyhow::Result<Figures> {
    let db = database(args, dir)?;
    let logins = register(dir, &db.location, args.devices)?;
    let (broker, mqtt) = start_mosquitto(dir, mosquitto)?;
    let token = issue_token(&db)?;
    let mut hubs = Vec::with_capacity(args.hubs);
    for i in 0..args.hubs {
        hubs.push(start_hub(args, dir, &db, mqtt, i)?);
    }
    // Wait until the hubs have split the shards evenly.
    let fair = f64::from(hub::ownership::SHARDS) / args.hubs as f64;
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        let held: Vec<f64> = hubs
            .iter()
            .filter_map(|h| metric(h.port, &token, "medlink_hub_cluster_shards"))
            .collect();
        let even = held.len() == hubs.len()
            && held.iter().sum::<f64>() == f64::from(hub::ownership::SHARDS)
            && held.iter().all(|n| *n >= fair.floor());
        if even {
            break;
        }
        anyhow::ensure!(
            Instant::now() < give_up,
            "the hubs never split the shards: {held:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every hub has subscribed to its devices by its next lease round.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (load_logins, probe_logins) = logins.split_at(args.devices);
    let devices = connect_all(mqtt, load_logins).await?;
    let probes = connect_all(mqtt, probe_logins).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let committed = |d: &Device| d.counts().1 as u64;
    let total = || devices.iter().map(committed).sum::<u64>();

    // Phase 1: throughput, closed loop; CPU of every process over it.
    let cpu_before: Vec<f64> = hubs.iter().map(|h| cpu_seconds(h.child.0.id())).collect();
    let stored_before: Vec<f64> = hubs
        .iter()
        .map(|h| metric(h.port, &token, "medlink_hub_measurements_stored_total").unwrap_or(0.0))
        .collect();
    let broker_before = cpu_seconds(broker.0.id());
    let database_before = postgres_cpu_seconds();
    let start = Instant::now();
    let pace = Pace {
        deadline: start + Duration::from_secs_f64(args.seconds),
        window: args.window,
        every: None,
        batch: args.batch,
    };
    let last = phase(&devices, &vec![0; devices.len()], pace, committed).await?;
    let sent: u64 = last.iter().sum();
    let end = drain(sent, total).await;
    let obs_per_s = total() as f64 / (end - start).as_secs_f64();
    let hub_costs: Vec<(String, f64, u64)> = hubs
        .iter()
        .zip(cpu_before.iter().zip(&stored_before))
        .map(|(h, (cpu, stored))| {
            let after =
                metric(h.port, &token, "medlink_hub_measurements_stored_total").unwrap_or(0.0);
            let readings = (after - stored).max(0.0) as u64;
            (h.id.clone(), cpu_seconds(h.child.0.id()) - cpu, readings)
        })
        .collect();
    let broker_cpu_s = cpu_seconds(broker.0.id()) - broker_before;
    // On SQLite the database's work is in the hubs' own figures.
    let database_cpu_s = match args.db {
        Some(_) => (postgres_cpu_seconds() - database_before).max(0.0),
        None => 0.0,
    };

    // Phase 2: alert latency (paced background at half the throughput).
    let (tx, rx) = std::sync::mpsc::channel();
    let followed: Vec<(u16, String)> = hubs.iter().map(|h| (h.port, token.clone())).collect();
    follow_alerts(&followed, tx)?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let every = Duration::from_secs_f64(
        (args.devices as u64 * args.batch) as f64 / (obs_per_s / 2.0).max(1.0),
    );
    let background_pace = Pace {
        deadline: Instant::now() + Duration::from_secs_f64(args.seconds.min(4.0)),
        every: Some(every),
        ..pace
    };
    let background = tokio::spawn({
        let devices = devices.clone();
        let last = last.clone();
        async move { phase(&devices, &last, background_pace, committed).await }
    });
    let mut sent_at = std::collections::HashMap::new();
    for (k, probe) in probes.iter().enumerate() {
        let patient = format!("bench-alert-{}", k + 1);
        let body = format!(
            r#"{{"patient":"{patient}","seq":1,"time_ms":{},"hr":140,"rr":16,"spo2":97,"o2":false,"temp":36.8,"sbp":125,"dbp":80,"acvpu":"A"}}"#,
            hub::now_ms()
        );
        sent_at.insert(patient, Instant::now());
        probe.publish_vitals(1, body).await?;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let last = background.await??;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut latencies: Vec<f64> = rx
        .try_iter()
        .filter_map(|(subject, at)| {
            let sent = sent_at.remove(&subject)?;
            Some(at.saturating_duration_since(sent).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);

    // Phase 3: SIGKILL the first hub; time to a new reading of its patients confirmed.
    let takeover_s = takeover(&mut hubs, &db.location, &devices, &last).await;
    drop(broker);
    Ok(Figures {
        obs_per_s,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        alerts: latencies.len(),
        hubs: hub_costs,
        broker_cpu_s,
        database_cpu_s,
        takeover_s,
    })
}

/// Kills the first hub and publishes new readings from one of its patients' devices every
/// 20 ms until one is confirmed; the seconds from the kill to that confirmation.
async fn takeover(
    hubs: &mut [HubProc],
    db: &store::Location,
    devices: &[Device],
    last: &[u64],
) -> Option<f64> {
    let leases = store::Leases::open(db, store::Durability::Normal).ok()?;
    let (rows, _) = leases.view().ok()?;
    let victim = hubs.first()?.id.clone();
    let owned: Vec<u16> = rows
        .iter()
        .filter(|r| r.owner.as_deref() == Some(victim.as_str()))
        .map(|r| r.shard)
        .collect();
    let (index, device) = devices
        .iter()
        .enumerate()
        .find(|(_, d)| owned.contains(&hub::ownership::shard_of(&format!("p-{}", d.id))))?;
    let killed = Arc::new(Instant::now());
    if let Some(h) = hubs.first_mut() {
        let _ = h.child.0.kill();
        let _ = h.child.0.wait();
    }
    let mut seq = last.get(index).copied().unwrap_or(0) + 1_000_000;
    let patient = format!("p-{}", device.id);
    let first_new = seq + 1;
    while killed.elapsed() < Duration::from_secs(60) {
        seq += 1;
        let body = super::normal_payload(&patient, seq);
        let _ = device.publish_vitals(seq, body).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let confirmed = device
            .confirmations
            .lock()
            .map(|c| c.committed.range(first_new..).next().is_some())
            .unwrap_or(false);
        if confirmed {
            return Some(killed.elapsed().as_secs_f64());
        }
    }
    None
}

fn print(args: &BenchHubArgs, f: &Figures) {
    let per_reading = |cpu: f64, n: u64| cpu / (n.max(1) as f64);
    // Over the throughput phase: the CPU every hub and mosquitto used, per reading stored.
    let hub_cpu: f64 = f.hubs.iter().map(|(_, cpu, _)| cpu).sum();
    let stored: u64 = f.hubs.iter().map(|(_, _, n)| n).sum();
    let hub_s_per_reading = per_reading(hub_cpu, stored);
    let broker_s_per_reading = per_reading(f.broker_cpu_s, stored);
    let database_s_per_reading = per_reading(f.database_cpu_s, stored);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;
    let hub_cores = hub_s_per_reading * REGION_WEARABLES;
    let broker_cores = broker_s_per_reading * REGION_WEARABLES;
    let database_cores = database_s_per_reading * REGION_WEARABLES;
    let machines = ((hub_cores + broker_cores + database_cores) / (cores * PLANNED_LOAD)).ceil();
    if args.json {
        let hubs: Vec<serde_json::Value> = f
            .hubs
            .iter()
            .map(|(id, cpu, n)| {
                serde_json::json!({"hub": id, "cpu_s": cpu, "readings_stored": n,
                    "cpu_us_per_reading": 1e6 * per_reading(*cpu, *n)})
            })
            .collect();
        let json = serde_json::json!({
            "hubs": args.hubs, "devices": args.devices, "seconds": args.seconds, "window": args.window,
            "fsync": !args.no_fsync, "batch": args.batch, "database": if args.db.is_some() { "postgres" } else { "sqlite" },
            "obs_per_s": f.obs_per_s,
            "alert_latency_ms": {"p50": f.p50, "p99": f.p99, "alerts": f.alerts},
            "per_hub": hubs,
            "hub_cpu_us_per_reading": 1e6 * hub_s_per_reading,
            "mosquitto_cpu_us_per_reading": 1e6 * broker_s_per_reading,
            "postgres_cpu_us_per_reading": args.db.as_ref().map(|_| 1e6 * database_s_per_reading),
            "takeover_s": f.takeover_s,
            "estimate_100k_wearables_1hz": {"hub_cores": hub_cores, "broker_cores": broker_cores,
                "database_cores": database_cores,
                "cores_per_machine": cores, "planned_load": PLANNED_LOAD, "machines": machines},
        });
        println!("{json}");
        return;
    }
    println!(
        "{} hubs (--cluster) behind mosquitto, {} devices, {} per message:",
        args.hubs, args.devices, args.batch
    );
    println!(
        "  {:.0} obs/s committed and acknowledged across the hubs",
        f.obs_per_s
    );
    println!(
        "  alert latency p50 {:.2} ms, p99 {:.2} ms ({} alerts)",
        f.p50, f.p99, f.alerts
    );
    for (id, cpu, n) in &f.hubs {
        println!(
            "  {id}: {n} readings stored, {:.1} us CPU per reading",
            1e6 * per_reading(*cpu, *n)
        );
    }
    println!(
        "  all hubs {:.1} us CPU per reading, mosquitto {:.1} us",
        1e6 * hub_s_per_reading,
        1e6 * broker_s_per_reading
    );
    match f.takeover_s {
        Some(s) => println!("  takeover after SIGKILL of one hub: {s:.2} s"),
        None => println!("  takeover: no new reading confirmed within 60 s"),
    }
    println!(
        "estimate for {REGION_WEARABLES:.0} wearables at 1 reading/s: {hub_cores:.1} hub cores + \
         {broker_cores:.1} broker cores + {database_cores:.1} PostgreSQL cores = {machines:.0} \
         machines of {cores:.0} cores at {:.0} % load (SQLite's work is in the hub cores)",
        100.0 * PLANNED_LOAD
    );
}
