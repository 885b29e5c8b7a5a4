//! A rebooted device's readings go both ways the hub takes them: scored by the ward core and
//! stored (their sequence numbers repeat those of the previous boot); a real duplicate after
//! the reboot is neither scored nor stored again.

use hub::care::Care;
use hub::recent::Seen;
use store::{Insert, Store};
use vitals::alerts::{AlertConfig, AlertEngine};
use vitals::geo::LatLon;
use vitals::{Measurement, Vitals};

const NOW: i64 = 1_795_000_000_000;
const S: i64 = 1000;

fn reading(seq: u64, time_ms: i64) -> Measurement {
    Measurement {
        device: "d-1".into(),
        patient: "p-1".into(),
        seq,
        time_ms,
        vitals: Vitals {
            heart_rate: Some(70.0),
            ..Vitals::default()
        },
    }
}

/// Scores and stores one reading as the hub does; returns what each side made of it.
fn ingest(care: &mut Care, store: &mut Store, m: &Measurement) -> (Seen, bool) {
    let seen = care.score_new(m, m.time_ms, &mut Vec::new()).unwrap();
    let batch = store.begin_batch().unwrap();
    let stored = matches!(batch.insert(m).unwrap(), Insert::Stored(_));
    batch.commit().unwrap();
    (seen, stored)
}

#[test]
fn a_rebooted_devices_readings_are_scored_and_stored() {
    let mut care = Care::new(
        AlertEngine::new(AlertConfig::default()),
        LatLon { lat: 0.0, lon: 0.0 },
    );
    let mut store = Store::open_in_memory().unwrap();
    for seq in 1..=20 {
        let m = reading(seq, NOW + seq as i64 * S);
        assert_eq!(ingest(&mut care, &mut store, &m), (Seen::New, true));
    }
    // Rebooted: the counter starts at 1 again, stamped after seq 20.
    let after = |seq: u64| reading(seq, NOW + (100 + seq as i64) * S);
    assert_eq!(
        ingest(&mut care, &mut store, &after(1)),
        (Seen::Reboot, true)
    );
    for seq in 2..=10 {
        let got = ingest(&mut care, &mut store, &after(seq));
        assert_eq!(got, (Seen::New, true), "post-reboot seq {seq}");
    }
    assert_eq!(
        store.measurement_count().unwrap(),
        30,
        "no accepted reading lost"
    );
    // A real duplicate after the reboot is still a duplicate.
    let again = ingest(&mut care, &mut store, &after(5));
    assert_eq!(again, (Seen::Again, false));
    assert_eq!(store.measurement_count().unwrap(), 30);
}
