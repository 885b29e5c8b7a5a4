//! `medlink demo`: a station and a console on this machine, joined by real QUIC with mutual TLS
//! on loopback, running a scripted procedure on the simulated arm, then the session summary.

use super::console::RunArgs;
use anyhow::Context;
use clap::Args;
use console::ConsoleConfig;
use station::{StationConfig, StationHandle};

#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    run: RunArgs,
}

/// The demo's length when `--duration` is not given.
const DEFAULT_DURATION_S: f64 = 10.0;

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let pki = tempfile::tempdir().context("creating a temporary PKI directory")?;
    link::pki::init(pki.path(), &["localhost".into()], false)?;
    let station_config = StationConfig {
        listen: "127.0.0.1:0".parse()?,
        pki_dir: pki.path().to_owned(),
        ..StationConfig::default()
    };
    let station = StationHandle::start(&station_config)?;
    let console_config = ConsoleConfig {
        station: station.local_addr(),
        pki_dir: pki.path().to_owned(),
        input: args.run.input(),
        duration_s: Some(args.run.duration.unwrap_or(DEFAULT_DURATION_S)),
        ..ConsoleConfig::default()
    };
    let result = console::run(&console_config);
    let final_station = station.shutdown();
    let report = result?;
    args.run.print(&report)?;
    anyhow::ensure!(
        final_station.unsafe_applied == 0,
        "the audit found unsafe applications"
    );
    Ok(())
}
