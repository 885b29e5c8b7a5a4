//! Store behaviour: de-duplication by (device, seq), all-or-nothing batches, search with paging.

use store::{Insert, ObservationQuery, Store};
use vitals::{Measurement, VitalKind, Vitals};

fn m(device: &str, patient: &str, seq: u64, time_ms: i64) -> Measurement {
    let vitals = Vitals {
        heart_rate: Some(70.0 + seq as f64),
        spo2: Some(97.0),
        systolic: Some(120.0),
        diastolic: Some(80.0),
        ..Vitals::default()
    };
    Measurement {
        device: device.into(),
        patient: patient.into(),
        seq,
        time_ms,
        vitals,
    }
}

#[test]
fn duplicates_are_stored_once() {
    let mut store = Store::open_in_memory().unwrap();
    let batch = store.begin_batch().unwrap();
    assert!(matches!(
        batch.insert(&m("d", "p", 1, 0)).unwrap(),
        Insert::Stored(_)
    ));
    assert_eq!(batch.insert(&m("d", "p", 1, 0)).unwrap(), Insert::Duplicate);
    assert!(matches!(
        batch.insert(&m("e", "p", 1, 0)).unwrap(),
        Insert::Stored(_)
    ));
    batch.commit().unwrap();
    assert_eq!(store.measurement_count().unwrap(), 2);
    assert!(store.contains("d", 1).unwrap());
    assert!(!store.contains("d", 2).unwrap());
}

#[test]
fn an_uncommitted_batch_leaves_nothing() {
    let mut store = Store::open_in_memory().unwrap();
    {
        let batch = store.begin_batch().unwrap();
        batch.insert(&m("d", "p", 1, 0)).unwrap();
    }
    assert_eq!(store.measurement_count().unwrap(), 0);
}

#[test]
fn search_filters_by_patient_code_and_date_and_pages() {
    let mut store = Store::open_in_memory().unwrap();
    let batch = store.begin_batch().unwrap();
    for seq in 0..10 {
        batch.insert(&m("d", "p1", seq, seq as i64 * 1000)).unwrap();
        batch.insert(&m("e", "p2", seq, seq as i64 * 1000)).unwrap();
    }
    batch.commit().unwrap();
    let all = ObservationQuery {
        patient: Some("p1".into()),
        count: 100,
        ..Default::default()
    };
    let (total, page) = store.search_observations(&all).unwrap();
    assert_eq!(
        (total, page.len()),
        (40, 40),
        "hr, spo2, bp and the NEWS2 total of 10 measurements"
    );
    let hr = ObservationQuery {
        kinds: vec![VitalKind::HeartRate],
        from_ms: Some(2000),
        until_ms: Some(7000),
        count: 2,
        offset: 2,
        ..all.clone()
    };
    let (total, page) = store.search_observations(&hr).unwrap();
    assert_eq!(total, 5);
    let seqs: Vec<u64> = page.iter().map(|(r, _)| r.measurement.seq).collect();
    assert_eq!(seqs, vec![4, 5]);
    assert!(
        page.iter()
            .all(|(r, k)| *k == VitalKind::HeartRate && r.measurement.patient == "p1")
    );
}

#[test]
fn unsequenced_inserts_take_the_next_sequence() {
    let mut store = Store::open_in_memory().unwrap();
    let batch = store.begin_batch().unwrap();
    let a = batch.insert_unsequenced(m("fhir-api", "p", 0, 0)).unwrap();
    let b = batch.insert_unsequenced(m("fhir-api", "p", 0, 0)).unwrap();
    batch.commit().unwrap();
    assert_eq!(store.measurement(a).unwrap().unwrap().measurement.seq, 1);
    assert_eq!(store.measurement(b).unwrap().unwrap().measurement.seq, 2);
}

#[test]
fn spo2_scale_changes_are_audited() {
    let mut store = Store::open_in_memory().unwrap();
    store.put_patient("p", Some("Ada")).unwrap();
    store.set_spo2_scale("p", 2, "dr.lee", 10).unwrap();
    store.set_spo2_scale("p", 1, "dr.kim", 20).unwrap();
    assert_eq!(store.patient("p").unwrap().unwrap().spo2_scale, 1);
    let history = store.spo2_scale_history("p").unwrap();
    assert_eq!(
        history,
        vec![(2, "dr.lee".to_string(), 10), (1, "dr.kim".to_string(), 20)]
    );
}

#[test]
fn survives_reopen_from_disk() {
    let dir = std::env::temp_dir().join(format!("medlink-store-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hub.db");
    {
        let mut store = Store::open(&path, store::Durability::Full).unwrap();
        let batch = store.begin_batch().unwrap();
        batch.insert(&m("d", "p", 1, 0)).unwrap();
        batch.commit().unwrap();
    }
    let store = Store::open(&path, store::Durability::Full).unwrap();
    assert!(store.contains("d", 1).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn measurements_since_lists_every_patient_by_time() {
    let mut store = Store::open_in_memory().unwrap();
    let batch = store.begin_batch().unwrap();
    for (device, patient, seq, time_ms) in
        [("d", "p", 1, 100), ("e", "q", 1, 50), ("d", "p", 2, 10)]
    {
        batch.insert(&m(device, patient, seq, time_ms)).unwrap();
    }
    batch.commit().unwrap();
    let since: Vec<(String, i64)> = store
        .measurements_since(50)
        .unwrap()
        .into_iter()
        .map(|r| (r.measurement.patient, r.measurement.time_ms))
        .collect();
    assert_eq!(since, [("q".to_string(), 50), ("p".to_string(), 100)]);
}

#[test]
fn a_database_from_before_versioning_is_taken_and_a_newer_one_refused() {
    let dir = std::env::temp_dir().join(format!("medlink-store-version-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hub.db");
    {
        // As a hub before versioned migrations left it: the first tables, `user_version` 0.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE measurements (
                id INTEGER PRIMARY KEY, device TEXT NOT NULL, seq INTEGER NOT NULL,
                patient TEXT NOT NULL, time_ms INTEGER NOT NULL,
                hr REAL, rr REAL, spo2 REAL, o2 INTEGER, temp REAL, sbp REAL, dbp REAL, acvpu TEXT,
                UNIQUE (device, seq));
             INSERT INTO measurements (device, seq, patient, time_ms, hr) VALUES ('d', 1, 'p', 0, 70);",
        )
        .unwrap();
    }
    let version = |v: i64| {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", v).unwrap();
    };
    let store = Store::open(&path, store::Durability::Normal).unwrap();
    assert!(store.contains("d", 1).unwrap());
    drop(store);
    version(9);
    let refused = Store::open(&path, store::Durability::Normal);
    assert!(
        matches!(
            refused,
            Err(store::StoreError::NewerSchema {
                found: 9,
                known: 3,
                ..
            })
        ),
        "a newer database was opened"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
