//! `medlink station`: the patient-side station. Serves several consoles (one in control, the
//! others watching), admits them by certificate, role and the site's policy, and keeps a signed,
//! hash-chained audit log. The bedside team's commands on standard input (`estop`, `clear`,
//! `clear-fault`, `takeover`, `handback [NAME]`, `withdraw`, `confirm`, `quit`) act as the
//! station's own buttons and can never come from the network.

use super::config_file;
use clap::Args;
use station::{StationConfig, StationHandle};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc;
use teleop::LocalRequest;
use teleop::station::LOCAL_COMMANDS;

#[derive(Args)]
pub struct StationArgs {
    /// TOML configuration (see docs/telesurgery.md and examples/); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// UDP address to listen on, e.g. 0.0.0.0:4433.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// PKI directory from `medlink pki init`.
    #[arg(long)]
    pki: Option<PathBuf>,
    /// Record every session (MCAP) into this directory (default: `record_dir` of the config,
    /// `recordings`); see docs/recording.md.
    #[arg(long, conflicts_with = "no_record")]
    record: Option<PathBuf>,
    /// Do not record sessions.
    #[arg(long)]
    no_record: bool,
    /// The site's admission policy (TOML, docs/policy.md); without one every console
    /// certificate of the CA is admitted for what its role allows.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// The certificate of the bedside team member signed in here (the actor of take-over,
    /// hand-back and local e-stops in the audit log).
    #[arg(long)]
    bedside_cert: Option<PathBuf>,
    /// Where the audit log goes (default: `audit_dir` of the config, `audit`).
    #[arg(long)]
    audit_dir: Option<PathBuf>,
    /// Host a HIFU device beside the arm, with this plan file as the station's own patient
    /// model and transducer (every console's plan must match it; docs/hifu.md).
    #[arg(long)]
    hifu: Option<PathBuf>,
    /// Simulated seconds between the HIFU thermometry frames sent to the consoles.
    #[arg(long, requires = "hifu")]
    hifu_frame_interval: Option<f64>,
    /// Run the simulated endoscope camera and send its video to the consoles (docs/video.md);
    /// the `[camera]` table of the config sets size, rate and bitrate.
    #[arg(long)]
    camera: bool,
    /// Run without the simulated patient monitor (by default its readings, one a second, go to
    /// every console; the `[monitor]` table of the config sets period and seed).
    #[arg(long)]
    no_monitor: bool,
    /// Serve the bedside panel on this address (default with a bare `--ui`: 127.0.0.1:8490);
    /// off loopback it is HTTPS with the station's certificate, and only a bedside certificate
    /// may press its buttons (docs/console-ui.md).
    #[arg(long, num_args = 0..=1, default_missing_value = super::bedside_ui::DEFAULT_ADDR)]
    ui: Option<SocketAddr>,
    /// Print the final report as JSON when stopping.
    #[arg(long)]
    json: bool,
}

enum Control {
    Local(LocalRequest),
    Quit,
}

pub fn run(args: StationArgs) -> anyhow::Result<()> {
    let mut config: StationConfig = config_file::load(args.config.as_deref())?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(pki) = args.pki {
        config.pki_dir = pki;
    }
    if let Some(dir) = args.record {
        config.record_dir = Some(dir);
    }
    if args.no_record {
        config.record_dir = None;
    }
    if let Some(policy) = args.policy {
        config.policy = Some(policy);
    }
    if let Some(cert) = args.bedside_cert {
        config.bedside_cert = Some(cert);
    }
    if let Some(dir) = args.audit_dir {
        config.audit_dir = dir;
    }
    if args.camera && config.camera.is_none() {
        config.camera = Some(station::camera::CameraSettings::default());
    }
    if args.no_monitor {
        config.monitor = None;
    } else if config.monitor.is_none() {
        config.monitor = Some(station::monitor::MonitorSettings::default());
    }
    if let Some(plan) = args.hifu {
        let hifu = config
            .hifu
            .get_or_insert_with(|| station::config::HifuStation {
                plan: plan.clone(),
                settings: Default::default(),
            });
        hifu.plan = plan;
    }
    if let (Some(interval), Some(hifu)) = (args.hifu_frame_interval, config.hifu.as_mut()) {
        hifu.settings.frame_interval_s = interval;
    }
    let kit = config
        .hifu
        .as_ref()
        .map(super::station_hifu::kit)
        .transpose()?;
    let audit = super::audit_file::open(&config.audit_dir, &config.pki_paths(), "station")?;
    let mut recording = None;
    let station =
        StationHandle::start_with_hifu(&config, Some(Box::new(audit.sender())), kit, |session| {
            super::record::start(config.record_dir.as_deref(), session, &mut recording)
        })?;
    println!(
        "station listening on {} (type {LOCAL_COMMANDS} or quit)",
        station.local_addr()
    );
    let _panel = match args.ui {
        Some(listen) => {
            let panel = super::bedside_ui::start(listen, &config.pki_paths(), &station)?;
            println!("bedside panel: {} (one-time sign-in link)", panel.url());
            Some(panel)
        }
        None => None,
    };
    let (tx, rx) = mpsc::channel();
    let signal_tx = tx.clone();
    ctrlc::set_handler(move || {
        let _ = signal_tx.send(Control::Quit);
    })?;
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            let control = match line.trim() {
                "quit" | "q" => Control::Quit,
                command => match LocalRequest::parse(command) {
                    Ok(Some(request)) => Control::Local(request),
                    Ok(None) => continue,
                    Err(e) => {
                        eprintln!("{e}, or quit");
                        continue;
                    }
                },
            };
            if tx.send(control).is_err() {
                return;
            }
        }
    });
    while let Ok(control) = rx.recv() {
        match control {
            Control::Local(request) => station.local_request(request),
            Control::Quit => break,
        }
    }
    let report = station.shutdown();
    super::record::finish(recording)?;
    super::audit_file::finish(audit)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "station stopped: {} commands applied, unsafe_applied {}",
            report.commands_applied, report.unsafe_applied
        );
    }
    Ok(())
}
