//! Rhythm flags and the signal-quality gate, end to end through `EcgMonitor`, on synthetic ECG.

use ecg::noise::{self, NoiseKind};
use ecg::synth;
use ecg::{EcgAlert, EcgChunk, EcgEvent, EcgMonitor, MonitorConfig, QualityIssue};

const RATE: f64 = 360.0;

fn trace(duration_s: f64, beats_s: &[f64], p_waves: bool) -> Vec<f32> {
    synth::ecg_with_background(RATE, duration_s, beats_s, p_waves, 11)
}

/// Feeds the signal in one-second chunks and returns every event.
fn monitor(signal: &[f32]) -> Vec<EcgEvent> {
    let mut monitor = EcgMonitor::new(MonitorConfig::default());
    let mut events = Vec::new();
    for (sequence, samples) in signal.chunks(RATE as usize).enumerate() {
        let chunk = EcgChunk {
            sequence: sequence as u64,
            first_sample_time_ms: 1_000 * sequence as i64,
            sample_rate_hz: RATE,
            samples_mv: samples.to_vec(),
        };
        monitor.handle_chunk(&chunk);
        while let Some(event) = monitor.poll_event() {
            events.push(event);
        }
    }
    events
}

fn raised(events: &[EcgEvent]) -> Vec<EcgAlert> {
    events
        .iter()
        .filter_map(|e| match e {
            EcgEvent::Alert {
                alert,
                raised: true,
                ..
            } => Some(*alert),
            _ => None,
        })
        .collect()
}

fn reasons(events: &[EcgEvent]) -> Vec<QualityIssue> {
    events
        .iter()
        .filter_map(|e| match e {
            EcgEvent::Alert {
                reason: Some(r), ..
            } => Some(*r),
            _ => None,
        })
        .collect()
}

fn heart_rates(events: &[EcgEvent]) -> Vec<f64> {
    events
        .iter()
        .filter_map(|e| match e {
            EcgEvent::HeartRate { bpm, .. } => Some(*bpm),
            _ => None,
        })
        .collect()
}

fn time_of_first(events: &[EcgEvent], wanted: EcgAlert) -> Option<i64> {
    events.iter().find_map(|e| match e {
        EcgEvent::Alert {
            alert,
            raised: true,
            time_ms,
            ..
        } if *alert == wanted => Some(*time_ms),
        _ => None,
    })
}

#[test]
fn normal_sinus_rhythm_raises_nothing_and_reports_its_rate() {
    let events = monitor(&trace(60.0, &synth::regular_beats(75.0, 0.3, 60.0), true));
    assert_eq!(raised(&events), vec![]);
    let rates = heart_rates(&events);
    assert!(rates.len() >= 10);
    assert!(rates.iter().all(|r| (r - 75.0).abs() < 1.0), "{rates:?}");
}

#[test]
fn bradycardia_is_flagged() {
    let events = monitor(&trace(40.0, &synth::regular_beats(40.0, 0.5, 40.0), true));
    assert_eq!(raised(&events), vec![EcgAlert::Bradycardia]);
    assert!(heart_rates(&events).iter().all(|r| (r - 40.0).abs() < 1.0));
}

#[test]
fn tachycardia_is_flagged() {
    let events = monitor(&trace(30.0, &synth::regular_beats(150.0, 0.3, 30.0), true));
    assert_eq!(raised(&events), vec![EcgAlert::Tachycardia]);
}

#[test]
fn a_pause_over_three_seconds_is_flagged_and_then_cleared() {
    let mut beats = synth::regular_beats(75.0, 0.3, 20.0);
    let last = *beats.last().unwrap();
    beats.extend(synth::regular_beats(75.0, last + 4.5, 40.0));
    let events = monitor(&trace(40.0, &beats, true));
    assert_eq!(raised(&events), vec![EcgAlert::Pause]);
    let at = time_of_first(&events, EcgAlert::Pause).unwrap() as f64 / 1000.0;
    assert!(
        at > last + 3.0 && at < last + 4.5 + 1.0,
        "pause raised at {at} s"
    );
    let cleared = events.iter().any(|e| {
        matches!(
            e,
            EcgEvent::Alert {
                alert: EcgAlert::Pause,
                raised: false,
                ..
            }
        )
    });
    assert!(cleared);
}

#[test]
fn a_shorter_pause_is_not_flagged() {
    let mut beats = synth::regular_beats(75.0, 0.3, 20.0);
    let last = *beats.last().unwrap();
    beats.extend(synth::regular_beats(75.0, last + 2.5, 40.0));
    assert_eq!(raised(&monitor(&trace(40.0, &beats, true))), vec![]);
}

#[test]
fn irregularly_irregular_rhythm_is_flagged_as_af_like() {
    let beats = synth::irregular_beats((0.45, 1.0), 0.3, 90.0, 5);
    let events = monitor(&trace(90.0, &beats, false));
    assert_eq!(raised(&events), vec![EcgAlert::IrregularRhythm]);
}

/// 20 s of normal rhythm, then `bad` replaces seconds 20..32, then normal again until 50 s.
fn with_bad_stretch(bad: impl Fn(f32, usize) -> f32) -> Vec<EcgEvent> {
    let mut signal = trace(50.0, &synth::regular_beats(75.0, 0.3, 50.0), true);
    let range = (20.0 * RATE) as usize..(32.0 * RATE) as usize;
    for i in range {
        signal[i] = bad(signal[i], i);
    }
    monitor(&signal)
}

fn assert_check_electrodes_only(events: &[EcgEvent], issue: QualityIssue) {
    assert_eq!(
        raised(events),
        vec![EcgAlert::CheckElectrodes],
        "{events:?}"
    );
    assert!(reasons(events).contains(&issue), "{events:?}");
    let cleared = events.iter().any(|e| {
        matches!(
            e,
            EcgEvent::Alert {
                alert: EcgAlert::CheckElectrodes,
                raised: false,
                ..
            }
        )
    });
    assert!(cleared, "signal came back but the alert stayed");
}

#[test]
fn lead_off_says_check_electrodes_not_asystole() {
    assert_check_electrodes_only(&with_bad_stretch(|_, _| f32::NAN), QualityIssue::LeadOff);
}

#[test]
fn flat_line_says_check_electrodes_not_asystole() {
    assert_check_electrodes_only(&with_bad_stretch(|_, _| 0.3), QualityIssue::FlatLine);
}

#[test]
fn saturation_says_check_electrodes() {
    let rail = |x: f32, _| (x + 7.0).min(5.0);
    assert_check_electrodes_only(&with_bad_stretch(rail), QualityIssue::Saturation);
}

#[test]
fn heavy_noise_says_check_electrodes_not_tachycardia() {
    let hiss = noise::generate(NoiseKind::Muscle, (50.0 * RATE) as usize, RATE, 21);
    let noisy = |x: f32, i: usize| x + 1.5 * hiss[i];
    assert_check_electrodes_only(&with_bad_stretch(noisy), QualityIssue::HeavyNoise);
}

#[test]
fn moderate_noise_passes_the_gate() {
    let signal = trace(40.0, &synth::regular_beats(75.0, 0.3, 40.0), true);
    let hiss = noise::generate(NoiseKind::Muscle, signal.len(), RATE, 4);
    let noisy: Vec<f32> = signal
        .iter()
        .zip(&hiss)
        .map(|(s, h)| s + 0.05 * h)
        .collect();
    assert_eq!(raised(&monitor(&noisy)), vec![]);
}

#[test]
fn repeated_chunks_are_dropped_and_gaps_restart_the_analysis() {
    let signal = trace(20.0, &synth::regular_beats(75.0, 0.3, 20.0), true);
    let mut monitor = EcgMonitor::new(MonitorConfig::default());
    let chunk = |sequence: u64| EcgChunk {
        sequence,
        first_sample_time_ms: 1_000 * sequence as i64,
        sample_rate_hz: RATE,
        samples_mv: signal[sequence as usize * 360..(sequence as usize + 1) * 360].to_vec(),
    };
    assert_eq!(monitor.handle_chunk(&chunk(0)), ecg::ChunkOutcome::Accepted);
    assert_eq!(
        monitor.handle_chunk(&chunk(0)),
        ecg::ChunkOutcome::Duplicate
    );
    assert_eq!(monitor.handle_chunk(&chunk(3)), ecg::ChunkOutcome::Accepted);
    let mut events = Vec::new();
    while let Some(event) = monitor.poll_event() {
        events.push(event);
    }
    assert!(events.contains(&EcgEvent::Gap {
        time_ms: 3_000,
        missed_chunks: 2
    }));
}
