//! The strips without IO: synthetic ECG in one-second chunks, read by clients at their own pace.

use super::*;
use ecg::synth;

const RATE: f64 = 360.0;
const T0_MS: i64 = 1_795_000_000_000;
const STREAM: &str = "holter-1.ecg.II";

fn chunk(seq: u64, samples_mv: &[f32]) -> EcgChunk {
    EcgChunk {
        sequence: seq,
        first_sample_time_ms: T0_MS + 1000 * seq as i64,
        sample_rate_hz: RATE,
        samples_mv: samples_mv.to_vec(),
    }
}

/// `seconds` of a regular rhythm at 60 /min, the R peaks at 0.5 s, 1.5 s, ...
fn signal(seconds: f64) -> (Vec<f32>, Vec<f64>) {
    let beats = synth::regular_beats(60.0, 0.5, seconds);
    (synth::ecg(RATE, seconds, &beats, true), beats)
}

fn feed(strips: &mut EcgStrips, samples: &[f32], from_seq: u64) {
    for (k, part) in samples.chunks(RATE as usize).enumerate() {
        strips.push(STREAM, "p-1", &chunk(from_seq + k as u64, part));
    }
}

#[test]
fn a_client_gets_every_sample_and_every_beat_once_in_order() {
    let (samples, beat_times) = signal(8.0);
    let mut strips = EcgStrips::default();
    let mut cursors = BTreeMap::new();
    let (mut got, mut beats) = (Vec::new(), Vec::new());
    for (k, part) in samples.chunks(RATE as usize).enumerate() {
        strips.push(STREAM, "p-1", &chunk(k as u64, part));
        for update in strips.read(&mut cursors) {
            assert_eq!(update.first_index as usize, got.len(), "no gap, no repeat");
            let expected_ms = T0_MS + (got.len() as f64 * 1000.0 / RATE).round() as i64;
            assert_eq!(update.first_time_ms, expected_ms);
            got.extend(update.samples_mv.iter().map(|v| v.unwrap()));
            beats.extend(update.beats);
        }
        assert!(
            strips.read(&mut cursors).is_empty(),
            "nothing new, nothing sent"
        );
    }
    assert_eq!(got, samples);
    // Every beat but those within the detector's delay of the end, each near its R peak.
    assert!(beats.len() >= beat_times.len() - 1, "{beats:?}");
    for (&found, &truth) in beats.iter().zip(&beat_times) {
        let truth = (truth * RATE) as i64;
        assert!(
            (found as i64 - truth).abs() < 20,
            "beat {found} vs R peak {truth}"
        );
    }
    assert!(beats.windows(2).all(|w| w[0] < w[1]), "{beats:?}");
}

#[test]
fn a_late_client_gets_the_last_seconds_only() {
    let (samples, _) = signal(STRIP_SECONDS + 5.0);
    let mut strips = EcgStrips::default();
    feed(&mut strips, &samples, 0);
    let updates = strips.read(&mut BTreeMap::new());
    assert_eq!(updates.len(), 1);
    let kept = (STRIP_SECONDS * RATE) as usize;
    assert_eq!(updates[0].samples_mv.len(), kept);
    assert_eq!(updates[0].first_index as usize, samples.len() - kept);
    assert!(
        updates[0]
            .beats
            .iter()
            .all(|&b| b >= updates[0].first_index)
    );
}

#[test]
fn a_gap_restarts_the_run_and_a_late_chunk_is_ignored() {
    let (samples, _) = signal(3.0);
    let mut strips = EcgStrips::default();
    let mut cursors = BTreeMap::new();
    feed(&mut strips, &samples, 0);
    let first = strips.read(&mut cursors)[0].run;
    strips.push(STREAM, "p-1", &chunk(1, &samples[..10]));
    assert!(
        strips.read(&mut cursors).is_empty(),
        "an old chunk adds nothing"
    );
    strips.push(STREAM, "p-1", &chunk(7, &samples[..100]));
    let update = &strips.read(&mut cursors)[0];
    assert_ne!(update.run, first);
    assert_eq!(update.first_index, 0);
    assert_eq!(update.samples_mv.len(), 100);
    assert_eq!(update.first_time_ms, T0_MS + 7000);
}

#[test]
fn missing_samples_stay_missing() {
    let mut strips = EcgStrips::default();
    strips.push(STREAM, "p-1", &chunk(0, &[0.1, f32::NAN, 0.2]));
    let update = &strips.read(&mut BTreeMap::new())[0];
    assert_eq!(update.samples_mv, vec![Some(0.1), None, Some(0.2)]);
    assert_eq!(update.patient, "p-1");
}
