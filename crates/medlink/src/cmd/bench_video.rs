//! `medlink bench video`: the live endoscope video from capture at the station to paint in a real
//! browser, per network profile. A real station (servo thread, camera thread: render, H.264 encode)
//! and a real console (1 kHz session, video feed, `/ws/video`) run in this process with one clock
//! zero, joined through the netem relay; headless chromium (Playwright from the venv, driving
//! Debian's chromium) plays `web/console/video.js` on a bench page. The master input is a square
//! wave (a step every `--step-interval-s`), so each step is a motion whose first painted frame
//! can be found. Reported: glass-to-glass (capture → painted) and motion-to-photon (the console
//! sending the first command of a master step → the first painted frame whose pictured tip moved
//! 0.1 mm, a pixel), p50/p99, the link's RTT, frames sent/dropped/late, encode and decode time, and control
//! latency (console → supervisor applied) in a run without video and in the run with it.

use super::python::venv_python;
use anyhow::{Context, bail};
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use clap::Args;
use console::ConsoleConfig;
use console::config::InputConfig;
use console::video::VideoFeed;
use link::relay::{Relay, RelayConfig};
use proto::Datagram;
use serde::Deserialize;
use serde_json::json;
use station::camera::CameraSettings;
use station::{StationConfig, StationHandle};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use teleop::stats::AtomicHistogram;
use teleop::{Percentiles, StationInput, StationOutput, Tap};

const PAGE: &str = include_str!("bench_video_page.html");
const VIDEO_JS: &str = include_str!("../../../../web/console/video.js");
const DRIVER: &str = include_str!("bench_video.py");
/// Control latencies up to this many µs are kept exactly.
const HISTOGRAM_US: usize = 2_000_000;
/// The master's step (m; the tip moves `scale` times this, 5 mm at the default 0.2).
const MASTER_STEP_M: f64 = 0.025;
/// A pictured tip this far (µm) from where it was before the step shows the motion: 0.1 mm is
/// about 1.3 pixels at 720p where the default camera sees the tip (7 cm away, 70° wide).
const MOVED_UM: f64 = 100.0;
/// Motion-to-photon less each step's own arm response (docs/video.md).
const LESS_ARM_KEY: &str = "motion_to_photon_less_arm_response_ms";
/// Master steps come within ±this fraction of `--step-interval-s` of each other.
const STEP_JITTER: f64 = 0.2;
/// The step schedule's seed (xor the run's number: each run of a profile has its own schedule).
const STEP_SEED: u64 = 0x5EED_0016;
/// A command that moves after the target was this still (µs) starts a step: the tremor filter
/// has settled to under 5 µm per command about 250 ms after a step.
const STEP_QUIET_US: i64 = 200_000;
/// The console and the page start before the measured seconds (chromium takes 2-3 s to start,
/// longer on a loaded machine; steps before the page's first frame are not measured).
const WARM_UP_S: f64 = 5.0;

#[derive(Args)]
pub struct BenchVideoArgs {
    /// Network profiles (comma-separated): lan, 5g-urllc, 5g-embb, longhaul-4000km, ...
    #[arg(long, default_value = "lan,longhaul-4000km", value_delimiter = ',')]
    profile: Vec<String>,
    /// Seconds of video per run (each profile runs once without video, once with it).
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    #[arg(long, default_value_t = 1280)]
    width: u16,
    #[arg(long, default_value_t = 720)]
    height: u16,
    /// Capture rate: the station camera's default, 30 (the 720p30); at 30 fps the wait
    /// for the next frame is 16.7 ms on average, at 60 fps 8.3 (docs/benchmarks.md has both).
    #[arg(long, default_value_t = 30.0)]
    fps: f64,
    /// The camera thread's nice value (0-19; the station's default is 10).
    #[arg(long, default_value_t = station::camera::DEFAULT_THREAD_NICE)]
    camera_nice: i32,
    /// Mean seconds between master steps (each interval drawn within ±20 % of it, so the steps
    /// fall at every phase of the camera's frame period); at least 0.6 (the tremor filter
    /// settles between steps).
    #[arg(long, default_value_t = 0.7)]
    step_interval_s: f64,
    /// The console's tremor filter cut-off (Hz; the console's default). Its delay is part of
    /// motion-to-photon; a higher cut-off shows how much.
    #[arg(long, default_value_t = 6.0)]
    tremor_cutoff_hz: f64,
    /// The browser's nice value (0-19). A real console's browser runs on the surgeon's machine,
    /// not beside the station and the link; on one machine it runs below them (0: as is).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=19))]
    browser_nice: u8,
    /// Leave the netem relay's threads at normal priority. By default they run in real time,
    /// just below the servo and network threads: the emulated network stands for links and
    /// routers, which do not wait for this machine's cores behind the browser and the encoder.
    #[arg(long)]
    relay_normal_priority: bool,
    /// The chromium to drive (default: chromium on PATH; bash scripts/setup-browser.sh).
    #[arg(long)]
    chromium: Option<PathBuf>,
    /// Save a screenshot of the page per profile into this directory.
    #[arg(long)]
    screenshots: Option<PathBuf>,
    /// Runs per profile (each without video, then with it); motion-to-photon is pooled over
    /// every run's steps and each run's p50 is reported.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    runs: u32,
    /// The station supervisor's survival time (ms): no valid command for this long while
    /// ENGAGED puts the arm in HOLD (default: the supervisor's, 50 ms).
    #[arg(long)]
    survival_ms: Option<f64>,
    /// Skip the run without video (no control-latency comparison).
    #[arg(long)]
    no_baseline: bool,
    /// Leave the camera's capture phase alone (no display-locked capture): frames reach the
    /// page at whatever phase of the display's refresh the run starts with.
    #[arg(long)]
    no_pacing: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// One master step as the station saw it, every time on the shared clock (µs since its zero):
/// when the console sent the step's first command, when the station's network edge received it,
/// when the servo thread handled it, when the supervisor first applied a command of the step,
/// and when the measured tool tip first stood `MOVED_UM` from where it was before the step.
#[derive(Debug, Clone, Copy, Default)]
struct StepTimes {
    sent_us: i64,
    received_us: i64,
    handled_us: i64,
    applied_us: Option<i64>,
    /// The first command whose target stood `MOVED_UM` from the target before the step was
    /// handled (the console's tremor filter had let that much of the step through).
    target_moved_us: Option<i64>,
    tip_moved_us: Option<i64>,
    /// The supervisor's state (its wire code) in the last state report before the step.
    state_before: u8,
    /// A state report between the step and the tip's move said the arm was not ENGAGED (a
    /// hold: the step waited for the next engage).
    held_during: bool,
}

impl StepTimes {
    /// The arm was ENGAGED before the step and stayed so until the tip moved.
    fn engaged_throughout(&self) -> bool {
        self.state_before == proto::SupervisorStateCode::Engaged as u8 && !self.held_during
    }
}

/// Watches the station core's entry point: control latency to apply, and each master step (the
/// first command that moved after the target had been still) with its times through the station.
struct StepTap {
    applied: Arc<AtomicHistogram>,
    /// The same commands' console send → the station's network edge.
    to_edge: Arc<AtomicHistogram>,
    /// The same commands' network edge → the servo tick that handled them (the phase between
    /// the console's sends and the servo's ticks, and the servo thread's lateness).
    to_tick: Arc<AtomicHistogram>,
    /// The command being handled: seq, console send and edge receipt times (µs).
    pending: Option<(u64, i64, i64)>,
    steps: Arc<Mutex<Vec<StepTimes>>>,
    last_target: Option<[f64; 3]>,
    last_move_us: i64,
    /// The measured tip and supervisor state of the newest state report.
    last_tip: Option<[f64; 3]>,
    last_state: u8,
    /// The tip before the step being followed (until it moved).
    tip_before: Option<[f64; 3]>,
    /// The commanded target before the step being followed (until a command moved it
    /// `MOVED_UM`).
    target_before: Option<[f64; 3]>,
}

impl StepTap {
    fn update(&self, f: impl FnOnce(&mut StepTimes)) {
        if let Ok(mut steps) = self.steps.try_lock()
            && let Some(step) = steps.last_mut()
        {
            f(step);
        }
    }
}

fn distance_m(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|i| (a[i] - b[i]).powi(2)).sum::<f64>().sqrt()
}

impl Tap<StationInput, StationOutput> for StepTap {
    fn input(&mut self, now: Duration, input: &StationInput) {
        self.pending = None;
        if let StationInput::Datagram {
            datagram: Datagram::Control(cmd),
            received_at,
            ..
        } = input
        {
            self.pending = Some((cmd.seq, cmd.sent_at_us, received_at.as_micros() as i64));
            let target = cmd.target.position_m;
            if let Some(before) = self.target_before
                && distance_m(target, before) >= MOVED_UM * 1e-6
            {
                self.target_before = None;
                let at = now.as_micros() as i64;
                self.update(|step| step.target_moved_us = Some(at));
            }
            if let Some(last) = self.last_target
                && distance_m(target, last) > 5e-6
            {
                if cmd.sent_at_us - self.last_move_us > STEP_QUIET_US
                    && let Ok(mut steps) = self.steps.try_lock()
                {
                    steps.push(StepTimes {
                        sent_us: cmd.sent_at_us,
                        received_us: received_at.as_micros() as i64,
                        handled_us: now.as_micros() as i64,
                        state_before: self.last_state,
                        ..StepTimes::default()
                    });
                    self.tip_before = self.last_tip;
                    self.target_before = self.last_target;
                }
                self.last_move_us = cmd.sent_at_us;
            }
            self.last_target = Some(target);
        }
    }

    fn output(&mut self, now: Duration, output: &StationOutput) {
        match output {
            StationOutput::Verdict { seq, verdict } => {
                if let Some((pending, sent_us, received_us)) = self.pending
                    && *seq == pending
                    && verdict == "applied"
                {
                    self.applied.record_us(now.as_micros() as i64 - sent_us);
                    self.to_edge.record_us(received_us - sent_us);
                    self.to_tick.record_us(now.as_micros() as i64 - received_us);
                    let at = now.as_micros() as i64;
                    self.update(|step| {
                        if step.applied_us.is_none() {
                            step.applied_us = Some(at);
                        }
                    });
                }
            }
            StationOutput::Datagram {
                datagram: Datagram::State(state),
                ..
            } => {
                let tip = state.tip.position_m;
                self.last_tip = Some(tip);
                self.last_state = state.supervisor_state;
                if let Some(before) = self.tip_before {
                    if distance_m(tip, before) >= MOVED_UM * 1e-6 {
                        self.tip_before = None;
                        let at = state.station_time_us;
                        self.update(|step| step.tip_moved_us = Some(at));
                    } else if state.supervisor_state != proto::SupervisorStateCode::Engaged as u8 {
                        self.update(|step| step.held_during = true);
                    }
                }
            }
            _ => {}
        }
    }
}

/// One painted frame as the page recorded it (web/console/video.js).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Painted {
    seq: f64,
    capture_unix_us: f64,
    /// When the console had the frame from the station.
    received_unix_us: f64,
    /// When the page had it from the console's socket.
    arrived_unix_us: f64,
    decoded_unix_us: f64,
    /// Drawn on the canvas (drawImage returned).
    drawn_unix_us: f64,
    painted_unix_us: f64,
    decode_ms: f64,
    tip_um: [f64; 3],
}

#[derive(Debug, Deserialize)]
struct PageReport {
    frames: Vec<Painted>,
    received: u64,
    decoded: u64,
    painted: u64,
    errors: Vec<String>,
    codec: Option<String>,
    console_errors: Vec<String>,
}

/// What one run measured.
struct RunResult {
    control_applied_us: Percentiles,
    /// The applied commands' console send → the station's network edge (console, link, relay).
    control_to_edge_us: Percentiles,
    /// The applied commands' network edge → the servo tick that handled them.
    control_to_tick_us: Percentiles,
    /// The console's control-loop phase to the servo's ticks (µs).
    control_phase_us: u64,
    /// The relay's threads ran in real time.
    relay_realtime: bool,
    /// What the supervisor did: time per state, ENGAGED -> HOLD by reason, dropped commands.
    supervisor: serde_json::Value,
    rtt_ms: Option<f64>,
    video: Option<serde_json::Value>,
}

pub fn run(args: BenchVideoArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.seconds >= 2.0, "--seconds must be at least 2");
    anyhow::ensure!(
        args.step_interval_s >= 0.6,
        "--step-interval-s must be at least 0.6 (the tremor filter settles between steps)"
    );
    let chromium = match &args.chromium {
        Some(path) => path.clone(),
        None => which("chromium")
            .or_else(|| which("chromium-browser"))
            .context(
                "no chromium on PATH: run bash scripts/setup-browser.sh, or pass --chromium",
            )?,
    };
    if let Some(dir) = &args.screenshots {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut profiles = Vec::new();
    for profile in &args.profile {
        let mut runs = Vec::new();
        for run in 1..=args.runs {
            if !args.json {
                eprintln!(
                    "{profile}, run {run} of {}: {} s without video, then {} s with it ...",
                    args.runs, args.seconds, args.seconds
                );
            }
            let out = measure_profile(&args, profile, &chromium, run)?;
            if !args.json {
                print_profile(&out);
            }
            runs.push(out);
        }
        let mut out = pool_runs(runs);
        // Every frame's glass-to-glass is summarised above; the list is too long to print.
        if let Some(samples) = out["samples_ms"].as_object_mut() {
            samples.remove("glass_to_glass");
        }
        if !args.json && args.runs > 1 {
            print_pooled(&out);
        }
        profiles.push(out);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "width": args.width, "height": args.height, "fps": args.fps,
                "camera_nice": args.camera_nice, "browser_nice": args.browser_nice,
                "survival_ms": args.survival_ms, "capture_pacing": !args.no_pacing,
                "seconds": args.seconds, "tremor_cutoff_hz": args.tremor_cutoff_hz,
                "profiles": profiles,
            }))?
        );
    }
    Ok(())
}

/// One run of a profile: without video (unless --no-baseline), then with it.
fn measure_profile(
    args: &BenchVideoArgs,
    profile: &str,
    chromium: &PathBuf,
    run: u32,
) -> anyhow::Result<serde_json::Value> {
    let baseline = if args.no_baseline {
        None
    } else {
        Some(run_once(args, profile, None, run)?)
    };
    let with_video = run_once(args, profile, Some(chromium), run)?;
    let ratio = baseline
        .as_ref()
        .map(|b| with_video.control_applied_us.p99 / b.control_applied_us.p99.max(1.0));
    let edge_ratio = baseline
        .as_ref()
        .map(|b| with_video.control_to_edge_us.p99 / b.control_to_edge_us.p99.max(1.0));
    let pct = |p: &Percentiles| json!({"p50": p.p50 / 1e3, "p99": p.p99 / 1e3, "count": p.count});
    let mut out = with_video.video.unwrap_or_else(|| json!({}));
    out["profile"] = json!(profile);
    out["rtt_ms"] = json!(with_video.rtt_ms);
    out["relay_realtime"] = json!(with_video.relay_realtime);
    out["supervisor"] = json!({
        "video_off": baseline.as_ref().map(|b| b.supervisor.clone()),
        "video_on": with_video.supervisor,
    });
    out["hold_fraction"] = with_video.supervisor["hold_fraction"].clone();
    out["control_ms"] = json!({
        "video_off": baseline.as_ref().map(|b| pct(&b.control_applied_us)),
        "video_on": pct(&with_video.control_applied_us),
        "p99_ratio": ratio,
        // The console's control loop's phase to the servo's ticks, the same in both runs.
        "control_phase_us": with_video.control_phase_us,
        // Of which console send → the station's network edge (the console, the link, the relay:
        // what `bench link --with-bulk` measures) ...
        "to_station_edge": {
            "video_off": baseline.as_ref().map(|b| pct(&b.control_to_edge_us)),
            "video_on": pct(&with_video.control_to_edge_us),
            "p99_ratio": edge_ratio,
        },
        // ... and the network edge → the servo tick that handled it.
        "edge_to_servo_tick": {
            "video_off": baseline.as_ref().map(|b| pct(&b.control_to_tick_us)),
            "video_on": pct(&with_video.control_to_tick_us),
        },
    });
    set_goal(&mut out);
    Ok(out)
}

/// The goal: motion-to-photon p50 at most the RTT + 50 ms.
fn set_goal(out: &mut serde_json::Value) {
    if let (Some(rtt), Some(m2p)) = (
        out["rtt_ms"].as_f64(),
        out["motion_to_photon_ms"]["p50"].as_f64(),
    ) {
        out["goal_motion_to_photon_p50_ms"] = json!(rtt + 50.0);
        out["goal_met"] = json!(m2p <= rtt + 50.0);
        if let Some(less_arm) = out[LESS_ARM_KEY]["p50"].as_f64() {
            out["goal_less_arm_response_met"] = json!(less_arm <= rtt + 50.0);
        }
    }
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    (!values.is_empty()).then(|| values[values.len() / 2])
}

/// Several runs of one profile as one: the first run's figures, with motion-to-photon and
/// input-to-capture over every run's steps, the median RTT, and each run's p50s and control
/// ratio under `runs`. One run is returned as it is.
fn pool_runs(mut runs: Vec<serde_json::Value>) -> serde_json::Value {
    if runs.len() == 1 {
        return runs.remove(0);
    }
    let samples = |key: &str| -> Vec<f64> {
        runs.iter()
            .filter_map(|r| r["samples_ms"][key].as_array())
            .flatten()
            .filter_map(|v| v.as_f64())
            .collect()
    };
    let per_run = |f: &dyn Fn(&serde_json::Value) -> serde_json::Value| {
        runs.iter().map(f).collect::<Vec<_>>()
    };
    let mut out = runs[0].clone();
    out["motion_to_photon_ms"] = percentiles_ms(samples("motion_to_photon"));
    out["input_to_capture_ms"] = percentiles_ms(samples("input_to_capture"));
    out["motion_to_photon_engaged_ms"] = percentiles_ms(samples("motion_to_photon_engaged"));
    out[LESS_ARM_KEY] = percentiles_ms(samples("motion_to_photon_less_arm_response"));
    out["glass_to_glass_ms"] = percentiles_ms(samples("glass_to_glass"));
    let (parts, parts_engaged, _) = StepParts::pooled(&runs).summary();
    out["motion_to_photon_parts_ms"] = parts;
    out["motion_to_photon_parts_engaged_ms"] = parts_engaged;
    out["steps_not_engaged_throughout"] = json!(
        runs.iter()
            .filter_map(|r| r["steps_not_engaged_throughout"].as_u64())
            .sum::<u64>()
    );
    out["steps_total"] = json!(
        runs.iter()
            .filter_map(|r| r["steps_total"].as_u64())
            .sum::<u64>()
    );
    out["samples_ms"] = json!({
        "motion_to_photon": samples("motion_to_photon"),
        "motion_to_photon_engaged": samples("motion_to_photon_engaged"),
        "motion_to_photon_less_arm_response": samples("motion_to_photon_less_arm_response"),
        "input_to_capture": samples("input_to_capture"),
    });
    out["rtt_ms"] = json!(median(
        runs.iter().filter_map(|r| r["rtt_ms"].as_f64()).collect()
    ));
    out["runs"] = json!({
        "count": runs.len(),
        "rtt_ms": per_run(&|r| r["rtt_ms"].clone()),
        "motion_to_photon_p50_ms": per_run(&|r| r["motion_to_photon_ms"]["p50"].clone()),
        "motion_to_photon_p99_ms": per_run(&|r| r["motion_to_photon_ms"]["p99"].clone()),
        "input_to_capture_p50_ms": per_run(&|r| r["input_to_capture_ms"]["p50"].clone()),
        "glass_to_glass_p50_ms": per_run(&|r| r["glass_to_glass_ms"]["p50"].clone()),
        "steps": per_run(&|r| r["motion_to_photon_ms"]["count"].clone()),
        "motion_to_photon_engaged_p50_ms": per_run(&|r| r["motion_to_photon_engaged_ms"]["p50"].clone()),
        "motion_to_photon_less_arm_response_p50_ms": per_run(&|r| r[LESS_ARM_KEY]["p50"].clone()),
        "control_p99_off_ms": per_run(&|r| r["control_ms"]["video_off"]["p99"].clone()),
        "control_p99_on_ms": per_run(&|r| r["control_ms"]["video_on"]["p99"].clone()),
        "control_p99_ratio": per_run(&|r| r["control_ms"]["p99_ratio"].clone()),
        "control_phase_us": per_run(&|r| r["control_ms"]["control_phase_us"].clone()),
        "control_to_edge_p99_ratio": per_run(&|r| r["control_ms"]["to_station_edge"]["p99_ratio"].clone()),
        "hold_fraction": per_run(&|r| r["hold_fraction"].clone()),
        "steps_not_engaged_throughout": per_run(&|r| r["steps_not_engaged_throughout"].clone()),
        "goal_met": per_run(&|r| r["goal_met"].clone()),
    });
    let ratios: Vec<f64> = runs
        .iter()
        .filter_map(|r| r["control_ms"]["p99_ratio"].as_f64())
        .collect();
    out["control_ms"]["p99_ratio_median"] = json!(median(ratios));
    out["hold_fraction"] = json!(median(
        runs.iter()
            .filter_map(|r| r["hold_fraction"].as_f64())
            .collect()
    ));
    set_goal(&mut out);
    out
}

fn print_pooled(out: &serde_json::Value) {
    println!(
        "profile {}, {} runs pooled: motion-to-photon p50 {:.1} ms over {} steps (goal <= {:.1} ms: {}); per run p50 {}; control p99 ratio per run {}",
        out["profile"].as_str().unwrap_or("?"),
        out["runs"]["count"],
        out["motion_to_photon_ms"]["p50"]
            .as_f64()
            .unwrap_or(f64::NAN),
        out["motion_to_photon_ms"]["count"],
        out["goal_motion_to_photon_p50_ms"]
            .as_f64()
            .unwrap_or(f64::NAN),
        out["goal_met"],
        out["runs"]["motion_to_photon_p50_ms"],
        out["runs"]["control_p99_ratio"],
    );
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// One run through the relay: with a page (`page`: the chromium to drive) the camera is on.
fn run_once(
    args: &BenchVideoArgs,
    profile: &str,
    page: Option<&PathBuf>,
    run: u32,
) -> anyhow::Result<RunResult> {
    let dir = tempfile::tempdir()?;
    link::pki::init(dir.path(), &["localhost".into()], false)?;
    let csv = dir.path().join("steps.csv");
    std::fs::write(
        &csv,
        step_csv(
            args.seconds + WARM_UP_S + 2.0,
            args.step_interval_s,
            STEP_SEED ^ u64::from(run),
        ),
    )?;
    let epoch = Instant::now();
    let epoch_unix_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_micros() as f64)
        - epoch.elapsed().as_micros() as f64;
    let applied = AtomicHistogram::new(HISTOGRAM_US);
    let to_edge = AtomicHistogram::new(HISTOGRAM_US);
    let to_tick = AtomicHistogram::new(HISTOGRAM_US);
    let steps = Arc::new(Mutex::new(Vec::with_capacity(1024)));
    let tap = StepTap {
        applied: applied.clone(),
        to_edge: to_edge.clone(),
        to_tick: to_tick.clone(),
        pending: None,
        steps: steps.clone(),
        last_target: None,
        last_move_us: i64::MIN / 2,
        last_tip: None,
        last_state: 0,
        tip_before: None,
        target_before: None,
    };
    let camera = page.map(|_| CameraSettings {
        width: args.width,
        height: args.height,
        fps: args.fps,
        thread_nice: args.camera_nice,
        ..CameraSettings::default()
    });
    let mut supervisor = safety::SupervisorConfig::default();
    if let Some(ms) = args.survival_ms {
        supervisor.survival_time = Duration::try_from_secs_f64(ms / 1e3)
            .ok()
            .filter(|d| !d.is_zero())
            .context("--survival-ms must be a positive number of milliseconds")?;
    }
    let station = StationHandle::start(
        &StationConfig {
            supervisor,
            listen: "127.0.0.1:0".parse()?,
            pki_dir: dir.path().to_owned(),
            record_dir: None,
            audit_dir: dir.path().join("audit"),
            shared_epoch: Some(epoch),
            camera,
            ..StationConfig::default()
        },
        None,
        |_| Ok::<_, std::convert::Infallible>(tap),
    )?;
    let relay = Relay::start(&RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        forward: station.local_addr(),
        profile: netem::Profile::resolve(profile)?,
        seed: 1,
    })?;
    let mut relay_realtime = false;
    if !args.relay_normal_priority {
        // A new thread names itself once it runs: look again for a moment.
        let mut raised = relay_threads_realtime();
        for _ in 0..100 {
            if raised >= RELAY_THREADS {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
            raised = relay_threads_realtime();
        }
        if raised < RELAY_THREADS {
            eprintln!(
                "warning: only {raised} of the relay's {RELAY_THREADS} threads run in real time \
                 (needs root or CAP_SYS_NICE); the emulated link competes for the cores"
            );
        }
        relay_realtime = raised >= RELAY_THREADS;
    }
    let feed = VideoFeed::new(epoch);
    feed.set_pacing(!args.no_pacing);
    let console_defaults = ConsoleConfig::default();
    // Run r of N sends its commands (r - 1)/N of a period after the servo's ticks, in the run
    // without video and in the run with it: the wait for the next tick after a command arrives
    // is then the same in both, and the runs together sweep it (left to chance, two runs' p99s
    // differed by up to the whole period with or without video).
    let period_us = (1e6 / console_defaults.rate_hz).round() as u64;
    let control_phase_us = period_us * u64::from(run - 1) / u64::from(args.runs);
    let console_config = ConsoleConfig {
        control_phase: Some(Duration::from_micros(control_phase_us)),
        station: relay.local_addr(),
        pki_dir: dir.path().to_owned(),
        duration_s: Some(args.seconds + WARM_UP_S),
        shared_epoch: Some(epoch),
        record_dir: None,
        input: InputConfig::Replay { csv },
        tremor_cutoff_hz: args.tremor_cutoff_hz,
        video: page.map(|_| feed.clone()),
        ..console_defaults
    };
    let console = std::thread::spawn(move || {
        console::run(&console_config, console::Controls::default(), |_| {
            Ok::<_, std::convert::Infallible>(teleop::NoTap)
        })
    });
    let page_report = page.map(|chromium| play(args, profile, &feed, chromium));
    let console = console
        .join()
        .map_err(|_| anyhow::anyhow!("the console thread panicked"))?;
    let video_stats = station.video_stats();
    let timeline = station.video_timeline();
    let report = station.shutdown();
    relay.stop();
    let console = console.map_err(|e| anyhow::anyhow!("the console run: {e:?}"))?;
    anyhow::ensure!(
        report.unsafe_applied == 0,
        "the station applied an unsafe command"
    );
    let rtt_ms = (console.rtt_us.count > 0).then(|| console.rtt_us.p50 / 1e3);
    let video = match (page_report, video_stats) {
        (Some(page), Some(stats)) => {
            let page = page?;
            let steps = steps.lock().map(|s| s.clone()).unwrap_or_default();
            Some(summarise(
                &page,
                &stats,
                &steps,
                &timeline,
                epoch_unix_us,
                &feed,
                args.fps,
            ))
        }
        _ => None,
    };
    Ok(RunResult {
        control_applied_us: applied.percentiles(),
        control_to_edge_us: to_edge.percentiles(),
        control_to_tick_us: to_tick.percentiles(),
        control_phase_us,
        relay_realtime,
        supervisor: supervisor_summary(&report),
        rtt_ms,
        video,
    })
}

/// The netem relay's threads (link::relay: two receivers and the delivery thread).
const RELAY_THREADS: usize = 3;

/// The relay threads' SCHED_FIFO priority: above every thread at normal priority, below the
/// servo, the station's network thread and the console's control loop (50, link::pacer), so a
/// burst of video packets through the relay never delays a servo tick.
const RELAY_PRIORITY: i32 = 40;

/// Puts this process's netem relay threads (named `relay-*`) under SCHED_FIFO at
/// `RELAY_PRIORITY`; returns how many run so now.
/// A relay of an earlier run has stopped, so its threads are gone.
fn relay_threads_realtime() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let mut raised = 0;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if comm.starts_with("relay-") {
            let param = libc::sched_param {
                sched_priority: RELAY_PRIORITY,
            };
            // SAFETY: sched_setscheduler only reads its arguments; `tid` is a thread of this
            // process (a thread that ended since is refused with ESRCH).
            if unsafe { libc::sched_setscheduler(tid, libc::SCHED_FIFO, &param) } == 0 {
                raised += 1;
            }
        }
    }
    raised
}

fn supervisor_summary(report: &teleop::StationReport) -> serde_json::Value {
    let mut holds = std::collections::BTreeMap::<String, u64>::new();
    for t in report.transitions.iter().filter(|t| t.from == "ENGAGED") {
        *holds.entry(format!("{} ({})", t.to, t.reason)).or_default() += 1;
    }
    let total_ms: f64 = report.state_time_ms.values().sum();
    let hold_ms = report.state_time_ms.get("HOLD").copied().unwrap_or(0.0);
    json!({
        "left_engaged": holds,
        "state_time_ms": report.state_time_ms,
        // The share of the run the arm spent in HOLD.
        "hold_fraction": (total_ms > 0.0).then(|| hold_ms / total_ms),
        "commands_dropped": report.commands_dropped,
    })
}

/// A square wave of master positions: still, then a step of `MASTER_STEP_M` along x after each
/// interval, for `seconds`. The intervals are drawn (seeded) uniformly within ±`STEP_JITTER` of
/// `interval_s`: steps at a fixed interval keep one phase against the free-running camera (0.8 s
/// is exactly 24 frames at 30 fps), so every step of a run would wait the same part of a frame
/// period and the run's p50 would be that phase, not the frame wait's distribution.
fn step_csv(seconds: f64, interval_s: f64, seed: u64) -> String {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut csv = String::from("t_s,x_m,y_m,z_m,qx,qy,qz,qw\n");
    let h = std::f64::consts::FRAC_1_SQRT_2;
    let mut t = 0.0;
    let mut up = false;
    let x = |up: bool| if up { MASTER_STEP_M } else { 0.0 };
    csv.push_str(&format!("0,0,0,0,{h},{h},0,0\n"));
    loop {
        let next = t + interval_s * (1.0 + rng.random_range(-STEP_JITTER..=STEP_JITTER));
        if next >= seconds {
            break;
        }
        t = next;
        csv.push_str(&format!("{:.4},{},0,0,{h},{h},0,0\n", t - 0.0005, x(up)));
        up = !up;
        csv.push_str(&format!("{t:.4},{},0,0,{h},{h},0,0\n", x(up)));
    }
    csv.push_str(&format!(
        "{:.4},{},0,0,{h},{h},0,0\n",
        t + interval_s,
        x(up)
    ));
    csv
}

/// Serves the bench page and the video socket on loopback (behind a one-run token), drives
/// chromium through it for the run, and returns what the page recorded.
fn play(
    args: &BenchVideoArgs,
    profile: &str,
    feed: &VideoFeed,
    chromium: &PathBuf,
) -> anyhow::Result<PageReport> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let token: Arc<str> = format!("{:032x}", rand::random::<u128>()).into();
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/video.js",
            get(|| async { ([("content-type", "text/javascript")], VIDEO_JS) }),
        )
        .merge(console::video_socket::router(feed.clone()))
        .layer(axum::middleware::from_fn_with_state(
            token.clone(),
            require_token,
        ));
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let script = tempfile::Builder::new().suffix(".py").tempfile()?;
    std::fs::write(script.path(), DRIVER)?;
    let mut command = std::process::Command::new(venv_python());
    command
        .arg(script.path())
        .arg("--url")
        .arg(format!("http://{addr}/?token={token}"))
        .arg("--seconds")
        .arg(format!("{}", args.seconds + WARM_UP_S - 0.5))
        .arg("--chromium")
        .arg(chromium)
        .arg("--nice")
        .arg(args.browser_nice.to_string());
    if let Some(dir) = &args.screenshots {
        command
            .arg("--screenshot")
            .arg(dir.join(format!("video-{profile}.png")));
    }
    let output = command
        .output()
        .context("running the browser driver with the venv's python (scripts/setup-python.sh)")?;
    runtime.shutdown_background();
    if !output.status.success() {
        bail!(
            "the browser driver failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).context("reading the browser driver's report")
}

async fn require_token(State(token): State<Arc<str>>, request: Request, next: Next) -> Response {
    let wanted = format!("token={token}");
    let ok = request
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == wanted));
    if ok || request.uri().path() == "/video.js" {
        next.run(request).await
    } else {
        (axum::http::StatusCode::FORBIDDEN, "token required").into_response()
    }
}

fn percentiles_ms(mut values: Vec<f64>) -> serde_json::Value {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return json!({"p50": null, "p99": null, "count": 0});
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    json!({"p50": at(0.5), "p99": at(0.99), "max": at(1.0), "count": values.len()})
}

/// The names of motion-to-photon's parts, in order: each step cut at every station it passes,
/// so the parts of a step add up to its motion-to-photon (one clock throughout).
const PART_NAMES: [&str; 14] = [
    // Console send → the station's network edge (the link's one-way delay and both edges).
    "send_to_station",
    // Network edge → handled by the servo thread (the wait for its next tick).
    "station_to_servo",
    // Handled → the supervisor first applied a command of the step.
    "servo_to_applied",
    // Applied → the first command whose target is 0.1 mm out (the console's tremor filter).
    "applied_to_target_moved",
    // → the measured tip 0.1 mm from where it was (the supervisor's slew limits, the arm).
    "target_moved_to_tip_moved",
    // The tip moved → the capture of the first frame that shows it (the camera's frame wait).
    "tip_moved_to_capture",
    // Capture → the picture rendered (the scene at the measured pose).
    "capture_to_rendered",
    // Rendered → encoded (RGB to I420 and H.264).
    "rendered_to_encoded",
    // Encoded → the station's network thread starts sending it.
    "encoded_to_sending",
    // Sending → the console had the whole frame (QUIC stream, the link back, the console's feed).
    "sending_to_console",
    // The console had it → the page had it (the console's video socket).
    "console_to_page",
    // The page had it → decoded (WebCodecs).
    "page_to_decoded",
    // Decoded → drawn on the canvas (drawImage).
    "decoded_to_drawn",
    // Drawn → painted (the next animation frame).
    "drawn_to_painted",
];

/// Motion-to-photon cut at each step's stations (`PART_NAMES`), per measured step (ms; NaN,
/// null in the JSON, where a step has no such time, so the lists stay aligned by step).
#[derive(Default)]
struct StepParts {
    parts: [Vec<f64>; PART_NAMES.len()],
    /// Per step: the arm was ENGAGED from before the step until the tip moved.
    engaged: Vec<bool>,
}

impl StepParts {
    fn add(
        &mut self,
        step: &StepTimes,
        frame: &Painted,
        station: Option<&station::camera::FrameTimes>,
        epoch_unix_us: f64,
    ) {
        let at = |t: Option<i64>| t.map_or(f64::NAN, |t| t as f64);
        let sending = station.and_then(|f| f.sending_us);
        // Every time on the shared clock, µs since its zero.
        let times = [
            step.sent_us as f64,
            step.received_us as f64,
            step.handled_us as f64,
            at(step.applied_us),
            at(step.target_moved_us),
            at(step.tip_moved_us),
            frame.capture_unix_us - epoch_unix_us,
            at(station.map(|f| f.rendered_us)),
            at(station.map(|f| f.encoded_us)),
            at(sending),
            frame.received_unix_us - epoch_unix_us,
            frame.arrived_unix_us - epoch_unix_us,
            frame.decoded_unix_us - epoch_unix_us,
            frame.drawn_unix_us - epoch_unix_us,
            frame.painted_unix_us - epoch_unix_us,
        ];
        for (i, part) in self.parts.iter_mut().enumerate() {
            part.push((times[i + 1] - times[i]) / 1e3);
        }
        self.engaged.push(step.engaged_throughout());
    }

    /// Each part's percentiles over every step and over the steps with the arm engaged
    /// throughout, and each part's values step by step.
    fn summary(&self) -> (serde_json::Value, serde_json::Value, serde_json::Value) {
        let mut all = serde_json::Map::new();
        let mut engaged = serde_json::Map::new();
        let mut values = serde_json::Map::new();
        for (name, part) in PART_NAMES.iter().zip(&self.parts) {
            all.insert((*name).into(), percentiles_ms(part.clone()));
            let kept = part
                .iter()
                .zip(&self.engaged)
                .filter(|(_, e)| **e)
                .map(|(v, _)| *v)
                .collect();
            engaged.insert((*name).into(), percentiles_ms(kept));
            values.insert((*name).into(), json!(part));
        }
        values.insert("engaged_throughout".into(), json!(self.engaged));
        (all.into(), engaged.into(), values.into())
    }

    /// The parts of several runs' steps (each run's `samples_ms.parts`) as one.
    fn pooled(runs: &[serde_json::Value]) -> Self {
        let mut out = Self::default();
        for run in runs {
            let parts = &run["samples_ms"]["parts"];
            let Some(engaged) = parts["engaged_throughout"].as_array() else {
                continue;
            };
            out.engaged
                .extend(engaged.iter().map(|e| e.as_bool().unwrap_or(false)));
            for (name, part) in PART_NAMES.iter().zip(&mut out.parts) {
                let values = parts[*name].as_array().map(Vec::as_slice).unwrap_or(&[]);
                // Nulls (no such time) stay in place as NaN.
                part.extend(
                    (0..engaged.len())
                        .map(|i| values.get(i).and_then(|v| v.as_f64()).unwrap_or(f64::NAN)),
                );
            }
        }
        out
    }
}

fn summarise(
    page: &PageReport,
    stats: &station::camera::VideoStats,
    steps: &[StepTimes],
    timeline: &[station::camera::FrameTimes],
    epoch_unix_us: f64,
    feed: &VideoFeed,
    fps: f64,
) -> serde_json::Value {
    let frames = &page.frames;
    let station_times = |seq: f64| timeline.iter().rev().find(|t| t.seq as f64 == seq);
    let in_order = frames.windows(2).all(|w| w[0].seq < w[1].seq);
    let glass: Vec<f64> = frames
        .iter()
        .map(|f| (f.painted_unix_us - f.capture_unix_us) / 1e3)
        .collect();
    let decode = frames.iter().map(|f| f.decode_ms).collect();
    let mut motion = Vec::new();
    let mut motion_engaged = Vec::new();
    let mut less_arm = Vec::new();
    let mut to_capture = Vec::new();
    let mut parts = StepParts::default();
    let mut unseen = 0;
    let mut not_engaged = 0;
    for step in steps {
        let at = epoch_unix_us + step.sent_us as f64;
        let Some(before) = frames.iter().rev().find(|f| f.capture_unix_us < at) else {
            continue;
        };
        let moved = frames.iter().find(|f| {
            f.capture_unix_us >= at
                && (0..3)
                    .map(|i| (f.tip_um[i] - before.tip_um[i]).powi(2))
                    .sum::<f64>()
                    .sqrt()
                    >= MOVED_UM
        });
        if !step.engaged_throughout() {
            not_engaged += 1;
        }
        match moved {
            // Only steps the page saw end to end (a step before engage moves nothing).
            Some(f) if f.painted_unix_us - at < 1e6 => {
                motion.push((f.painted_unix_us - at) / 1e3);
                // The arm's own response: the first applied command of the step to the
                // measured tip 0.1 mm out (the console's tremor filter and the arm's dynamics).
                if let (Some(applied), Some(moved)) = (step.applied_us, step.tip_moved_us) {
                    less_arm.push((f.painted_unix_us - at - (moved - applied) as f64) / 1e3);
                }
                if step.engaged_throughout() {
                    motion_engaged.push((f.painted_unix_us - at) / 1e3);
                }
                to_capture.push((f.capture_unix_us - at) / 1e3);
                parts.add(step, f, station_times(f.seq), epoch_unix_us);
            }
            _ => unseen += 1,
        }
    }
    let (parts, parts_engaged, part_values) = parts.summary();
    json!({
        "glass_to_glass_ms": percentiles_ms(glass.clone()),
        "motion_to_photon_ms": percentiles_ms(motion.clone()),
        "input_to_capture_ms": percentiles_ms(to_capture.clone()),
        "samples_ms": {
            "motion_to_photon": motion,
            "motion_to_photon_engaged": motion_engaged,
            "motion_to_photon_less_arm_response": less_arm,
            "input_to_capture": to_capture,
            "glass_to_glass": glass,
            "parts": part_values,
        },
        "steps_measured_unseen": unseen,
        "steps_total": steps.len(),
        "steps_not_engaged_throughout": not_engaged,
        // Diagnostic, not the goal's figure: the steps during which the arm stayed ENGAGED
        // (the others waited for a hold to end and the operator to engage again).
        "motion_to_photon_engaged_ms": percentiles_ms(motion_engaged.clone()),
        // Beside the goal's figure: motion-to-photon less each step's arm response (tremor
        // filter and arm dynamics), what the link, the station and the video add to it.
        LESS_ARM_KEY: percentiles_ms(less_arm),
        "steps_before_first_frame": steps.iter().filter(|t| frames.first().is_none_or(|f| epoch_unix_us + t.sent_us as f64 <= f.capture_unix_us)).count(),
        "motion_to_photon_parts_ms": parts,
        "motion_to_photon_parts_engaged_ms": parts_engaged,
        "frames": {
            "encoded": stats.frames_encoded,
            "sent": stats.frames_delivered + stats.frames_dropped,
            "delivered": stats.frames_delivered,
            "dropped": stats.frames_dropped,
            "late": stats.frames_late,
            "keyframes": stats.keyframes,
            "console_handed": feed.stats().frames,
            "console_waiting_for_keyframe": feed.stats().waiting_for_keyframe,
            "console_out_of_order": feed.stats().out_of_order,
            "page_received": page.received,
            "page_decoded": page.decoded,
            "page_painted": page.painted,
            "painted_in_capture_order": in_order,
        },
        "bitrate_mbit_s": f64::from(stats.bitrate_bps) / 1e6,
        "encoded_mbit_s": stats.bytes_encoded as f64 * 8.0 / 1e6
            / (stats.frames_encoded.max(1) as f64 / fps),
        "encode_ms": {"p50": stats.encode_ms.p50, "p99": stats.encode_ms.p99},
        "render_ms": {"p50": stats.render_ms.p50, "p99": stats.render_ms.p99},
        "decode_ms": percentiles_ms(decode),
        "capture_pacing": {
            "shifts_asked": feed.stats().capture_shifts_asked,
            "shifts_applied": stats.capture_shifts,
            "shifted_ms": stats.capture_shifted_ms,
        },
        "codec": page.codec,
        "page_errors": page.errors.iter().chain(&page.console_errors).collect::<Vec<_>>(),
    })
}

fn print_profile(out: &serde_json::Value) {
    let p = |v: &serde_json::Value| {
        format!(
            "p50 {:.1} ms, p99 {:.1} ms",
            v["p50"].as_f64().unwrap_or(f64::NAN),
            v["p99"].as_f64().unwrap_or(f64::NAN)
        )
    };
    println!(
        "profile {} (RTT {:.1} ms)",
        out["profile"].as_str().unwrap_or("?"),
        out["rtt_ms"].as_f64().unwrap_or(f64::NAN)
    );
    println!("  glass-to-glass    {}", p(&out["glass_to_glass_ms"]));
    println!(
        "  motion-to-photon  {} (goal p50 <= {:.1} ms: {})",
        p(&out["motion_to_photon_ms"]),
        out["goal_motion_to_photon_p50_ms"]
            .as_f64()
            .unwrap_or(f64::NAN),
        out["goal_met"]
    );
    println!(
        "  less the arm's own response (tremor filter, arm dynamics) {}",
        p(&out[LESS_ARM_KEY])
    );
    println!(
        "  input to capture  {} (console filter, link, supervisor, arm, next frame)",
        p(&out["input_to_capture_ms"])
    );
    println!(
        "  motion-to-photon, steps with the arm engaged throughout: {} ({} of {} steps were not)",
        p(&out["motion_to_photon_engaged_ms"]),
        out["steps_not_engaged_throughout"],
        out["steps_total"]
    );
    println!("    parts (every step | steps engaged throughout):");
    for name in PART_NAMES {
        println!(
            "    {name:<26} {} | {}",
            p(&out["motion_to_photon_parts_ms"][name]),
            p(&out["motion_to_photon_parts_engaged_ms"][name])
        );
    }
    println!(
        "  supervisor        HOLD {:.1} % of the run with video; {}",
        out["hold_fraction"].as_f64().unwrap_or(f64::NAN) * 100.0,
        out["supervisor"]["video_on"]
    );
    println!("  frames            {}", out["frames"]);
    println!(
        "  capture pacing    {} (display-locked capture; --no-pacing turns it off)",
        out["capture_pacing"]
    );
    println!(
        "  encode {}   decode {}",
        p(&out["encode_ms"]),
        p(&out["decode_ms"])
    );
    println!(
        "  control to apply  off {}, on {}, p99 ratio {} (console phase to the servo's ticks {} us)",
        out["control_ms"]["video_off"],
        out["control_ms"]["video_on"],
        out["control_ms"]["p99_ratio"],
        out["control_ms"]["control_phase_us"]
    );
    println!(
        "    of which send to station edge off {}, on {}, p99 ratio {}; edge to servo tick off {}, on {}",
        out["control_ms"]["to_station_edge"]["video_off"],
        out["control_ms"]["to_station_edge"]["video_on"],
        out["control_ms"]["to_station_edge"]["p99_ratio"],
        out["control_ms"]["edge_to_servo_tick"]["video_off"],
        out["control_ms"]["edge_to_servo_tick"]["video_on"]
    );
}
