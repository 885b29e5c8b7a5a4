//! `medlink demo`: a station and a console on this machine, joined by real QUIC with mutual TLS
//! on loopback, running a scripted procedure on the simulated arm, then the session summary.

use super::console::RunArgs;
use super::summary;
use anyhow::Context;
use clap::Args;
use console::ConsoleConfig;
use link::relay::{Relay, RelayConfig};
use station::{StationConfig, StationHandle};
use teleop::TimeSource;

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
}

/// The demo's length when `--duration` is not given.
const DEFAULT_DURATION_S: f64 = 10.0;

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    if let Some(error) = args.clock_error_us {
        anyhow::ensure!(error >= 0, "--clock-error-us must not be negative");
    }
    let time_source = args
        .clock_error_us
        .map_or(TimeSource::Monotonic, |max_error_us| {
            TimeSource::Disciplined { max_error_us }
        });
    let pki = tempfile::tempdir().context("creating a temporary PKI directory")?;
    link::pki::init(pki.path(), &["localhost".into()], false)?;
    // One process, one clock: both sides share its zero, so the station knows every command's
    // true age and reports it beside the bound it judged by and the clock-sync estimate.
    let epoch = std::time::Instant::now();
    let station_config = StationConfig {
        listen: "127.0.0.1:0".parse()?,
        pki_dir: pki.path().to_owned(),
        record_dir: args.record.clone(),
        shared_epoch: Some(epoch),
        time_source,
        ..StationConfig::default()
    };
    let mut station_recording = None;
    let station = StationHandle::start(&station_config, None, |session| {
        super::record::start(args.record.as_deref(), session, &mut station_recording)
    })?;
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
        record_dir: args.record.clone(),
        shared_epoch: Some(epoch),
        time_source,
        ..ConsoleConfig::default()
    };
    let mut console_recording = None;
    let result = console::run(&console_config, console::Controls::default(), |session| {
        super::record::start(args.record.as_deref(), session, &mut console_recording)
    });
    let final_station = station.shutdown();
    super::record::finish(console_recording)?;
    super::record::finish(station_recording)?;
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
