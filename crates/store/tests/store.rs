//! Store behaviour, on SQLite and on PostgreSQL: de-duplication by (device, seq), all-or-nothing
//! batches, search with paging, versioned schemas (a newer one refused).

mod common;

use common::on_each_backend;
use store::{Durability, Insert, ObservationQuery, Store};
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

fn open(b: &common::Backend) -> Store {
    Store::connect(&b.location, Durability::Normal).unwrap()
}

#[test]
fn duplicates_are_stored_once() {
    on_each_backend("duplicates", duplicates_are_stored_once_on)
}

fn duplicates_are_stored_once_on(b: &common::Backend) {
    let mut store = open(b);
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
    on_each_backend("uncommitted", an_uncommitted_batch_leaves_nothing_on)
}

fn an_uncommitted_batch_leaves_nothing_on(b: &common::Backend) {
    let mut store = open(b);
    {
        let batch = store.begin_batch().unwrap();
        batch.insert(&m("d", "p", 1, 0)).unwrap();
    }
    assert_eq!(store.measurement_count().unwrap(), 0);
}

#[test]
fn search_filters_by_patient_code_and_date_and_pages() {
    on_each_backend(
        "search",
        search_filters_by_patient_code_and_date_and_pages_on,
    )
}

fn search_filters_by_patient_code_and_date_and_pages_on(b: &common::Backend) {
    let mut store = open(b);
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
    on_each_backend("unsequenced", unsequenced_inserts_take_the_next_sequence_on)
}

fn unsequenced_inserts_take_the_next_sequence_on(b: &common::Backend) {
    let mut store = open(b);
    let batch = store.begin_batch().unwrap();
    let a = batch.insert_unsequenced(m("fhir-api", "p", 0, 0)).unwrap();
    let b = batch.insert_unsequenced(m("fhir-api", "p", 0, 0)).unwrap();
    batch.commit().unwrap();
    assert_eq!(store.measurement(a).unwrap().unwrap().measurement.seq, 1);
    assert_eq!(store.measurement(b).unwrap().unwrap().measurement.seq, 2);
}

#[test]
fn spo2_scale_changes_are_audited() {
    on_each_backend("spo2", spo2_scale_changes_are_audited_on)
}

fn spo2_scale_changes_are_audited_on(b: &common::Backend) {
    let mut store = open(b);
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
fn survives_reopen() {
    on_each_backend("reopen", |b| {
        {
            let mut store = Store::connect(&b.location, Durability::Full).unwrap();
            let batch = store.begin_batch().unwrap();
            batch.insert(&m("d", "p", 1, 0)).unwrap();
            batch.commit().unwrap();
        }
        let store = Store::connect(&b.location, Durability::Full).unwrap();
        assert!(store.contains("d", 1).unwrap());
    })
}

#[test]
fn a_newer_schema_is_refused_on_both_backends() {
    on_each_backend("newer", |b| {
        drop(open(b));
        b.set_version(&b.location, "database", 9);
        let refused = Store::connect(&b.location, Durability::Normal);
        match refused {
            Err(store::StoreError::NewerSchema {
                found: 9, known: 4, ..
            }) => {}
            Err(other) => panic!("{}: wrong error: {other}", b.name),
            Ok(_) => panic!("{}: a newer database was opened", b.name),
        }
        let message = Store::connect(&b.location, Durability::Normal)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("newer than this program knows"),
            "{message}"
        );
    })
}

#[test]
fn a_batch_is_seen_by_another_connection_only_after_its_commit() {
    on_each_backend("isolation", |b| {
        let mut writer = open(b);
        let reader = open(b);
        let readings: Vec<_> = (1..=700).map(|s| m("d", "p", s, s as i64)).collect();
        let batch = writer.begin_batch().unwrap();
        let inserted = batch.insert_all(&readings).unwrap();
        assert!(inserted.iter().all(|i| matches!(i, Insert::Stored(_))));
        assert_eq!(
            reader.measurement_count().unwrap(),
            0,
            "{}: seen before commit",
            b.name
        );
        batch.commit().unwrap();
        assert_eq!(reader.measurement_count().unwrap(), 700, "{}", b.name);
        // Redelivered with two new ones, in one call: only the new ones are stored.
        let mut again = readings[650..].to_vec();
        again.push(m("d", "p", 701, 701));
        again.push(m("d", "p", 701, 701));
        let batch = writer.begin_batch().unwrap();
        let inserted = batch.insert_all(&again).unwrap();
        batch.commit().unwrap();
        let stored = inserted
            .iter()
            .filter(|i| matches!(i, Insert::Stored(_)))
            .count();
        assert_eq!(stored, 1, "{}: {inserted:?}", b.name);
        assert_eq!(reader.measurement_count().unwrap(), 701);
    })
}

#[test]
fn measurements_since_lists_every_patient_by_time() {
    on_each_backend("since", measurements_since_lists_every_patient_by_time_on)
}

fn measurements_since_lists_every_patient_by_time_on(b: &common::Backend) {
    let mut store = open(b);
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

/// SQLite only: PostgreSQL databases were versioned from the start.
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
                known: 4,
                ..
            })
        ),
        "a newer database was opened"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
