//! `medlink sim ecg`: streams one lead of a WFDB record to the hub as ECG chunks on
//! `medlink/v1/ecg/{patient}/{device}/{lead}`, at real time or faster, optionally with electrode
//! faults (lead off, flat line) so "check electrodes" can be seen raised and resolved.

use super::ecg_record;
use anyhow::{Context, bail, ensure};
use clap::Args;
use ecg::EcgChunkMessage;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct EcgSimArgs {
    /// WFDB record (path without extension), e.g. tests/data/mitbih/100.
    #[arg(long)]
    record: PathBuf,
    /// Patient id.
    #[arg(long)]
    patient: String,
    /// Device id (its status and last will go on medlink/v1/devices/{device}/status).
    #[arg(long)]
    device: String,
    #[command(flatten)]
    login: super::sim::DeviceLogin,
    /// Lead name in the topic (default: the signal's description, e.g. MLII).
    #[arg(long)]
    lead: Option<String>,
    /// Signal index in the record.
    #[arg(long, default_value_t = 0)]
    signal: usize,
    /// Where to start in the record, seconds.
    #[arg(long, default_value_t = 0.0)]
    start: f64,
    /// How many seconds to stream (default: to the end of the record).
    #[arg(long)]
    seconds: Option<f64>,
    /// Signal seconds per real second (1 = real time).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Milliseconds of signal per chunk.
    #[arg(long, default_value_t = 1000)]
    chunk_ms: u32,
    /// Broker to publish to.
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    mqtt: String,
    /// Electrode fault: KIND@START[+DURATION] with KIND lead-off or flat, times in seconds of
    /// streamed signal (default duration 10 s), e.g. lead-off@30s or flat@60+8. Repeatable.
    #[arg(long)]
    fault: Vec<String>,
}

/// What goes wrong with the electrodes during a fault.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FaultKind {
    /// No samples (`null` on the wire): the device's lead-off marker.
    LeadOff,
    /// The amplifier output stuck at its baseline.
    Flat,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Fault {
    kind: FaultKind,
    start_s: f64,
    duration_s: f64,
}

fn seconds(text: &str) -> anyhow::Result<f64> {
    let value: f64 = text
        .trim_end_matches('s')
        .parse()
        .with_context(|| format!("{text:?} is not a number of seconds"))?;
    ensure!(value.is_finite() && value >= 0.0, "{text:?} must be >= 0 s");
    Ok(value)
}

fn parse_fault(text: &str) -> anyhow::Result<Fault> {
    let (kind, when) = text
        .split_once('@')
        .with_context(|| format!("fault {text:?}: expected KIND@START[+DURATION]"))?;
    let kind = match kind {
        "lead-off" => FaultKind::LeadOff,
        "flat" => FaultKind::Flat,
        other => bail!("fault kind {other:?}: expected lead-off or flat"),
    };
    let (start, duration) = when.split_once('+').unwrap_or((when, "10"));
    let (start_s, duration_s) = (seconds(start)?, seconds(duration)?);
    ensure!(
        duration_s > 0.0,
        "fault {text:?}: the duration must be positive"
    );
    Ok(Fault {
        kind,
        start_s,
        duration_s,
    })
}

/// Applies the faults to samples (mV) that start `offset_s` into the stream.
fn apply_faults(samples: &mut [f32], offset_s: f64, rate: f64, faults: &[Fault]) {
    for (i, sample) in samples.iter_mut().enumerate() {
        let t = offset_s + i as f64 / rate;
        let active = faults
            .iter()
            .find(|f| t >= f.start_s && t < f.start_s + f.duration_s);
        match active.map(|f| f.kind) {
            Some(FaultKind::LeadOff) => *sample = f32::NAN,
            Some(FaultKind::Flat) => *sample = 0.0,
            None => {}
        }
    }
}

/// A lead name usable in a topic: the signal description with anything but `A-Z a-z 0-9 . _ -` dropped.
fn lead_name(description: &str) -> String {
    let name: String = description
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(16)
        .collect();
    if name.is_empty() {
        "ECG".to_string()
    } else {
        name
    }
}

pub async fn run(args: EcgSimArgs) -> anyhow::Result<()> {
    ensure!(
        args.speed > 0.0 && args.speed.is_finite(),
        "--speed must be positive"
    );
    ensure!(
        (10..=60_000).contains(&args.chunk_ms),
        "--chunk-ms must be 10-60000"
    );
    let faults: Vec<Fault> = args
        .fault
        .iter()
        .map(|f| parse_fault(f))
        .collect::<anyhow::Result<_>>()?;
    let on_disk = ecg_record::load(&args.record)?;
    let rate = on_disk.sample_rate();
    let spec = on_disk
        .record
        .header
        .signals
        .get(args.signal)
        .with_context(|| format!("the record has no signal {}", args.signal))?
        .clone();
    let lead = args
        .lead
        .clone()
        .unwrap_or_else(|| lead_name(&spec.description));
    let signal = on_disk.lead(args.signal)?;
    let first = ((args.start * rate).round() as usize).min(signal.len());
    let length = args
        .seconds
        .map_or(signal.len(), |s| (s * rate).round() as usize);
    let samples = &signal[first..(first + length).min(signal.len())];
    ensure!(!samples.is_empty(), "nothing to stream after --start");
    let per_chunk = ((f64::from(args.chunk_ms) * rate / 1000.0).round() as usize).max(1);
    let chunks: Vec<&[f32]> = samples.chunks(per_chunk).collect();

    let (host, port) = match hub::config::parse_mqtt_url(&args.mqtt).map_err(anyhow::Error::msg)? {
        hub::config::MqttSource::External { host, port } => (host, port),
        hub::config::MqttSource::Embedded(addr) => (addr.ip().to_string(), addr.port()),
    };
    let ids = [(args.device.clone(), args.patient.clone())];
    let password = args.login.passwords(&ids)?.remove(0);
    let device =
        hub::device::Device::connect(&host, port, &args.device, &password, &args.patient).await?;
    let topic = hub::topics::ecg(&args.patient, &args.device, &lead);
    device.listen(format!("{topic}/ack")).await?;
    device.listen(format!("{topic}/error")).await?;
    println!(
        "streaming {} s of {} signal {} ({lead}, {rate} Hz) to {topic} at {}x real time",
        samples.len() as f64 / rate,
        ecg_record::record_name(&args.record),
        args.signal,
        args.speed
    );

    let bar = indicatif::ProgressBar::new(chunks.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} chunks {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = tokio::time::Instant::now();
    // Faster than real time, the recording is stamped to end when it has been sent, so no chunk
    // is stamped ahead of the wall clock (the hub refuses readings beyond its future skew).
    let total_ms = samples.len() as f64 / rate * 1000.0;
    let t0_ms =
        super::sim::wall_ms() - (total_ms * (1.0 - 1.0 / args.speed.max(1.0))).round() as i64;
    for (index, chunk) in chunks.iter().enumerate() {
        let offset_s = (index * per_chunk) as f64 / rate;
        tokio::time::sleep_until(started + Duration::from_secs_f64(offset_s / args.speed)).await;
        let mut mv = chunk.to_vec();
        apply_faults(&mut mv, offset_s, rate, &faults);
        let seq = index as u64 + 1;
        let t0 = t0_ms + (offset_s * 1000.0).round() as i64;
        let message = EcgChunkMessage::from_mv(seq, t0, rate, spec.gain, spec.baseline, &mv);
        device
            .publish_sequenced(topic.clone(), seq, serde_json::to_vec(&message)?)
            .await?;
        let (pubacked, committed) = device.counts();
        bar.set_position(index as u64 + 1);
        bar.set_message(format!(
            "PUBACK'd {pubacked}, committed by the hub {committed}"
        ));
    }
    let total = chunks.len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while device.counts().1 < total && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (pubacked, committed) = device.counts();
    bar.finish_with_message(format!(
        "PUBACK'd {pubacked}, committed by the hub {committed}"
    ));
    let errors = device
        .confirmations
        .lock()
        .map(|c| c.errors.clone())
        .unwrap_or_default();
    device.disconnect().await;
    for error in &errors {
        eprintln!("hub rejected a chunk: {error}");
    }
    println!("sent {total} chunks, {committed} committed by the hub");
    ensure!(
        committed >= total,
        "the hub confirmed {committed} of {total} chunks"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_and_apply() {
        let fault = parse_fault("lead-off@30s").unwrap();
        assert_eq!(
            fault,
            Fault {
                kind: FaultKind::LeadOff,
                start_s: 30.0,
                duration_s: 10.0
            }
        );
        assert_eq!(parse_fault("flat@2+1.5").unwrap().duration_s, 1.5);
        for bad in ["lead-off", "sparks@1", "flat@x", "flat@1+0", "flat@-3"] {
            assert!(parse_fault(bad).is_err(), "{bad}");
        }
        let mut samples = vec![1.0f32; 10];
        let faults = [
            parse_fault("flat@2+1").unwrap(),
            parse_fault("lead-off@4+2").unwrap(),
        ];
        apply_faults(&mut samples, 1.0, 2.0, &faults);
        // t = 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5
        assert_eq!(&samples[..2], &[1.0, 1.0]);
        assert_eq!(&samples[2..4], &[0.0, 0.0]);
        assert_eq!(&samples[4..6], &[1.0, 1.0]);
        assert!(samples[6..].iter().all(|s| s.is_nan()));
    }

    #[test]
    fn lead_names_fit_topics() {
        assert_eq!(lead_name("MLII"), "MLII");
        assert_eq!(lead_name("V 5/x"), "V5x");
        assert_eq!(lead_name("+/#"), "ECG");
    }
}
