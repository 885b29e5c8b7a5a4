//! Accuracy on MIT-BIH record 100 (the copy in tests/data/mitbih): the acceptance figure.

use ecg::wfdb::{self, Record};

fn load(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../tests/data/mitbih/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("test data {path}: {e}"))
}

#[test]
fn record_100_decodes_with_matching_checksums() {
    let record = Record::decode(&load("100.hea"), &load("100.dat")).unwrap();
    assert_eq!(record.samples.len(), 650_000);
    assert_eq!(record.samples.signals[0][0], 995);
    assert_eq!(record.samples.signals[1][0], 1011);
    assert!(record.checksum_mismatches().is_empty());
    let annotations = wfdb::annotation::decode(&load("100.atr")).unwrap();
    assert_eq!(annotations.len(), 2274);
    assert_eq!(annotations.iter().filter(|a| a.is_beat()).count(), 2273);
    assert_eq!(annotations[1].sample, 77);
}

#[test]
fn detector_meets_acceptance_on_record_100() {
    let record = Record::decode(&load("100.hea"), &load("100.dat")).unwrap();
    let reference: Vec<u64> = wfdb::annotation::decode(&load("100.atr"))
        .unwrap()
        .iter()
        .filter(|a| a.is_beat())
        .map(|a| a.sample)
        .collect();
    let signal = record.physical(0).unwrap();
    let beats = ecg::detect_all(360.0, &signal);
    let detected: Vec<u64> = beats.iter().map(|b| b.sample).collect();
    let result = ecg::compare(&reference, &detected, 54);
    println!("{result:?}");
    assert!(result.sensitivity >= 0.997, "Se {}", result.sensitivity);
    assert!(result.ppv >= 0.997, "PPV {}", result.ppv);
}

#[test]
fn monitor_on_record_100_reports_heart_rate_and_raises_no_alarm() {
    let record = Record::decode(&load("100.hea"), &load("100.dat")).unwrap();
    let lead = record.physical(0).unwrap();
    let mut monitor = ecg::EcgMonitor::new(ecg::MonitorConfig::default());
    let mut rates = Vec::new();
    let mut alerts = Vec::new();
    for (sequence, samples) in lead.chunks(360).enumerate() {
        let chunk = ecg::EcgChunk {
            sequence: sequence as u64,
            first_sample_time_ms: 1_000 * sequence as i64,
            sample_rate_hz: 360.0,
            samples_mv: samples.to_vec(),
        };
        monitor.handle_chunk(&chunk);
        while let Some(event) = monitor.poll_event() {
            match event {
                ecg::EcgEvent::HeartRate { bpm, .. } => rates.push(bpm),
                other => alerts.push(other),
            }
        }
    }
    assert_eq!(alerts, vec![]);
    assert!(rates.len() > 300, "{} observations", rates.len());
    assert!(rates.iter().all(|r| (60.0..95.0).contains(r)), "{rates:?}");
}
