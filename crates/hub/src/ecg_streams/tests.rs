//! The ECG mapping without IO: synthetic signals in, heart-rate measurements and alert changes out.

use super::*;
use ecg::synth;
use proptest::prelude::*;

const RATE: f64 = 360.0;
const T0_MS: i64 = 1_795_000_000_000;

fn stream() -> EcgStream<'static> {
    EcgStream {
        patient: "p-1",
        device: "holter-7",
        lead: "II",
    }
}

fn payload(seq: u64, samples_mv: &[f32]) -> Vec<u8> {
    let t0 = T0_MS + 1000 * seq as i64;
    let message = EcgChunkMessage::from_mv(seq, t0, RATE, 200.0, 1024, samples_mv);
    serde_json::to_vec(&message).unwrap()
}

/// Streams `signal` as one-second chunks through the mapping.
fn analyse(signal: &[f32]) -> Vec<Analysis> {
    let mut streams = EcgStreams::default();
    signal
        .chunks(RATE as usize)
        .enumerate()
        .map(|(seq, samples)| {
            let decoded = decode(&stream(), &payload(seq as u64, samples)).unwrap();
            streams.analyse(decoded)
        })
        .collect()
}

/// The rules of the alert changes that raise (`raised`) or resolve (`!raised`) an alert.
fn rules(analyses: &[Analysis], raised: bool) -> Vec<Rule> {
    analyses
        .iter()
        .flat_map(|a| &a.alerts)
        .filter(|change| change.condition.is_some() == raised)
        .map(|change| change.rule)
        .collect()
}

fn raised_rules(analyses: &[Analysis]) -> Vec<Rule> {
    rules(analyses, true)
}

fn resolved_rules(analyses: &[Analysis]) -> Vec<Rule> {
    rules(analyses, false)
}

fn beats(bpm: f64, seconds: f64) -> Vec<f32> {
    let beats = synth::regular_beats(bpm, 0.3, seconds);
    synth::ecg_with_background(RATE, seconds, &beats, true, 11)
}

#[test]
fn ecg_heart_rates_outside_the_reading_window_are_refused_with_a_reason() {
    let window = ReadingWindow::default();
    let reasons = |now: i64| {
        let mut analyses = analyse(&beats(75.0, 40.0));
        let refused: Vec<&str> = analyses
            .iter_mut()
            .flat_map(|a| a.keep_in_window(&window, now))
            .map(|r| r.reason())
            .collect();
        let kept: usize = analyses.iter().map(|a| a.heart_rates.len()).sum();
        (kept, refused)
    };
    let (kept, refused) = reasons(T0_MS + 40_000);
    assert!(kept >= 6 && refused.is_empty(), "{kept} kept, {refused:?}");
    let (kept, refused) = reasons(T0_MS - 3_600_000);
    assert!(
        kept == 0 && refused.len() >= 6,
        "stamped an hour ahead: {refused:?}"
    );
    assert!(refused.iter().all(|&r| r == "future_time"));
    let (kept, refused) = reasons(T0_MS + 2 * 24 * 3_600_000);
    assert!(kept == 0 && refused.len() >= 6, "two days old: {refused:?}");
    assert!(refused.iter().all(|&r| r == "too_old"));
}

#[test]
fn normal_rhythm_gives_heart_rates_under_the_stream_device_and_no_alert() {
    let analyses = analyse(&beats(75.0, 40.0));
    assert_eq!(raised_rules(&analyses), vec![]);
    let rates: Vec<&Measurement> = analyses.iter().flat_map(|a| &a.heart_rates).collect();
    assert!(rates.len() >= 6, "{} heart rates", rates.len());
    for m in &rates {
        assert_eq!(
            (m.device.as_str(), m.patient.as_str()),
            ("holter-7.ecg.II", "p-1")
        );
        assert!((m.vitals.heart_rate.unwrap() - 75.0).abs() < 1.0);
        assert!(m.time_ms > T0_MS && m.time_ms <= T0_MS + 40_000);
    }
    for a in &analyses {
        for (k, m) in a.heart_rates.iter().enumerate() {
            assert_eq!(
                m.seq,
                a.chunk_seq << 16 | k as u64,
                "seq derives from the chunk"
            );
        }
    }
}

#[test]
fn bradycardia_becomes_an_alert_with_its_patient_and_severity() {
    let analyses = analyse(&beats(40.0, 40.0));
    assert_eq!(raised_rules(&analyses), vec![Rule::Bradycardia]);
    let change = analyses.iter().flat_map(|a| &a.alerts).next().unwrap();
    let condition = change.condition.as_ref().unwrap();
    assert_eq!(change.subject, "holter-7.ecg.II");
    assert_eq!(condition.patient.as_deref(), Some("p-1"));
    assert_eq!(condition.severity, 2);
    assert!(
        condition.message.contains("bradycardia"),
        "{}",
        condition.message
    );
}

#[test]
fn asystole_raises_a_pause_alert_that_resolves_when_beats_return() {
    let mut beat_times = synth::regular_beats(75.0, 0.3, 20.0);
    let last = *beat_times.last().unwrap();
    beat_times.extend(synth::regular_beats(75.0, last + 6.0, 45.0));
    let signal = synth::ecg_with_background(RATE, 45.0, &beat_times, true, 11);
    let analyses = analyse(&signal);
    assert_eq!(raised_rules(&analyses), vec![Rule::Pause]);
    assert_eq!(resolved_rules(&analyses), vec![Rule::Pause]);
    let pause = analyses.iter().flat_map(|a| &a.alerts).next().unwrap();
    assert_eq!(pause.condition.as_ref().unwrap().severity, 3);
}

#[test]
fn lead_off_says_check_electrodes_and_never_pause() {
    let mut signal = beats(75.0, 50.0);
    signal[(20.0 * RATE) as usize..(32.0 * RATE) as usize].fill(f32::NAN);
    let analyses = analyse(&signal);
    assert_eq!(raised_rules(&analyses), vec![Rule::CheckElectrodes]);
    assert_eq!(resolved_rules(&analyses), vec![Rule::CheckElectrodes]);
    let change = analyses.iter().flat_map(|a| &a.alerts).next().unwrap();
    let message = &change.condition.as_ref().unwrap().message;
    assert!(message.contains("lead off"), "{message}");
}

#[test]
fn a_redelivered_chunk_is_a_duplicate_and_yields_nothing() {
    let signal = beats(75.0, 12.0);
    let mut streams = EcgStreams::default();
    let mut last = None;
    for (seq, samples) in signal.chunks(RATE as usize).enumerate() {
        let body = payload(seq as u64, samples);
        streams.analyse(decode(&stream(), &body).unwrap());
        last = Some(body);
    }
    let again = streams.analyse(decode(&stream(), &last.unwrap()).unwrap());
    assert!(again.duplicate);
    assert!(again.heart_rates.is_empty() && again.alerts.is_empty());
}

#[test]
fn missing_chunks_are_reported() {
    let signal = beats(75.0, 10.0);
    let mut streams = EcgStreams::default();
    let chunks: Vec<&[f32]> = signal.chunks(RATE as usize).collect();
    streams.analyse(decode(&stream(), &payload(0, chunks[0])).unwrap());
    let after_gap = streams.analyse(decode(&stream(), &payload(4, chunks[4])).unwrap());
    assert_eq!(after_gap.missed_chunks, 3);
    assert!(!after_gap.duplicate);
}

#[test]
fn each_malformed_payload_has_its_reason() {
    let ok = r#"{"v":1,"seq":1,"t0_ms":0,"fs":360,"gain":200,"samples":[1,2]}"#;
    let cases: [(&str, &str); 7] = [
        ("{oops", "not_json"),
        (r#"{"v":1,"seq":1}"#, "schema"),
        (
            r#"{"v":2,"seq":1,"t0_ms":0,"fs":360,"gain":200,"samples":[1]}"#,
            "schema",
        ),
        (
            &ok.replace("\"gain\":200", "\"gain\":200,\"extra\":1"),
            "schema",
        ),
        (&ok.replace("360", "0"), "out_of_range"),
        (&ok.replace("200", "-1"), "out_of_range"),
        (&ok.replace("[1,2]", "[]"), "out_of_range"),
    ];
    for (body, reason) in cases {
        let err = decode(&stream(), body.as_bytes()).unwrap_err();
        assert_eq!(err.reason(), reason, "{body}: {err}");
    }
    let huge_seq = ok.replace("\"seq\":1", &format!("\"seq\":{}", MAX_CHUNK_SEQ + 1));
    let err = decode(&stream(), huge_seq.as_bytes()).unwrap_err();
    assert_eq!(err.reason(), "out_of_range");
    let big = vec![b' '; MAX_ECG_PAYLOAD_BYTES + 1];
    assert_eq!(decode(&stream(), &big).unwrap_err().reason(), "too_large");
    let bad_lead = EcgStream {
        lead: "II V1",
        ..stream()
    };
    assert_eq!(
        decode(&bad_lead, ok.as_bytes()).unwrap_err().reason(),
        "bad_id"
    );
    let long_device = "d".repeat(60);
    let too_long = EcgStream {
        device: &long_device,
        ..stream()
    };
    let err = decode(&too_long, ok.as_bytes()).unwrap_err();
    assert_eq!(
        err.reason(),
        "bad_id",
        "the stream id must fit 64 characters"
    );
}

proptest! {
    #[test]
    fn random_bytes_are_rejected_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut streams = EcgStreams::default();
        if let Ok(decoded) = decode(&stream(), &bytes) {
            streams.analyse(decoded);
        }
    }

    #[test]
    fn mutated_payloads_are_rejected_or_analysed_never_a_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut body = payload(3, &beats(75.0, 1.0));
        for (at, byte) in edits {
            let i = at.index(body.len());
            body[i] = byte;
        }
        let mut streams = EcgStreams::default();
        if let Ok(decoded) = decode(&stream(), &body) {
            let analysis = streams.analyse(decoded);
            prop_assert!(analysis.heart_rates.len() < 1 << 16);
        }
    }
}
