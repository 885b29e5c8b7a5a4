//! medlink: remote surgery and remote care over 5G-class networks, behind one command.

mod cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "medlink",
    version,
    about = "Remote surgery and remote care over 5G-class networks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure our figures against a baseline in the same run.
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
    /// Run the care hub: MQTT vitals ingestion, NEWS2 alerts, FHIR R4 API.
    Hub(cmd::hub::HubArgs),
    /// Simulate devices: wearables in a care home, or an ambulance on its way.
    #[command(subcommand)]
    Sim(cmd::sim::SimCommand),
}

fn main() -> anyhow::Result<()> {
    init_logging();
    let cli = Cli::parse();
    match cli.command {
        Command::Bench(bench) => cmd::bench::run(bench),
        Command::Hub(args) => cmd::hub::run(args),
        Command::Sim(sim) => cmd::sim::run(sim),
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`), so stdout stays clean for `--json`.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
