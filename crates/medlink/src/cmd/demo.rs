//! `medlink demo`: a station and a console on this machine, joined by real QUIC with mutual TLS
//! on loopback, running a scripted procedure on the simulated arm, then the session summary.
//! Both sides keep a signed audit log; `--takeover-at`/`--handback-at` have the bedside team take
//! control in the middle and hand it back to the (scripted) surgeon, who accepts and re-engages.

use super::console::RunArgs;
use super::summary;
use anyhow::Context;
use clap::Args;
use console::ConsoleConfig;
use link::relay::{Relay, RelayConfig};
use station::{StationConfig, StationHandle};
use teleop::{LocalRequest, TimeSource};

#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Run the session through the netem relay with this profile (a name from `medlink netem
    /// profiles` or a TOML file); the relay's seed is `--seed`.
    #[arg(long)]
    profile: Option<String>,
    /// Record both sides of the session (MCAP) into this directory; replay a file with
    /// `medlink replay` (docs/recording.md). Off unless asked.
    #[arg(long)]
    record: Option<std::path::PathBuf>,
    /// Both sides' clocks are disciplined to a common time scale within this many µs (as PTP or
    /// GNSS-steered chrony would state it): the station then bounds a command's age by the clocks'
    /// error instead of half a round trip (docs/telesurgery.md, "Time sources").
    #[arg(long)]
    clock_error_us: Option<i64>,
    /// Where both sides' audit logs go, with a copy of the demo CA's certificate to verify them
    /// by (`medlink audit verify FILE --ca DIR/ca.crt`).
    #[arg(long, default_value = "audit")]
    audit_dir: std::path::PathBuf,
    /// The bedside team takes control this many seconds into the run (the arm holds; nothing
    /// the console sends acts until it hands back).
    #[arg(long)]
    takeover_at: Option<f64>,
    /// Serve the surgeon's page (default with a bare `--ui`: 127.0.0.1:8480) and the bedside
    /// panel (`--bedside-ui`), with the station's endoscope video, and run until Ctrl-C: the page
    /// drives the arm, or with `--script`/`--replay` the pages watch the scripted motion.
    #[command(flatten)]
    ui: super::console_ui::UiArgs,
    /// With `--ui`: the bedside panel's address.
    #[arg(long, requires = "ui", default_value = super::bedside_ui::DEFAULT_ADDR)]
    bedside_ui: std::net::SocketAddr,
    /// The bedside team hands control back this many seconds into the run; the surgeon accepts
    /// and engages again.
    #[arg(long, requires = "takeover_at")]
    handback_at: Option<f64>,
    /// The station listens here (default: a free loopback port), so that others can join the
    /// demo's session (`medlink igtl`, docs/igtl.md).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Use this PKI directory (made with `medlink pki init` if it has no CA yet) instead of a
    /// throw-away one, so that others can join with certificates from it.
    #[arg(long)]
    pki: Option<std::path::PathBuf>,
    /// Run a remote HIFU procedure with this plan instead of arm motion: the station hosts the
    /// HIFU device with the same plan, the console runs it spot by spot (docs/hifu.md).
    #[arg(long)]
    hifu: Option<std::path::PathBuf>,
    /// Run the station without its simulated patient monitor (by default one reading a second
    /// goes to every console: the page's vitals, `medlink igtl`'s `Vitals` STRING).
    #[arg(long)]
    no_monitor: bool,
}

/// The demo's length when `--duration` is not given.
const DEFAULT_DURATION_S: f64 = 10.0;
/// With `--ui` and a script: long enough that Ctrl-C, not the script, ends the demo (a day).
const UNTIL_STOPPED_S: f64 = 86_400.0;

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    if let Some(error) = args.clock_error_us {
        anyhow::ensure!(error >= 0, "--clock-error-us must not be negative");
    }
    let time_source = args
        .clock_error_us
        .map_or(TimeSource::Monotonic, |max_error_us| {
            TimeSource::Disciplined { max_error_us }
        });
    for (flag, at) in [
        ("--takeover-at", args.takeover_at),
        ("--handback-at", args.handback_at),
    ] {
        if let Some(at) = at {
            anyhow::ensure!(
                at.is_finite() && at >= 0.0,
                "{flag} must be a time in seconds"
            );
        }
    }
    if let (Some(take), Some(back)) = (args.takeover_at, args.handback_at) {
        anyhow::ensure!(back > take, "--handback-at must come after --takeover-at");
    }
    let throwaway = tempfile::tempdir().context("creating a temporary PKI directory")?;
    let pki = args
        .pki
        .clone()
        .unwrap_or_else(|| throwaway.path().to_owned());
    if !pki.join("ca.crt").exists() {
        link::pki::init(&pki, &["localhost".into()], false)?;
    }
    std::fs::create_dir_all(&args.audit_dir)
        .with_context(|| format!("creating {}", args.audit_dir.display()))?;
    let ca_copy = args.audit_dir.join("ca.crt");
    std::fs::copy(pki.join("ca.crt"), &ca_copy)
        .with_context(|| format!("copying the demo CA to {}", ca_copy.display()))?;
    // One process, one clock: both sides share its zero, so the station knows every command's
    // true age and reports it beside the bound it judged by and the clock-sync estimate.
    let epoch = std::time::Instant::now();
    let station_config = StationConfig {
        listen: args.listen.unwrap_or("127.0.0.1:0".parse()?),
        pki_dir: pki.clone(),
        record_dir: args.record.clone(),
        shared_epoch: Some(epoch),
        time_source,
        camera: args
            .ui
            .ui
            .map(|_| station::camera::CameraSettings::default()),
        monitor: (!args.no_monitor).then(station::monitor::MonitorSettings::default),
        ..StationConfig::default()
    };
    let station_audit =
        super::audit_file::open(&args.audit_dir, &station_config.pki_paths(), "station")?;
    let mut station_recording = None;
    let kit = args
        .hifu
        .as_ref()
        .map(|plan| {
            super::station_hifu::kit(&station::config::HifuStation {
                plan: plan.clone(),
                settings: Default::default(),
            })
        })
        .transpose()?;
    let station = StationHandle::start_with_hifu(
        &station_config,
        Some(Box::new(station_audit.sender())),
        kit,
        |session| super::record::start(args.record.as_deref(), session, &mut station_recording),
    )?;
    schedule_bedside(&station, epoch, args.takeover_at, args.handback_at);
    let _panel = match args.ui.ui {
        Some(_) => {
            let panel =
                super::bedside_ui::start(args.bedside_ui, &station_config.pki_paths(), &station)?;
            println!("bedside panel: {} (one-time sign-in link)", panel.url());
            Some(panel)
        }
        None => None,
    };
    let relay = match &args.profile {
        Some(name) => Some(Relay::start(&RelayConfig {
            listen: "127.0.0.1:0".parse()?,
            forward: station.local_addr(),
            profile: netem::Profile::resolve(name)?,
            seed: args.run.seed,
        })?),
        None => None,
    };
    let mut console_config = ConsoleConfig {
        station: relay
            .as_ref()
            .map_or(station.local_addr(), Relay::local_addr),
        pki_dir: pki.clone(),
        input: args.run.input(),
        duration_s: Some(args.run.duration.unwrap_or(match args.ui.ui {
            Some(_) => UNTIL_STOPPED_S,
            None => DEFAULT_DURATION_S,
        })),
        record_dir: args.record.clone(),
        shared_epoch: Some(epoch),
        time_source,
        ..ConsoleConfig::default()
    };
    let console_audit =
        super::audit_file::open(&args.audit_dir, &console_config.pki_paths(), "console")?;
    let scripted = args.run.script.is_some() || args.run.replay.is_some();
    let mut ui = super::console_ui::start_for(&args.ui, &mut console_config, !scripted)?;
    if let Some(ui) = &ui {
        ui.stop_on_signal()?;
        let mode = if scripted {
            "watching the scripted motion"
        } else {
            "your mouse, keyboard or gamepad drives the arm"
        };
        println!(
            "console page: {} (one-time sign-in link; {mode}; Ctrl-C stops the demo)",
            ui.page.url()
        );
    }
    let controls = console::Controls {
        actions: ui.as_mut().and_then(|ui| ui.actions.take()),
        audit: Some(Box::new(console_audit.sender())),
        hifu: args
            .hifu
            .as_deref()
            .map(super::console_hifu::controls)
            .transpose()?,
        thermometry: None,
        page: ui.as_ref().map(|ui| ui.link.clone()),
    };
    let mut console_recording = None;
    let result = console::run(&console_config, controls, |session| {
        super::record::start(args.record.as_deref(), session, &mut console_recording)
    });
    let final_station = station.shutdown();
    super::record::finish(console_recording)?;
    super::record::finish(station_recording)?;
    super::audit_file::finish(console_audit)?;
    super::audit_file::finish(station_audit)?;
    let report = result?;
    match (relay, &args.profile) {
        (Some(relay), Some(profile)) => {
            let network = summary::NetworkSummary {
                profile: profile.clone(),
                relay: relay.stop(),
            };
            summary::print_with_network(&report, &network, args.run.json)?;
        }
        _ => args.run.print(&report)?,
    }
    anyhow::ensure!(
        final_station.unsafe_applied == 0,
        "the audit found unsafe applications"
    );
    Ok(())
}

/// The bedside team's take-over and hand-back at their times into the run, from a thread of
/// their own (the station's local input, never the network).
fn schedule_bedside(
    station: &StationHandle,
    epoch: std::time::Instant,
    takeover_at: Option<f64>,
    handback_at: Option<f64>,
) {
    let Some(takeover_at) = takeover_at else {
        return;
    };
    let bedside = station.bedside();
    std::thread::spawn(move || {
        let steps = [
            (Some(takeover_at), LocalRequest::TakeOver),
            (handback_at, LocalRequest::HandBack { to: None }),
        ];
        for (at, request) in steps {
            let Some(at) = at else { continue };
            let due = epoch + std::time::Duration::from_secs_f64(at);
            std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
            tracing::info!(request = request.name(), at_s = at, "bedside team");
            bedside.request(request);
        }
    });
}
