//! `medlink demo`: a station and a console on this machine, joined by real QUIC with mutual TLS
//! on loopback, running a scripted procedure on the simulated arm, then the session summary.

use super::console::RunArgs;
use super::summary;
use anyhow::Context;
use clap::Args;
use console::ConsoleConfig;
use link::relay::{Relay, RelayConfig};
use station::{StationConfig, StationHandle};

#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Run the session through the netem relay with this profile (a name from `medlink netem
    /// profiles` or a TOML file); the relay's seed is `--seed`.
    #[arg(long)]
    profile: Option<String>,
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
    let relay = match &args.profile {
        Some(name) => Some(Relay::start(&RelayConfig {
            listen: "127.0.0.1:0".parse()?,
            forward: station.local_addr(),
            profile: netem::Profile::resolve(name)?,
            seed: args.run.seed,
        })?),
        None => None,
    };
    let console_config = ConsoleConfig {
        station: relay
            .as_ref()
            .map_or(station.local_addr(), Relay::local_addr),
        pki_dir: pki.path().to_owned(),
        input: args.run.input(),
        duration_s: Some(args.run.duration.unwrap_or(DEFAULT_DURATION_S)),
        ..ConsoleConfig::default()
    };
    let result = console::run(&console_config);
    let final_station = station.shutdown();
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
