//! `medlink station`: the patient-side station. Listens for one console at a time; local
//! commands on standard input (`estop`, `clear`, `clear-fault`, `quit`) act as the station's
//! own buttons and can never come from the network.

use super::config_file;
use clap::Args;
use station::{StationConfig, StationHandle};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc;
use teleop::LocalRequest;

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
    let mut recording = None;
    let station = StationHandle::start(&config, None, |session| {
        super::record::start(config.record_dir.as_deref(), session, &mut recording)
    })?;
    println!(
        "station listening on {} (type estop, clear, clear-fault or quit)",
        station.local_addr()
    );
    let (tx, rx) = mpsc::channel();
    let signal_tx = tx.clone();
    ctrlc::set_handler(move || {
        let _ = signal_tx.send(Control::Quit);
    })?;
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            let control = match line.trim() {
                "estop" | "e" => Control::Local(LocalRequest::Estop),
                "clear" => Control::Local(LocalRequest::EstopClear),
                "clear-fault" => Control::Local(LocalRequest::FaultClear),
                "quit" | "q" => Control::Quit,
                "" => continue,
                other => {
                    eprintln!("unknown command {other:?}: use estop, clear, clear-fault or quit");
                    continue;
                }
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
