//! ECG streams into a running hub (embedded broker on loopback): synthetic signals published as
//! chunks become stored heart rates, rhythm alerts in the alert list (pushed as events), and a
//! lead-off becomes "check electrodes", never an arrhythmia; bad payloads are counted rejections.

mod common;

use common::{eventually, start_hub};
use ecg::{EcgChunkMessage, synth};
use hub::care::HubEvent;
use hub::device::Device;
use vitals::alerts::{Alert, EventKind, Rule};

const RATE: f64 = 360.0;

/// A device streaming one lead, listening for the hub's confirmations.
async fn ecg_device(hub: &hub::RunningHub, patient: &str, device: &str) -> (Device, String) {
    let dev = common::device(hub, device, patient).await;
    let topic = hub::topics::ecg(patient, device, "II");
    dev.listen(format!("{topic}/ack")).await.unwrap();
    dev.listen(format!("{topic}/error")).await.unwrap();
    (dev, topic)
}

/// Publishes `signal` (mV) as one-second chunks stamped to end now and waits until the hub
/// committed them all.
async fn stream(hub: &hub::RunningHub, patient: &str, device: &str, signal: &[f32]) {
    stream_at(hub, patient, device, signal, 0).await;
}

/// As [`stream`], with every chunk stamped `shift_ms` later; returns the device.
async fn stream_at(
    hub: &hub::RunningHub,
    patient: &str,
    device: &str,
    signal: &[f32],
    shift_ms: i64,
) -> Device {
    let (dev, topic) = ecg_device(hub, patient, device).await;
    let chunks: Vec<&[f32]> = signal.chunks(RATE as usize).collect();
    let start_ms = hub::now_ms() - 1000 * chunks.len() as i64 + shift_ms;
    for (index, samples) in chunks.iter().enumerate() {
        let seq = index as u64 + 1;
        let t0 = start_ms + 1000 * index as i64;
        let message = EcgChunkMessage::from_mv(seq, t0, RATE, 200.0, 1024, samples);
        let body = serde_json::to_vec(&message).unwrap();
        dev.publish_sequenced(topic.clone(), seq, body)
            .await
            .unwrap();
    }
    let committed = eventually(|| dev.counts().1 == chunks.len()).await;
    assert!(
        committed,
        "{device}: {:?} of {} chunks",
        dev.counts(),
        chunks.len()
    );
    dev
}

fn alerts(hub: &hub::RunningHub, subject: &str) -> (Vec<Alert>, Vec<Alert>) {
    let care = hub.shared.care.lock().unwrap();
    let mine = |a: &&Alert| a.subject == subject;
    let active = care
        .engine
        .active()
        .into_iter()
        .filter(mine)
        .cloned()
        .collect();
    let resolved = care.engine.resolved().filter(mine).cloned().collect();
    (active, resolved)
}

fn rules(alerts: &[Alert]) -> Vec<Rule> {
    alerts.iter().map(|a| a.rule).collect()
}

fn regular(bpm: f64, seconds: f64) -> Vec<f32> {
    let beats = synth::regular_beats(bpm, 0.3, seconds);
    synth::ecg_with_background(RATE, seconds, &beats, true, 11)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecg_streams_become_heart_rates_and_alerts_in_the_hub() {
    let dir = std::env::temp_dir().join(format!("medlink-hub-ecg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let hub = start_hub(&dir, |c| c.client_id = "ecg-test-hub".into()).await;
    let mut events = hub.events();

    // Bradycardia: an alert in the list, pushed as an event, acknowledged like any other.
    stream(&hub, "p-brady", "holter-a", &regular(40.0, 40.0)).await;
    let (active, _) = alerts(&hub, "holter-a.ecg.II");
    assert_eq!(rules(&active), vec![Rule::Bradycardia]);
    assert_eq!(active[0].patient.as_deref(), Some("p-brady"));
    let id = active[0].id;
    hub.shared
        .care
        .lock()
        .unwrap()
        .engine
        .acknowledge(id, "nurse.jo", hub::now_ms())
        .unwrap();
    // Its heart rates were stored (acknowledged only after commit) and scored.
    let stored = hub
        .shared
        .metrics
        .measurements_stored
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(stored >= 5, "{stored} heart rates stored");
    let summary = hub
        .shared
        .care
        .lock()
        .unwrap()
        .tracker
        .summary("p-brady")
        .unwrap();
    let hr = summary.vitals.heart_rate.unwrap();
    assert!((hr - 40.0).abs() < 1.0, "heart rate {hr}");

    // Asystole: 6 s without a beat raises a pause, resolved when beats return.
    let mut beats = synth::regular_beats(75.0, 0.3, 20.0);
    let last = *beats.last().unwrap();
    beats.extend(synth::regular_beats(75.0, last + 6.0, 40.0));
    let signal = synth::ecg_with_background(RATE, 40.0, &beats, true, 12);
    stream(&hub, "p-pause", "holter-b", &signal).await;
    let (active, resolved) = alerts(&hub, "holter-b.ecg.II");
    assert_eq!(rules(&active), vec![]);
    assert_eq!(rules(&resolved), vec![Rule::Pause]);
    assert_eq!(resolved[0].severity, 3);

    // Lead off: "check electrodes", raised and resolved, and no arrhythmia at all.
    let mut signal = regular(75.0, 50.0);
    signal[(20.0 * RATE) as usize..(32.0 * RATE) as usize].fill(f32::NAN);
    stream(&hub, "p-leadoff", "holter-c", &signal).await;
    let (active, resolved) = alerts(&hub, "holter-c.ecg.II");
    assert_eq!(rules(&active), vec![]);
    assert_eq!(rules(&resolved), vec![Rule::CheckElectrodes]);
    assert!(
        resolved[0].message.contains("lead off"),
        "{}",
        resolved[0].message
    );

    // Every raise went out on the event stream.
    let mut raised = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let HubEvent::Alert(a) = event
            && a.kind == EventKind::Raised
        {
            raised.push((a.alert.rule, a.alert.subject.clone()));
        }
    }
    for (rule, subject) in [
        (Rule::Bradycardia, "holter-a.ecg.II"),
        (Rule::Pause, "holter-b.ecg.II"),
        (Rule::CheckElectrodes, "holter-c.ecg.II"),
    ] {
        assert!(raised.contains(&(rule, subject.into())), "{raised:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_ecg_payloads_are_counted_and_reported_never_a_crash() {
    let dir = std::env::temp_dir().join(format!("medlink-hub-ecg-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let hub = start_hub(&dir, |c| c.client_id = "ecg-test-hub".into()).await;
    let mut events = hub.events();
    let (dev, topic) = ecg_device(&hub, "p-bad", "holter-x").await;
    let bad: [&[u8]; 3] = [
        b"{oops",
        br#"{"v":1,"seq":1,"t0_ms":0,"fs":0,"gain":200,"samples":[1]}"#,
        br#"{"v":1,"seq":1,"t0_ms":0,"fs":360,"gain":200,"samples":[1],"lead":"II"}"#,
    ];
    for body in bad {
        dev.publish_sequenced(topic.clone(), 0, body.to_vec())
            .await
            .unwrap();
    }
    let metrics = &hub.shared.metrics;
    let counted = eventually(|| {
        (
            metrics.rejected("not_json"),
            metrics.rejected("out_of_range"),
            metrics.rejected("schema"),
        ) == (1, 1, 1)
    })
    .await;
    assert!(counted, "rejections not counted");
    let reported = eventually(|| dev.confirmations.lock().unwrap().errors.len() == 3).await;
    assert!(reported, "the device was not told on its error topic");
    let mut ingest_errors = 0;
    while let Ok(event) = events.try_recv() {
        if matches!(event, HubEvent::IngestError { .. }) {
            ingest_errors += 1;
        }
    }
    assert_eq!(ingest_errors, 3);

    // The hub still works: a good stream after the bad payloads is analysed and stored.
    stream(&hub, "p-bad", "holter-y", &regular(75.0, 12.0)).await;
    assert!(
        metrics
            .measurements_stored
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecg_heart_rates_stamped_in_the_future_or_long_ago_are_refused_with_a_reason() {
    let dir = std::env::temp_dir().join(format!("medlink-hub-ecg-time-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let hub = start_hub(&dir, |c| c.client_id = "ecg-test-hub".into()).await;
    let metrics = &hub.shared.metrics;
    let stored = || {
        metrics
            .measurements_stored
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let hour = 3_600_000;
    // The chunks are committed and acknowledged, their heart rates refused and reported.
    let ahead = stream_at(&hub, "p-clock", "holter-f", &regular(75.0, 12.0), hour).await;
    let old = stream_at(
        &hub,
        "p-clock",
        "holter-o",
        &regular(75.0, 12.0),
        -48 * hour,
    )
    .await;
    assert_eq!(stored(), 0, "no heart rate stored");
    assert!(metrics.rejected("future_time") >= 1);
    assert!(metrics.rejected("too_old") >= 1);
    for dev in [&ahead, &old] {
        let told = eventually(|| !dev.confirmations.lock().unwrap().errors.is_empty()).await;
        assert!(told, "the device was not told on its error topic");
    }
    assert!(
        hub.shared
            .care
            .lock()
            .unwrap()
            .tracker
            .summary("p-clock")
            .is_none(),
        "the patient's NEWS2 is untouched"
    );
    // A stream stamped now is stored as before.
    stream(&hub, "p-clock", "holter-n", &regular(75.0, 12.0)).await;
    assert!(stored() >= 1);
    let _ = std::fs::remove_dir_all(&dir);
}
