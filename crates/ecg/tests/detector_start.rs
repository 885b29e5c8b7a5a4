//! The detector's first samples: a record that starts away from zero (a DC offset, as every
//! record read in physical units from an ADC baseline does) gives no beat at its first sample
//! unless one is there, and the start does not spoil the thresholds for the beats that follow.

use ecg::synth;

fn detected(rate: f64, signal: &[f32]) -> Vec<u64> {
    ecg::detect_all(rate, signal)
        .iter()
        .map(|b| b.sample)
        .collect()
}

#[test]
fn no_beat_at_the_first_sample_of_a_record_that_starts_with_an_offset() {
    for rate in [250.0, 360.0, 500.0] {
        for offset in [-2.0f32, -0.4, 0.6, 3.0] {
            let beats = synth::regular_beats(70.0, 0.7, 29.0);
            let signal: Vec<f32> = synth::ecg_with_background(rate, 30.0, &beats, true, 7)
                .iter()
                .map(|v| v + offset)
                .collect();
            let found = detected(rate, &signal);
            assert!(
                found.iter().all(|&s| s as f64 > 0.5 * rate),
                "{rate} Hz, offset {offset} mV: beats at {:?}",
                &found[..found.len().min(3)]
            );
            let reference: Vec<u64> = beats.iter().map(|t| (t * rate).round() as u64).collect();
            let c = ecg::compare(&reference, &found, (0.15 * rate) as u64);
            assert_eq!(
                (c.false_negatives, c.false_positives),
                (0, 0),
                "{rate} Hz, offset {offset} mV"
            );
        }
    }
}

#[test]
fn a_beat_at_the_very_start_is_still_found() {
    let rate = 360.0;
    let beats = synth::regular_beats(70.0, 0.03, 29.0);
    let signal: Vec<f32> = synth::ecg(rate, 30.0, &beats, false)
        .iter()
        .map(|v| v + 1.0)
        .collect();
    let found = detected(rate, &signal);
    assert!(
        found
            .first()
            .is_some_and(|&s| s <= (0.03 * rate) as u64 + 10),
        "first beats {:?}",
        &found[..found.len().min(3)]
    );
}
