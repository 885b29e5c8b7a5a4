//! A rebooted device's readings (its sequence counter restarted) are stored, not taken for
//! duplicates; redeliveries within a boot stay duplicates; a database of the previous schema
//! version keeps its rows and gains boots. On SQLite and on PostgreSQL (the previous-version
//! database is SQLite only: PostgreSQL support came later).

mod common;

use common::on_each_backend;
use rusqlite::Connection;
use store::{Durability, Insert, Store, values};
use vitals::{Measurement, Vitals};

fn m(seq: u64, time_ms: i64) -> Measurement {
    Measurement {
        device: "d".into(),
        patient: "p".into(),
        seq,
        time_ms,
        vitals: Vitals {
            heart_rate: Some(70.0),
            ..Vitals::default()
        },
    }
}

fn stored(store: &mut Store, readings: &[Measurement]) -> Vec<bool> {
    let batch = store.begin_batch().unwrap();
    let out = readings
        .iter()
        .map(|r| matches!(batch.insert(r).unwrap(), Insert::Stored(_)))
        .collect();
    batch.commit().unwrap();
    out
}

#[test]
fn a_rebooted_devices_readings_are_stored_and_duplicates_stay_duplicates() {
    on_each_backend("reboot", rebooted_on)
}

fn rebooted_on(b: &common::Backend) {
    let mut store = Store::connect(&b.location, Durability::Normal).unwrap();
    let first: Vec<_> = (1..=5).map(|s| m(s, s as i64 * 1000)).collect();
    assert_eq!(stored(&mut store, &first), vec![true; 5]);
    // Rebooted: numbers 1..=3 again, stamped after seq 5.
    let second: Vec<_> = (1..=3).map(|s| m(s, 10_000 + s as i64 * 1000)).collect();
    assert_eq!(stored(&mut store, &second), vec![true; 3], "not duplicates");
    assert_eq!(store.measurement_count().unwrap(), 8);
    // A redelivery after the reboot, and a late redelivery of the previous boot.
    assert_eq!(
        stored(&mut store, &[m(2, 12_000), m(5, 5000)]),
        vec![false; 2]
    );
    // A late reading of the previous boot that was never stored is stored there and does not
    // start another boot: the next reading of the new boot is stored, a redelivery is not.
    assert_eq!(stored(&mut store, &[m(6, 6000)]), vec![true]);
    assert_eq!(stored(&mut store, &[m(4, 14_000)]), vec![true]);
    assert_eq!(
        stored(&mut store, &[m(3, 13_000), m(6, 6000)]),
        vec![false; 2]
    );
    assert_eq!(store.measurement_count().unwrap(), 10);
}

#[test]
fn a_database_of_the_previous_version_keeps_its_rows_and_stores_reboots() {
    let dir = std::env::temp_dir().join(format!("medlink-reboot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hub.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE measurements (
                id INTEGER PRIMARY KEY, device TEXT NOT NULL, seq INTEGER NOT NULL,
                patient TEXT NOT NULL, time_ms INTEGER NOT NULL,
                hr REAL, rr REAL, spo2 REAL, o2 INTEGER, temp REAL, sbp REAL, dbp REAL, acvpu TEXT,
                UNIQUE (device, seq));
             CREATE TABLE patients (id TEXT PRIMARY KEY, name TEXT,
                spo2_scale INTEGER NOT NULL DEFAULT 1);
             CREATE TABLE spo2_scale_audit (patient TEXT NOT NULL, scale INTEGER NOT NULL,
                changed_by TEXT NOT NULL, at_ms INTEGER NOT NULL);
             CREATE TABLE devices (id TEXT PRIMARY KEY, patient TEXT);
             INSERT INTO measurements (id, device, seq, patient, time_ms, hr)
                VALUES (41, 'd', 1, 'p', 1000, 70), (42, 'd', 2, 'p', 2000, 71);
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let mut store = Store::open(&path, store::Durability::Normal).unwrap();
    assert_eq!(store.measurement_count().unwrap(), 2);
    assert!(store.contains("d", 2).unwrap());
    assert_eq!(
        stored(&mut store, &[m(2, 2000)]),
        vec![false],
        "still a duplicate"
    );
    assert_eq!(
        stored(&mut store, &[m(1, 9000)]),
        vec![true],
        "a reboot is stored"
    );
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4, "migrated to the latest version");
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM measurements WHERE boot = 0 ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ids, vec![41, 42], "row ids (FHIR ids) are kept");
}

#[test]
fn a_rolled_back_batch_leaves_no_sequence_behind() {
    on_each_backend("rollback", rolled_back_on)
}

fn rolled_back_on(b: &common::Backend) {
    // The writer keeps each device's boot and highest number in memory; what a batch that never
    // committed saw must not count: seq 9 rolled back, so seq 3 stamped later is no reboot.
    let mut store = Store::connect(&b.location, Durability::Normal).unwrap();
    assert_eq!(stored(&mut store, &[m(1, 1000), m(2, 2000)]), vec![true; 2]);
    {
        let batch = store.begin_batch().unwrap();
        assert!(matches!(
            batch.insert(&m(9, 9000)).unwrap(),
            Insert::Stored(_)
        ));
    } // dropped: rolled back
    assert_eq!(stored(&mut store, &[m(3, 10_000)]), vec![true]);
    assert!(
        !store.contains("d", 9).unwrap(),
        "the rolled-back reading is gone"
    );
    let boot_of_3: i64 = b
        .raw(&b.location)
        .query_value("SELECT boot FROM measurements WHERE seq = ?1", &values![3])
        .unwrap();
    assert_eq!(boot_of_3, 0, "seq 3 follows seq 2 in the same boot");
    // A reboot after the rollback is still seen: seq 1 stamped after seq 3.
    assert_eq!(stored(&mut store, &[m(1, 12_000)]), vec![true], "a reboot");
}
