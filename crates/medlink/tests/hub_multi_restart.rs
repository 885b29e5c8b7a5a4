//! Three hubs under load while what they share restarts (docs/hub.md, "Several hubs"): the
//! broker (mosquitto killed and started again on the same port; the hubs and the wearables
//! reconnect and subscribe again), and PostgreSQL (`pg_ctl restart -m fast` of the cluster
//! scripts/setup-postgres.sh runs; the hubs' batches fail while it is down, are not confirmed,
//! and are sent again). Either way every reading is confirmed in the end and stored exactly
//! once, and the hubs again hold all 64 shards between them.

mod common;
mod multi_ward;

use common::*;
use multi_ward::*;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The hubs still (again) hold every shard between them.
fn all_shards_held(ward: &Ward) -> bool {
    eventually(30, || {
        let held: f64 = ward
            .hubs
            .iter()
            .filter_map(|(_, port, _)| metric(*port, "medlink_hub_cluster_shards"))
            .sum();
        held == 64.0
    })
}

#[test]
fn three_hubs_ride_out_a_broker_restart() {
    let mut ward = start_ward("multi-broker-restart", false).expect("SQLite is never skipped");
    let wearables = load_through(&mut ward, 16, Duration::from_secs(5), |ward| {
        ward._broker.kill9();
        std::thread::sleep(Duration::from_secs(1));
        let binary = mosquitto_binary().unwrap();
        let child = Command::new(binary)
            .arg("-c")
            .arg(ward.dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        ward._broker = Proc(child);
        wait_for_port(ward.mqtt_port);
    });
    let readings = stored_exactly_once(&ward, &wearables);
    assert!(all_shards_held(&ward), "the hubs lost shards for good");
    eprintln!("broker restart under load: {readings} readings, all confirmed and stored once");
    let _ = std::fs::remove_dir_all(&ward.dir);
}

/// The `pg_ctl` of the cluster scripts/setup-postgres.sh started, and how to run it (as the
/// postgres user when root); `None` when the server is not ours (MEDLINK_PG_URL).
fn own_cluster() -> Option<(Vec<String>, std::path::PathBuf)> {
    let data = repo_root().join("target/pg/data");
    if !data.join("PG_VERSION").is_file() {
        return None;
    }
    let pg_ctl = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|v| v.path().join("bin/pg_ctl"))
        .find(|p| p.is_file())?;
    let mut command = Vec::new();
    if unsafe { libc::geteuid() } == 0 {
        command.extend(["runuser", "-u", "postgres", "--"].map(String::from));
    }
    command.push(pg_ctl.display().to_string());
    Some((command, data))
}

#[test]
fn three_hubs_ride_out_a_postgres_restart() {
    let Some(mut ward) = start_ward("multi-postgres-restart", true) else {
        return; // PostgreSQL skipped (MEDLINK_SKIP_POSTGRES=1), and said so
    };
    let Some((pg_ctl, data)) = own_cluster() else {
        eprintln!(
            "SKIPPED: PostgreSQL is not the cluster scripts/setup-postgres.sh runs (MEDLINK_PG_URL): not restarting it"
        );
        return;
    };
    let wearables = load_through(&mut ward, 16, Duration::from_secs(5), |_| {
        let log = data.parent().unwrap().join("server.log");
        let status = Command::new(&pg_ctl[0])
            .args(&pg_ctl[1..])
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-m", "fast", "-w", "-t", "60", "restart"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl restart failed");
    });
    let readings = stored_exactly_once(&ward, &wearables);
    assert!(all_shards_held(&ward), "the hubs lost shards for good");
    eprintln!("PostgreSQL restart under load: {readings} readings, all confirmed and stored once");
}
