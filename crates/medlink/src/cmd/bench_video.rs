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
/// The console and the page start before the measured seconds (chromium takes 2-3 s to start).
const WARM_UP_S: f64 = 3.0;

#[derive(Args)]
pub struct BenchVideoArgs {
    /// Network profiles (comma-separated): lan, 5g-urllc, 5g-embb, longhaul-4000km, ...
    #[arg(long, default_value = "lan,longhaul-4000km", value_delimiter = ',')]
    profile: Vec<String>,
    /// Seconds of video per run (each profile runs once without video, once with it).
    #[arg(long, default_value_t = 12.0)]
    seconds: f64,
    #[arg(long, default_value_t = 1280)]
    width: u16,
    #[arg(long, default_value_t = 720)]
    height: u16,
    #[arg(long, default_value_t = 30.0)]
    fps: f64,
    /// Seconds between master steps.
    #[arg(long, default_value_t = 0.8)]
    step_interval_s: f64,
    /// The console's tremor filter cut-off (Hz; the console's default). Its delay is part of
    /// motion-to-photon; a higher cut-off shows how much.
    #[arg(long, default_value_t = 6.0)]
    tremor_cutoff_hz: f64,
    /// The chromium to drive (default: chromium on PATH; bash scripts/setup-browser.sh).
    #[arg(long)]
    chromium: Option<PathBuf>,
    /// Save a screenshot of the page per profile into this directory.
    #[arg(long)]
    screenshots: Option<PathBuf>,
    /// Skip the run without video (no control-latency comparison).
    #[arg(long)]
    no_baseline: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Watches the station core's entry point: control latency to apply, and when each master step
/// began (the first command that moved after the target had been still).
struct StepTap {
    applied: Arc<AtomicHistogram>,
    pending: Option<(u64, i64)>,
    steps: Arc<Mutex<Vec<i64>>>,
    last_target: Option<[f64; 3]>,
    last_move_us: i64,
}

impl Tap<StationInput, StationOutput> for StepTap {
    fn input(&mut self, _now: Duration, input: &StationInput) {
        self.pending = None;
        if let StationInput::Datagram {
            datagram: Datagram::Control(cmd),
            ..
        } = input
        {
            self.pending = Some((cmd.seq, cmd.sent_at_us));
            let target = cmd.target.position_m;
            if let Some(last) = self.last_target {
                let moved = (0..3)
                    .map(|i| (target[i] - last[i]).powi(2))
                    .sum::<f64>()
                    .sqrt();
                if moved > 5e-6 {
                    if cmd.sent_at_us - self.last_move_us > 300_000
                        && let Ok(mut steps) = self.steps.try_lock()
                    {
                        steps.push(cmd.sent_at_us);
                    }
                    self.last_move_us = cmd.sent_at_us;
                }
            }
            self.last_target = Some(target);
        }
    }

    fn output(&mut self, now: Duration, output: &StationOutput) {
        if let (StationOutput::Verdict { seq, verdict }, Some((pending, sent_us))) =
            (output, self.pending)
            && *seq == pending
            && verdict == "applied"
        {
            self.applied.record_us(now.as_micros() as i64 - sent_us);
        }
    }
}

/// One painted frame as the page recorded it (web/console/video.js).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Painted {
    seq: f64,
    capture_unix_us: f64,
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
    rtt_ms: Option<f64>,
    video: Option<serde_json::Value>,
}

pub fn run(args: BenchVideoArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.seconds >= 2.0, "--seconds must be at least 2");
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
        if !args.json {
            eprintln!(
                "{profile}: {} s without video, then {} s with it ...",
                args.seconds, args.seconds
            );
        }
        let baseline = if args.no_baseline {
            None
        } else {
            Some(run_once(&args, profile, None)?)
        };
        let with_video = run_once(&args, profile, Some(&chromium))?;
        let ratio = baseline
            .as_ref()
            .map(|b| with_video.control_applied_us.p99 / b.control_applied_us.p99.max(1.0));
        let pct =
            |p: &Percentiles| json!({"p50": p.p50 / 1e3, "p99": p.p99 / 1e3, "count": p.count});
        let mut out = with_video.video.unwrap_or_else(|| json!({}));
        out["profile"] = json!(profile);
        out["rtt_ms"] = json!(with_video.rtt_ms);
        out["control_ms"] = json!({
            "video_off": baseline.as_ref().map(|b| pct(&b.control_applied_us)),
            "video_on": pct(&with_video.control_applied_us),
            "p99_ratio": ratio,
        });
        if let (Some(rtt), Some(m2p)) = (
            with_video.rtt_ms,
            out["motion_to_photon_ms"]["p50"].as_f64(),
        ) {
            out["goal_motion_to_photon_p50_ms"] = json!(rtt + 50.0);
            out["goal_met"] = json!(m2p <= rtt + 50.0);
        }
        if !args.json {
            print_profile(&out);
        }
        profiles.push(out);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "width": args.width, "height": args.height, "fps": args.fps,
                "seconds": args.seconds, "tremor_cutoff_hz": args.tremor_cutoff_hz,
                "profiles": profiles,
            }))?
        );
    }
    Ok(())
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
) -> anyhow::Result<RunResult> {
    let dir = tempfile::tempdir()?;
    link::pki::init(dir.path(), &["localhost".into()], false)?;
    let csv = dir.path().join("steps.csv");
    std::fs::write(
        &csv,
        step_csv(args.seconds + WARM_UP_S + 2.0, args.step_interval_s),
    )?;
    let epoch = Instant::now();
    let epoch_unix_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_micros() as f64)
        - epoch.elapsed().as_micros() as f64;
    let applied = AtomicHistogram::new(HISTOGRAM_US);
    let steps = Arc::new(Mutex::new(Vec::with_capacity(1024)));
    let tap = StepTap {
        applied: applied.clone(),
        pending: None,
        steps: steps.clone(),
        last_target: None,
        last_move_us: i64::MIN / 2,
    };
    let camera = page.map(|_| CameraSettings {
        width: args.width,
        height: args.height,
        fps: args.fps,
        ..CameraSettings::default()
    });
    let station = StationHandle::start(
        &StationConfig {
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
    let feed = VideoFeed::new(epoch);
    let console_config = ConsoleConfig {
        station: relay.local_addr(),
        pki_dir: dir.path().to_owned(),
        duration_s: Some(args.seconds + WARM_UP_S),
        shared_epoch: Some(epoch),
        record_dir: None,
        input: InputConfig::Replay { csv },
        tremor_cutoff_hz: args.tremor_cutoff_hz,
        video: page.map(|_| feed.clone()),
        ..ConsoleConfig::default()
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
            Some(summarise(&page, &stats, &steps, epoch_unix_us, &feed))
        }
        _ => None,
    };
    Ok(RunResult {
        control_applied_us: applied.percentiles(),
        rtt_ms,
        video,
    })
}

/// A square wave of master positions: still, then a step of `MASTER_STEP_M` along x every
/// `interval_s`, for `seconds`.
fn step_csv(seconds: f64, interval_s: f64) -> String {
    let mut csv = String::from("t_s,x_m,y_m,z_m,qx,qy,qz,qw\n");
    let h = std::f64::consts::FRAC_1_SQRT_2;
    let mut t = 0.0;
    let mut up = false;
    let x = |up: bool| if up { MASTER_STEP_M } else { 0.0 };
    csv.push_str(&format!("0,0,0,0,{h},{h},0,0\n"));
    while t + interval_s < seconds {
        t += interval_s;
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
        .arg(chromium);
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

fn summarise(
    page: &PageReport,
    stats: &station::camera::VideoStats,
    steps: &[i64],
    epoch_unix_us: f64,
    feed: &VideoFeed,
) -> serde_json::Value {
    let frames = &page.frames;
    let in_order = frames.windows(2).all(|w| w[0].seq < w[1].seq);
    let glass = frames
        .iter()
        .map(|f| (f.painted_unix_us - f.capture_unix_us) / 1e3)
        .collect();
    let decode = frames.iter().map(|f| f.decode_ms).collect();
    let mut motion = Vec::new();
    let mut to_capture = Vec::new();
    let mut unseen = 0;
    for &sent_us in steps {
        let at = epoch_unix_us + sent_us as f64;
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
        match moved {
            // Only steps the page saw end to end (a step before engage moves nothing).
            Some(f) if f.painted_unix_us - at < 1e6 => {
                motion.push((f.painted_unix_us - at) / 1e3);
                to_capture.push((f.capture_unix_us - at) / 1e3);
            }
            _ => unseen += 1,
        }
    }
    json!({
        "glass_to_glass_ms": percentiles_ms(glass),
        "motion_to_photon_ms": percentiles_ms(motion),
        "input_to_capture_ms": percentiles_ms(to_capture),
        "steps_measured_unseen": unseen,
        "steps_total": steps.len(),
        "steps_before_first_frame": steps.iter().filter(|&&t| frames.first().is_none_or(|f| epoch_unix_us + t as f64 <= f.capture_unix_us)).count(),
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
            / (stats.frames_encoded.max(1) as f64 / 30.0),
        "encode_ms": {"p50": stats.encode_ms.p50, "p99": stats.encode_ms.p99},
        "render_ms": {"p50": stats.render_ms.p50, "p99": stats.render_ms.p99},
        "decode_ms": percentiles_ms(decode),
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
        "  input to capture  {} (console filter, link, supervisor, arm, next frame)",
        p(&out["input_to_capture_ms"])
    );
    println!("  frames            {}", out["frames"]);
    println!(
        "  encode {}   decode {}",
        p(&out["encode_ms"]),
        p(&out["decode_ms"])
    );
    println!(
        "  control to apply  off {}, on {}, p99 ratio {}",
        out["control_ms"]["video_off"],
        out["control_ms"]["video_on"],
        out["control_ms"]["p99_ratio"]
    );
}
