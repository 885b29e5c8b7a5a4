//! `medlink bench ecg`: throughput of our streaming QRS detector (samples per second on one
//! core, and how many times real time) against a plain-Python Pan-Tompkins loop over the same
//! record, measured in the same run.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};

use super::ecg_record;
use super::python::{repo_root, venv_python};

#[derive(Args)]
pub struct EcgBenchArgs {
    /// WFDB record to run over.
    #[arg(long, default_value = "tests/data/mitbih/100")]
    record: PathBuf,
    /// Passes of our detector over the record (the best pass counts).
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Throughput {
    samples: usize,
    seconds: f64,
    beats: usize,
    samples_per_s: f64,
    times_real_time: f64,
}

impl Throughput {
    fn new(samples: usize, seconds: f64, beats: usize, rate: f64) -> Self {
        let samples_per_s = samples as f64 / seconds.max(1e-9);
        Throughput {
            samples,
            seconds,
            beats,
            samples_per_s,
            times_real_time: samples_per_s / rate,
        }
    }
}

#[derive(Serialize)]
struct Report {
    record: String,
    sample_rate_hz: f64,
    ours: Throughput,
    baseline: Throughput,
    baseline_name: &'static str,
    /// ours / baseline, samples per second.
    ratio: f64,
}

#[derive(Deserialize)]
struct BaselineOutput {
    samples: usize,
    seconds: f64,
    beats: usize,
}

pub fn run(args: EcgBenchArgs) -> anyhow::Result<()> {
    let loaded = ecg_record::load(&args.record)?;
    let rate = loaded.sample_rate();
    let lead = loaded.lead(0)?;

    let mut best = Duration::MAX;
    let mut beats = 0;
    for _ in 0..args.repeat.max(1) {
        let started = Instant::now();
        beats = std::hint::black_box(ecg::detect_all(rate, std::hint::black_box(&lead))).len();
        best = best.min(started.elapsed());
    }
    let ours = Throughput::new(lead.len(), best.as_secs_f64(), beats, rate);
    let baseline = run_baseline(&lead, rate)?;
    let report = Report {
        record: ecg_record::record_name(&args.record),
        sample_rate_hz: rate,
        ratio: ours.samples_per_s / baseline.samples_per_s,
        ours,
        baseline,
        baseline_name: "plain-Python streaming Pan-Tompkins (scripts/bench/ecg_pan_tompkins.py)",
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "record {} ({} samples at {} Hz), one core",
        report.record, report.ours.samples, rate
    );
    for (name, t) in [
        ("ours (Rust)", &report.ours),
        ("baseline (Python)", &report.baseline),
    ] {
        println!(
            "{name:>18}: {:>12.0} samples/s = {:>8.0} x real time, {} beats, {:.3} s",
            t.samples_per_s, t.times_real_time, t.beats, t.seconds
        );
    }
    println!("{:>18}: {:.1} x", "ratio", report.ratio);
    Ok(())
}

fn run_baseline(lead: &[f32], rate: f64) -> anyhow::Result<Throughput> {
    let input = std::env::temp_dir().join(format!("medlink-ecg-bench-{}.f32", std::process::id()));
    let bytes: Vec<u8> = lead
        .iter()
        .flat_map(|v| if v.is_finite() { *v } else { 0.0 }.to_le_bytes())
        .collect();
    std::fs::write(&input, bytes).with_context(|| format!("writing {}", input.display()))?;
    let script = repo_root().join("scripts/bench/ecg_pan_tompkins.py");
    let spinner = indicatif::ProgressBar::new_spinner().with_message("running the Python baseline");
    spinner.enable_steady_tick(Duration::from_millis(200));
    let output = Command::new(venv_python())
        .arg(&script)
        .arg(&input)
        .arg(rate.to_string())
        .output();
    spinner.finish_and_clear();
    let removed = std::fs::remove_file(&input);
    let output = output.with_context(|| format!("starting the baseline {}", script.display()))?;
    removed.with_context(|| format!("removing {}", input.display()))?;
    if !output.status.success() {
        bail!(
            "baseline failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let result: BaselineOutput =
        serde_json::from_slice(&output.stdout).context("reading the baseline's JSON")?;
    Ok(Throughput::new(
        result.samples,
        result.seconds,
        result.beats,
        rate,
    ))
}
