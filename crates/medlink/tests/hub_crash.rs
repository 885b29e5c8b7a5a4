//! SIGKILL during heavy ingest: after a restart, every measurement the hub acknowledged is in
//! the store. Two deployments: the embedded broker (acknowledged = confirmed by the hub on the
//! device's `ack` topic after the commit) and mosquitto (acknowledged = PUBACK'd by mosquitto;
//! the hub acks to mosquitto only after its commit, so mosquitto redelivers the rest).

mod common;

use common::*;
use hub::device::Device;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const DEVICES: usize = 8;
const WINDOW: usize = 400;

fn payload(patient: &str, seq: u64) -> String {
    format!(
        r#"{{"patient":"{patient}","seq":{seq},"time_ms":{},"hr":72,"rr":16,"spo2":97,"o2":false,"temp":36.8,"sbp":125,"dbp":80,"acvpu":"A"}}"#,
        hub::now_ms() + seq as i64 // stamped now: the hub refuses readings older than a day
    )
}

/// Publishes hard from every device until `stop` (or `cap` measurements each), keeping at most
/// WINDOW unconfirmed each.
async fn hammer(devices: &[Device], stop: Instant, cap: u64, confirmed: fn(&Device) -> usize) {
    let tasks: Vec<_> = devices
        .iter()
        .map(|d| {
            let d = d.clone();
            tokio::spawn(async move {
                let mut seq = 0u64;
                while Instant::now() < stop && seq < cap {
                    if seq as usize - confirmed(&d) >= WINDOW {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        continue;
                    }
                    seq += 1;
                    if d.publish_vitals(seq, payload(&format!("p-{}", d.id), seq))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
}

/// Registers the devices `{prefix}-{i}` (patients `p-{prefix}-{i}`) in `db`; their passwords.
fn register_devices(db: &std::path::Path, prefix: &str) -> Vec<(String, String, String)> {
    (0..DEVICES)
        .map(|i| {
            let (id, patient) = (format!("{prefix}-{i}"), format!("p-{prefix}-{i}"));
            let password = register(db, &id, &patient);
            (id, password, patient)
        })
        .collect()
}

fn connect_devices(
    runtime: &tokio::runtime::Runtime,
    port: u16,
    logins: &[(String, String, String)],
) -> Vec<Device> {
    runtime.block_on(async {
        let mut devices = Vec::new();
        for (id, password, patient) in logins {
            devices.push(
                Device::connect("127.0.0.1", port, id, password, patient)
                    .await
                    .unwrap(),
            );
        }
        devices
    })
}

/// Loads the hub for 4 s and SIGKILLs it after 2.5 s, in the middle of the load.
fn load_and_kill(
    runtime: &tokio::runtime::Runtime,
    devices: &[Device],
    hub: &mut Proc,
    cap: u64,
    confirmed: fn(&Device) -> usize,
) {
    runtime.block_on(async {
        let load = hammer(
            devices,
            Instant::now() + Duration::from_secs(4),
            cap,
            confirmed,
        );
        let killer = async {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            hub.kill9();
        };
        tokio::join!(load, killer);
    });
}

fn snapshot(
    devices: &[Device],
    pick: fn(&hub::device::Confirmations) -> &BTreeSet<u64>,
) -> Vec<(String, BTreeSet<u64>)> {
    devices
        .iter()
        .map(|d| (d.id.clone(), pick(&d.confirmations.lock().unwrap()).clone()))
        .collect()
}

fn missing_from_store(
    db: &std::path::Path,
    acked: &[(String, BTreeSet<u64>)],
) -> Vec<(String, u64)> {
    let store = store::Store::open(db, store::Durability::Normal).unwrap();
    acked
        .iter()
        .flat_map(|(device, seqs)| seqs.iter().map(move |s| (device.clone(), *s)))
        .filter(|(device, seq)| !store.contains(device, *seq).unwrap())
        .collect()
}

#[test]
fn sigkill_loses_no_measurement_the_hub_confirmed() {
    let dir = temp_dir("crash-embedded");
    let db = dir.join("hub.db");
    let (http_port, mqtt_port) = (free_port(), free_port());
    let args = vec![
        "--mqtt-listen".to_string(),
        format!("127.0.0.1:{mqtt_port}"),
    ];
    let mut hub = start_hub(&db, http_port, &args);
    wait_for_port(mqtt_port);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let logins = register_devices(&db, "crash");
    let devices = connect_devices(&runtime, mqtt_port, &logins);
    let committed = |d: &Device| d.counts().1;
    load_and_kill(&runtime, &devices, &mut hub, u64::MAX, committed);
    let acked = snapshot(&devices, |c| &c.committed);
    let total: usize = acked.iter().map(|(_, s)| s.len()).sum();
    assert!(
        total > 1000,
        "ingest was not heavy: only {total} confirmed before the kill"
    );

    let _restarted = start_hub(&db, http_port, &args);
    let missing = missing_from_store(&db, &acked);
    assert!(
        missing.is_empty(),
        "{} of {total} confirmed measurements lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    eprintln!(
        "embedded broker: {total} measurements confirmed before SIGKILL, all in the store after restart"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigkill_behind_mosquitto_loses_no_pubacked_measurement() {
    let dir = temp_dir("crash-mosquitto");
    let db = dir.join("hub.db");
    let logins = register_devices(&db, "mcrash");
    let (_broker, mqtt_port, mut args) = start_mosquitto(&dir, &db);
    let http_port = free_port();
    args.push("--no-fsync".to_string());
    let mut hub = start_hub(&db, http_port, &args);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let devices = connect_devices(&runtime, mqtt_port, &logins);
    // Let the hub subscribe before the load starts.
    assert!(
        eventually(10, || hub_has_seen_devices(http_port)),
        "the hub never heard the devices"
    );
    let pubacked = |d: &Device| d.counts().0;
    // mosquitto PUBACKs far faster than the hub commits: cap the backlog it must drain.
    load_and_kill(&runtime, &devices, &mut hub, 4000, pubacked);
    let acked = snapshot(&devices, |c| &c.pubacked);
    let total: usize = acked.iter().map(|(_, s)| s.len()).sum();
    assert!(total > 1000, "ingest was not heavy: only {total} PUBACK'd");

    let _restarted = start_hub(&db, http_port, &args);
    // mosquitto redelivers what the killed hub had not acknowledged.
    let mut missing = Vec::new();
    let delivered = eventually(90, || {
        missing = missing_from_store(&db, &acked);
        missing.is_empty()
    });
    assert!(
        delivered,
        "{} of {total} PUBACK'd measurements never reached the store, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    eprintln!(
        "mosquitto: {total} measurements PUBACK'd before SIGKILL, all in the store after restart"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The devices' retained `online` status reached the hub through mosquitto.
fn hub_has_seen_devices(http_port: u16) -> bool {
    get_json(http_port, "/api/devices")
        .as_object()
        .is_some_and(|d| d.len() >= DEVICES)
}
