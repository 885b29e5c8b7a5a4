//! `medlink ecg ...`: QRS detection on WFDB records, evaluation against reference annotations,
//! noisy copies of records, and the robustness table (Se/+P against noise kind and SNR).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use ecg::noise::{self, NoiseKind};
use ecg::{Beat, Comparison, QrsDetector};
use serde::Serialize;

use super::ecg_plot::{self, Strip};
use super::ecg_record::{self, RecordOnDisk};

#[derive(Subcommand)]
pub enum EcgCommand {
    /// Detect beats: write them as CSV and draw a PNG strip with the beats marked.
    Detect(DetectArgs),
    /// Compare detected beats with the reference annotations (EC57-style 150 ms matching).
    Eval(EvalArgs),
    /// Write a noisy copy of a record (a valid WFDB record, with the annotations copied).
    Noise(NoiseArgs),
    /// Sensitivity and positive predictivity against noise kind and SNR, as a Markdown table.
    Robustness(RobustnessArgs),
}

#[derive(Args)]
pub struct RecordArgs {
    /// WFDB record path without extension, e.g. tests/data/mitbih/100.
    record: PathBuf,
    /// Which signal (lead) of the record to analyse.
    #[arg(long, default_value_t = 0)]
    signal: usize,
}

#[derive(Args)]
pub struct DetectArgs {
    #[command(flatten)]
    input: RecordArgs,
    /// Beats CSV (default out/ecg/<record>-beats.csv).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// PNG strip (default out/ecg/<record>-strip.png).
    #[arg(long)]
    png: Option<PathBuf>,
    /// Start of the strip, in seconds.
    #[arg(long, default_value_t = 0.0)]
    start: f64,
    /// Length of the strip, in seconds (10 s per row).
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
}

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    input: RecordArgs,
    /// Print JSON (tp, fn, fp, sensitivity, ppv, delays) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Baseline,
    Muscle,
    Motion,
}

impl From<Kind> for NoiseKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Baseline => NoiseKind::Baseline,
            Kind::Muscle => NoiseKind::Muscle,
            Kind::Motion => NoiseKind::Motion,
        }
    }
}

#[derive(Args)]
pub struct NoiseArgs {
    /// WFDB record path without extension.
    record: PathBuf,
    /// Signal-to-noise ratio in dB (MIT-BIH NST convention).
    #[arg(long, allow_hyphen_values = true)]
    snr: f64,
    #[arg(long, value_enum)]
    kind: Kind,
    /// Output record path without extension (writes .hea, .dat and, if there is one, .atr).
    #[arg(long)]
    out: PathBuf,
    /// Seed of the noise generator: the same seed gives the same noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Args)]
pub struct RobustnessArgs {
    #[command(flatten)]
    input: RecordArgs,
    /// SNRs to test, in dB.
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        default_value = "24,18,12,6,0,-6"
    )]
    snr: Vec<f64>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

pub fn run(command: EcgCommand) -> anyhow::Result<()> {
    match command {
        EcgCommand::Detect(args) => detect(args),
        EcgCommand::Eval(args) => eval(args),
        EcgCommand::Noise(args) => write_noisy(args),
        EcgCommand::Robustness(args) => robustness(args),
    }
}

fn samples_of(beats: &[Beat]) -> Vec<u64> {
    beats.iter().map(|b| b.sample).collect()
}

fn default_output(record: &Path, suffix: &str) -> PathBuf {
    PathBuf::from("out/ecg").join(format!("{}{suffix}", ecg_record::record_name(record)))
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn detect(args: DetectArgs) -> anyhow::Result<()> {
    let loaded = ecg_record::load(&args.input.record)?;
    let rate = loaded.sample_rate();
    let lead = loaded.lead(args.input.signal)?;
    let beats = ecg::detect_all(rate, &lead);

    let mut csv = String::from("sample,time_s,rr_ms,heart_rate_bpm,reported_after_ms,searchback\n");
    let mut previous: Option<u64> = None;
    for beat in &beats {
        let (rr, bpm) = match previous {
            Some(p) => {
                let rr_ms = (beat.sample - p) as f64 * 1000.0 / rate;
                (format!("{rr_ms:.1}"), format!("{:.1}", 60_000.0 / rr_ms))
            }
            None => (String::new(), String::new()),
        };
        let delay_ms = (beat.detected_at - beat.sample) as f64 * 1000.0 / rate;
        let time_s = beat.sample as f64 / rate;
        writeln!(
            csv,
            "{},{time_s:.3},{rr},{bpm},{delay_ms:.0},{}",
            beat.sample, beat.searchback
        )?;
        previous = Some(beat.sample);
    }
    let csv_path = args
        .csv
        .unwrap_or_else(|| default_output(&args.input.record, "-beats.csv"));
    write_file(&csv_path, csv.as_bytes())?;

    let reference = loaded
        .reference_beats(&args.input.record)
        .unwrap_or_default();
    let start_sample = (args.start.max(0.0) * rate) as usize;
    let png = ecg_plot::render(&Strip {
        signal: &lead,
        sample_rate_hz: rate,
        start_sample: start_sample.min(lead.len()),
        length: (args.seconds.clamp(1.0, 600.0) * rate) as usize,
        detected: &samples_of(&beats),
        reference: &reference,
    })?;
    let png_path = args
        .png
        .unwrap_or_else(|| default_output(&args.input.record, "-strip.png"));
    write_file(&png_path, &png)?;

    let minutes = lead.len() as f64 / rate / 60.0;
    println!(
        "{} beats in {minutes:.1} min (mean {:.0} /min); beats: {}; strip: {}",
        beats.len(),
        beats.len() as f64 / minutes.max(1e-9),
        csv_path.display(),
        png_path.display()
    );
    Ok(())
}

/// The figures `eval` prints.
#[derive(Serialize)]
struct Evaluation {
    record: String,
    signal: usize,
    reference_beats: usize,
    #[serde(flatten)]
    comparison: Comparison,
    mean_offset_ms: f64,
    /// Time from an R peak to the detector reporting it.
    mean_delay_ms: f64,
    max_delay_ms: f64,
    /// Largest delay of beats after the 2 s threshold-learning phase.
    max_delay_after_learning_ms: f64,
    searchback_beats: usize,
    /// Stated bound for ordinary beats.
    delay_bound_ms: f64,
    /// Stated bound for search-back beats, counted from the previous beat.
    searchback_delay_bound_ms: f64,
}

fn evaluate(record: &Path, signal: usize, loaded: &RecordOnDisk) -> anyhow::Result<Evaluation> {
    let rate = loaded.sample_rate();
    let reference = loaded.reference_beats(record)?;
    let beats = ecg::detect_all(rate, &loaded.lead(signal)?);
    let detector = QrsDetector::new(rate);
    let comparison = ecg::compare(&reference, &samples_of(&beats), window_samples(rate));
    let ms = |samples: f64| samples * 1000.0 / rate;
    let delay = |b: &Beat| (b.detected_at - b.sample) as f64;
    let delays: Vec<f64> = beats.iter().map(delay).collect();
    let learning = (detector.config().learning_s * rate) as u64;
    let after_learning = beats.iter().filter(|b| b.sample >= learning).map(delay);
    Ok(Evaluation {
        record: ecg_record::record_name(record),
        signal,
        reference_beats: reference.len(),
        mean_offset_ms: ms(comparison.mean_offset_samples),
        comparison,
        mean_delay_ms: ms(delays.iter().sum::<f64>() / delays.len().max(1) as f64),
        max_delay_ms: ms(delays.iter().copied().fold(0.0, f64::max)),
        max_delay_after_learning_ms: ms(after_learning.fold(0.0, f64::max)),
        searchback_beats: beats.iter().filter(|b| b.searchback).count(),
        delay_bound_ms: ms(detector.latency_samples() as f64),
        searchback_delay_bound_ms: ms(detector.worst_case_latency_samples() as f64),
    })
}

fn window_samples(rate: f64) -> u64 {
    (ecg::eval::MATCH_WINDOW_S * rate).round() as u64
}

fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let loaded = ecg_record::load(&args.input.record)?;
    let e = evaluate(&args.input.record, args.input.signal, &loaded)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(());
    }
    let c = &e.comparison;
    println!(
        "record {} signal {}: {} reference beats, 150 ms matching window",
        e.record, e.signal, e.reference_beats
    );
    println!(
        "TP {}  FN {}  FP {}",
        c.tp, c.false_negatives, c.false_positives
    );
    println!(
        "sensitivity {:.3} %  positive predictivity {:.3} %",
        100.0 * c.sensitivity,
        100.0 * c.ppv
    );
    println!(
        "detection delay: mean {:.0} ms, max {:.0} ms after the 2 s learning phase ({:.0} ms with it), {} search-back beats",
        e.mean_delay_ms, e.max_delay_after_learning_ms, e.max_delay_ms, e.searchback_beats
    );
    println!(
        "stated bound: {:.0} ms (search-back beats: {:.0} ms after the previous beat)",
        e.delay_bound_ms, e.searchback_delay_bound_ms
    );
    println!("R-peak position error: mean {:+.1} ms", e.mean_offset_ms);
    Ok(())
}

/// Beats that set the signal power: the reference annotations if any, else our detections.
fn power_beats(record: &Path, loaded: &RecordOnDisk, lead: &[f32]) -> Vec<u64> {
    loaded
        .reference_beats(record)
        .unwrap_or_else(|_| samples_of(&ecg::detect_all(loaded.sample_rate(), lead)))
}

fn noisy_lead(
    lead: &[f32],
    beats: &[u64],
    rate: f64,
    kind: NoiseKind,
    snr: f64,
    seed: u64,
) -> anyhow::Result<Vec<f32>> {
    noise::noisy_copy(lead, beats, rate, kind, snr, seed)
        .context("no measurable QRS amplitude to set the SNR against")
}

fn write_noisy(args: NoiseArgs) -> anyhow::Result<()> {
    let loaded = ecg_record::load(&args.record)?;
    let rate = loaded.sample_rate();
    let kind = NoiseKind::from(args.kind);
    let mut record = loaded.record.clone();
    for (index, spec) in loaded.record.header.signals.iter().enumerate() {
        let lead = loaded.lead(index)?;
        let beats = power_beats(&args.record, &loaded, &lead);
        let seed = args.seed.wrapping_add(index as u64);
        let noisy = noisy_lead(&lead, &beats, rate, kind, args.snr, seed)?;
        record.samples.signals[index] = noisy.iter().map(|&v| spec.to_adu(v)).collect();
    }
    record.header.comments.push(format!(
        "medlink ecg noise: kind {} snr {} dB seed {} (from {})",
        kind.name(),
        args.snr,
        args.seed,
        ecg_record::record_name(&args.record)
    ));
    ecg_record::save(&args.out, &record, loaded.annotations.as_deref())?;
    println!(
        "wrote {} ({} noise at {} dB SNR, seed {})",
        ecg_record::base_path(&args.out).display(),
        kind.name(),
        args.snr,
        args.seed
    );
    Ok(())
}

#[derive(Serialize)]
struct RobustnessRow {
    noise: &'static str,
    snr_db: Option<f64>,
    #[serde(flatten)]
    comparison: Comparison,
    /// Share of 2 s windows the signal-quality gate calls unusable ("check electrodes").
    bad_quality_windows: f64,
}

/// Share of quality-gate windows judged bad over a whole signal.
fn bad_window_share(signal: &[f32], rate: f64, saturation_mv: f32) -> f64 {
    let config = ecg::QualityConfig {
        saturation_mv: Some(saturation_mv),
        ..ecg::QualityConfig::default()
    };
    let mut gate = ecg::QualityGate::new(rate, config);
    let verdicts: Vec<ecg::Quality> = signal.iter().filter_map(|&v| gate.push(v)).collect();
    let bad = verdicts
        .iter()
        .filter(|q| **q != ecg::Quality::Good)
        .count();
    bad as f64 / verdicts.len().max(1) as f64
}

fn robustness(args: RobustnessArgs) -> anyhow::Result<()> {
    let loaded = ecg_record::load(&args.input.record)?;
    let rate = loaded.sample_rate();
    let lead = loaded.lead(args.input.signal)?;
    let reference = loaded.reference_beats(&args.input.record)?;
    let saturation = loaded.record.header.signals[args.input.signal].saturation_level();
    let row = |noise: &'static str, snr_db: Option<f64>, signal: &[f32]| {
        let detected = samples_of(&ecg::detect_all(rate, signal));
        RobustnessRow {
            noise,
            snr_db,
            comparison: ecg::compare(&reference, &detected, window_samples(rate)),
            bad_quality_windows: bad_window_share(signal, rate, saturation),
        }
    };
    let progress = indicatif::ProgressBar::new((NoiseKind::ALL.len() * args.snr.len() + 1) as u64);
    let mut rows = vec![row("none", None, &lead)];
    progress.inc(1);
    for kind in NoiseKind::ALL {
        for &snr in &args.snr {
            let noisy = noisy_lead(&lead, &reference, rate, kind, snr, args.seed)?;
            rows.push(row(kind.name(), Some(snr), &noisy));
            progress.inc(1);
        }
    }
    progress.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "| noise | SNR (dB) | Se (%) | +P (%) | TP | FN | FP | check electrodes (% of time) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let c = &row.comparison;
        let snr = row
            .snr_db
            .map_or_else(|| "clean".to_string(), |s| format!("{s}"));
        println!(
            "| {} | {snr} | {:.2} | {:.2} | {} | {} | {} | {:.1} |",
            row.noise,
            100.0 * c.sensitivity,
            100.0 * c.ppv,
            c.tp,
            c.false_negatives,
            c.false_positives,
            100.0 * row.bad_quality_windows
        );
    }
    Ok(())
}
