//! Three hubs sharing one ward, for the multi-hub tests (hub_multi.rs, hub_multi_restart.rs):
//! the database (SQLite or a fresh PostgreSQL), mosquitto, three `medlink hub --cluster`
//! processes, and wearables that send again what the hub has not confirmed, as real devices do.

#![allow(dead_code)]

use crate::common::*;
use hub::device::Device;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vitals::alerts::Rule;

pub const HUBS: [&str; 3] = ["hub-a", "hub-b", "hub-c"];
pub const VICTIM: &str = "hub-b";
pub const PATIENTS: usize = 24;
/// Readings per second per wearable.
pub const RATE_HZ: u64 = 5;
/// A reading not confirmed this long after it was sent is sent again.
pub const RESEND_AFTER: Duration = Duration::from_secs(3);
pub const ESCALATE_AFTER_MS: i64 = 5_000;

/// What a wearable's patient does during the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Course {
    Stable,
    /// Heart rate 140 (a NEWS2 red score: one alert) from the start.
    Deteriorating,
    /// Stable until the kill, then heart rate 140.
    DeterioratesAfterKill,
}

pub fn payload(patient: &str, seq: u64, time_ms: i64, bad: bool) -> String {
    let hr = if bad { 140 } else { 72 };
    format!(
        r#"{{"patient":"{patient}","seq":{seq},"time_ms":{time_ms},"hr":{hr},"rr":16,"spo2":97,"o2":false,"temp":36.8,"sbp":125,"dbp":80,"acvpu":"A"}}"#
    )
}

/// A wearable with what it sent and when (to send again what is not confirmed).
pub struct Wearable {
    pub device: Device,
    pub patient: String,
    pub course: Course,
    pub sent: Mutex<BTreeMap<u64, (String, Instant)>>,
    /// The last sequence number sent before the kill.
    pub before_kill: Mutex<u64>,
}

impl Wearable {
    pub fn unconfirmed(&self) -> Vec<u64> {
        let committed = self.device.confirmations.lock().unwrap().committed.clone();
        let sent = self.sent.lock().unwrap();
        sent.keys()
            .filter(|s| !committed.contains(s))
            .copied()
            .collect()
    }

    pub async fn resend_overdue(&self) {
        let committed = self.device.confirmations.lock().unwrap().committed.clone();
        let overdue: Vec<(u64, String)> = {
            let mut sent = self.sent.lock().unwrap();
            sent.iter_mut()
                .filter(|(s, (_, at))| !committed.contains(s) && at.elapsed() >= RESEND_AFTER)
                .map(|(s, (body, at))| {
                    *at = Instant::now();
                    (*s, body.clone())
                })
                .collect()
        };
        for (seq, body) in overdue {
            let _ = self.device.publish_vitals(seq, body).await;
        }
    }

    /// Publishes at RATE_HZ until `stop`, then sends again until everything is confirmed (or
    /// `give_up`).
    pub async fn run(self: Arc<Self>, killed: Arc<AtomicBool>, stop: Instant, give_up: Instant) {
        let mut seq = 0;
        while Instant::now() < stop {
            seq += 1;
            let bad = match self.course {
                Course::Stable => false,
                Course::Deteriorating => true,
                Course::DeterioratesAfterKill => killed.load(Ordering::SeqCst),
            };
            if !killed.load(Ordering::SeqCst) {
                *self.before_kill.lock().unwrap() = seq;
            }
            let body = payload(&self.patient, seq, hub::now_ms(), bad);
            self.sent
                .lock()
                .unwrap()
                .insert(seq, (body.clone(), Instant::now()));
            let _ = self.device.publish_vitals(seq, body).await;
            if seq % RATE_HZ == 0 {
                self.resend_overdue().await;
            }
            tokio::time::sleep(Duration::from_millis(1000 / RATE_HZ)).await;
        }
        while Instant::now() < give_up && !self.unconfirmed().is_empty() {
            self.resend_overdue().await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// One metric of a hub's `/metrics` (the first line with that name), if it answers.
pub fn metric(port: u16, name: &str) -> Option<f64> {
    let (status, body) = http(port, "GET", "/metrics", None);
    if status != 200 {
        return None;
    }
    body.lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Which hub holds each shard now, from the lease table.
pub fn owners(db: &store::Location) -> BTreeMap<u16, String> {
    let leases = store::Leases::open(db, store::Durability::Normal).unwrap();
    let (rows, _) = leases.view().unwrap();
    let now = hub::now_ms();
    rows.into_iter()
        .filter(|r| r.expires_ms > now)
        .filter_map(|r| Some((r.shard, r.owner?)))
        .collect()
}

pub fn owner_of(owners: &BTreeMap<u16, String>, patient: &str) -> String {
    owners
        .get(&hub::ownership::shard_of(patient))
        .cloned()
        .unwrap_or_default()
}

pub struct Ward {
    pub dir: PathBuf,
    pub db: store::Location,
    /// Dropped (the scratch database with it) after the hubs.
    pub _postgres: Option<store::testing::PgTestDb>,
    pub _broker: Proc,
    pub mqtt_port: u16,
    pub hubs: Vec<(String, u16, Proc)>,
    pub logins: Vec<(String, String, String)>,
}

/// The database the hubs share: an SQLite file in `dir`, or a fresh PostgreSQL database (`None`
/// when PostgreSQL is skipped); what `--db` says, and the extra arguments it needs.
pub type Database = (
    store::Location,
    PathBuf,
    Vec<String>,
    Option<store::testing::PgTestDb>,
);

pub fn database(dir: &Path, postgres: bool) -> Option<Database> {
    if !postgres {
        let path = dir.join("hub.db");
        return Some((
            store::Location::Sqlite(path.clone()),
            path,
            Vec::new(),
            None,
        ));
    }
    let db = store::testing::fresh_postgres().unwrap_or_else(|e| panic!("{e}"))?;
    let (url, password_file) = db.url_and_password_file(dir).unwrap();
    let password = std::fs::read_to_string(&password_file).unwrap();
    // The child commands (`hub token issue`, `hub device mosquitto`) read it from PGPASSWORD;
    // the hubs get --db-password-file.
    unsafe { std::env::set_var("PGPASSWORD", password.trim()) };
    let args = vec![
        "--db-password-file".to_string(),
        password_file.display().to_string(),
    ];
    Some((db.location(), PathBuf::from(url), args, Some(db)))
}

/// Registers the wearables, starts mosquitto and the three hubs, and waits until the hubs have
/// split the shards between them; `None` when PostgreSQL is asked for and skipped.
pub fn start_ward(name: &str, postgres: bool) -> Option<Ward> {
    let dir = temp_dir(name);
    let (location, db_arg, db_args, pg) = database(&dir, postgres)?;
    let logins: Vec<(String, String, String)> = {
        let mut store = store::Store::connect(&location, store::Durability::Normal).unwrap();
        (0..PATIENTS)
            .map(|i| {
                let (device, patient) = (format!("mw-{i:02}"), format!("mp-{i:02}"));
                let password =
                    hub::registrations::register(&mut store, &device, &patient, hub::now_ms())
                        .unwrap();
                (device, password, patient)
            })
            .collect()
    };
    let (broker, mqtt_port, mut args) = start_mosquitto(&dir, &db_arg);
    args.extend(db_args);
    let config = dir.join("hub.toml");
    std::fs::write(
        &config,
        format!("[alerts]\nescalate_after_ms = {ESCALATE_AFTER_MS}\n"),
    )
    .unwrap();
    args.extend([
        "--cluster".to_string(),
        "--no-fsync".to_string(),
        "--config".to_string(),
        config.display().to_string(),
    ]);
    let hubs = HUBS
        .iter()
        .map(|id| {
            let port = free_port();
            let mut extra = args.clone();
            extra.extend(["--hub-id".to_string(), id.to_string()]);
            let log = dir.join(format!("{id}.log"));
            let proc = start_hub_logging_to(&db_arg, port, &extra, &log);
            (id.to_string(), port, proc)
        })
        .collect::<Vec<_>>();
    let split = eventually(40, || {
        let held: Vec<f64> = hubs
            .iter()
            .filter_map(|(_, port, _)| metric(*port, "medlink_hub_cluster_shards"))
            .collect();
        held.len() == HUBS.len()
            && held.iter().all(|n| *n >= 21.0)
            && held.iter().sum::<f64>() == 64.0
    });
    assert!(
        split,
        "the three hubs never split the 64 shards between them"
    );
    Some(Ward {
        dir,
        db: location,
        _postgres: pg,
        _broker: broker,
        mqtt_port,
        hubs,
        logins,
    })
}

/// The NEWS2 alert ids raised, by patient; and the (rule, subject) of alerts raised twice.
pub type Raised = (BTreeMap<String, Vec<u64>>, Vec<(Rule, String)>);

/// The NEWS2 alerts raised, by patient, and every alert raised more than once for its subject.
pub fn raised_alerts(db: &store::Location) -> Raised {
    let journal = store::AlertStore::connect(&db.journal(), store::Durability::Normal).unwrap();
    let events = journal.events_after(0, 1_000_000).unwrap();
    let mut news2: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut raised: BTreeMap<(Rule, String), usize> = BTreeMap::new();
    for e in events.iter().filter(|e| e.kind == "raised") {
        let alert = journal.alert(e.alert_id).unwrap().unwrap();
        *raised
            .entry((alert.rule, alert.subject.clone()))
            .or_default() += 1;
        if alert.rule == Rule::News2 {
            news2.entry(alert.subject).or_default().push(alert.id);
        }
    }
    let twice = raised
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(k, _)| k)
        .collect();
    (news2, twice)
}

pub fn escalations_after(db: &store::Location, alert: u64, after_ms: i64) -> usize {
    let journal = store::AlertStore::connect(&db.journal(), store::Durability::Normal).unwrap();
    let events = journal.events_after(0, 1_000_000).unwrap();
    events
        .iter()
        .filter(|e| e.alert_id == alert && e.kind == "escalated" && e.at_ms > after_ms)
        .count()
}

/// Connects a wearable for every registered device, its patient following `course`.
pub fn connect_wearables(
    runtime: &tokio::runtime::Runtime,
    ward: &Ward,
    course: impl Fn(&str) -> Course,
) -> Vec<Arc<Wearable>> {
    runtime.block_on(async {
        let mut all = Vec::new();
        for (id, password, patient) in &ward.logins {
            let device = Device::connect("127.0.0.1", ward.mqtt_port, id, password, patient)
                .await
                .unwrap();
            all.push(Arc::new(Wearable {
                device,
                patient: patient.clone(),
                course: course(patient),
                sent: Mutex::default(),
                before_kill: Mutex::default(),
            }));
        }
        all
    })
}

/// Checks that every reading every wearable sent was confirmed and is stored exactly once;
/// returns how many there were.
pub fn stored_exactly_once(ward: &Ward, wearables: &[Arc<Wearable>]) -> u64 {
    let store = store::Store::connect(&ward.db, store::Durability::Normal).unwrap();
    let mut sent_total = 0;
    for w in wearables {
        let missing = w.unconfirmed();
        assert!(
            missing.is_empty(),
            "{}: never confirmed {missing:?}",
            w.device.id
        );
        let sent: BTreeSet<u64> = w.sent.lock().unwrap().keys().copied().collect();
        for seq in &sent {
            assert!(
                store.contains(&w.device.id, *seq).unwrap(),
                "{} {seq} not stored",
                w.device.id
            );
        }
        sent_total += sent.len() as u64;
    }
    assert_eq!(
        store.measurement_count().unwrap(),
        sent_total,
        "every reading stored exactly once"
    );
    sent_total
}

/// Runs every wearable (stable patients) for `seconds`, calls `disrupt` after `after`, then
/// waits until they are done (everything confirmed, or given up after 90 s more).
pub fn load_through(
    ward: &mut Ward,
    seconds: u64,
    after: Duration,
    disrupt: impl FnOnce(&mut Ward),
) -> Vec<Arc<Wearable>> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let wearables = connect_wearables(&runtime, ward, |_| Course::Stable);
    let stop = Instant::now() + Duration::from_secs(seconds);
    let give_up = stop + Duration::from_secs(90);
    let never = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = wearables
        .iter()
        .map(|w| runtime.spawn(w.clone().run(never.clone(), stop, give_up)))
        .collect();
    std::thread::sleep(after);
    disrupt(ward);
    runtime.block_on(async {
        for task in tasks {
            let _ = task.await;
        }
    });
    wearables
}

/// Follows `/api/events` of the hub on `port`: the subjects of the `raised` alert events it
/// pushes, as they come.
pub fn follow_raised(port: u16) -> Arc<Mutex<Vec<String>>> {
    use std::io::{BufRead, Write};
    let raised: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let request = format!(
        "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n{}Accept: text/event-stream\r\n\r\n",
        authorization(port)
    );
    stream.write_all(request.as_bytes()).unwrap();
    let out = raised.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let Some(data) = line.strip_prefix("data:") else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<serde_json::Value>(data.trim()) else {
                continue;
            };
            if event["type"] == "alert"
                && event["kind"]["type"] == "raised"
                && let Some(subject) = event["alert"]["subject"].as_str()
            {
                out.lock().unwrap().push(subject.to_string());
            }
        }
    });
    raised
}
