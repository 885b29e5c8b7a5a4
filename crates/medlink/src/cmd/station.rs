//! `medlink station`: the patient-side station. Listens for one console at a time; local
//! commands on standard input (`estop`, `clear`, `clear-fault`, `quit`) act as the station's
//! own buttons and can never come from the network.

use super::config_file;
use clap::Args;
use safety::Request;
use station::{StationConfig, StationHandle};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc;

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
    /// Print the final report as JSON when stopping.
    #[arg(long)]
    json: bool,
}

enum Control {
    Local(Request),
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
    let station = StationHandle::start(&config)?;
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
                "estop" | "e" => Control::Local(Request::LocalEstop),
                "clear" => Control::Local(Request::LocalEstopClear),
                "clear-fault" => Control::Local(Request::LocalFaultClear),
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
