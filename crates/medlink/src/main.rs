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
    /// Run a station and a console on this machine with simulated devices, and summarise.
    Demo(cmd::demo::DemoArgs),
    /// The patient-side station: arm, safety supervisor, QUIC listener.
    Station(cmd::station::StationArgs),
    /// The surgeon's console: connects to a station and runs an input source.
    Console(cmd::console::ConsoleArgs),
    /// Development PKI for mutual TLS.
    #[command(subcommand)]
    Pki(cmd::pki::PkiCommand),
    /// The tamper-evident audit log: verify its chain and signatures, show its entries.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),
    /// The site's admission policy: explain a decision for a certificate, validate a policy file.
    #[command(subcommand)]
    Policy(cmd::policy::PolicyCommand),
    /// Measure our figures against a baseline in the same run.
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
    /// ECG: QRS detection, evaluation, noise stress, robustness table.
    #[command(subcommand)]
    Ecg(cmd::ecg::EcgCommand),
    /// HIFU ablation: acoustic field, sonication planning and treatment simulation.
    #[command(subcommand)]
    Hifu(cmd::hifu::HifuCommand),
    /// Run the care hub: MQTT vitals ingestion, NEWS2 alerts, FHIR R4 API.
    Hub(cmd::hub::HubArgs),
    /// Simulate devices: wearables in a care home, an ambulance on its way, an ECG stream.
    #[command(subcommand)]
    Sim(cmd::sim::SimCommand),
    /// Emulated networks: the UDP impairment relay, the named profiles, the fault matrix.
    Netem(cmd::netem::NetemArgs),
    /// Replay a session recording through the same core and check every output is reproduced.
    Replay(cmd::replay::ReplayArgs),
    /// OpenIGTLink for 3D Slicer: a watch-only console republishing the session (tool tip, RCM,
    /// state, HIFU thermal map) and taking targets (docs/igtl.md).
    Igtl(cmd::igtl::IgtlCommandArgs),
}

fn main() -> anyhow::Result<()> {
    init_logging();
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Station(args) => cmd::station::run(args),
        Command::Console(args) => cmd::console::run(args),
        Command::Pki(command) => cmd::pki::run(command),
        Command::Audit(command) => cmd::audit::run(command),
        Command::Policy(command) => cmd::policy::run(command),
        Command::Bench(bench) => cmd::bench::run(bench),
        Command::Ecg(command) => cmd::ecg::run(command),
        Command::Hifu(hifu) => cmd::hifu::run(hifu),
        Command::Hub(args) => cmd::hub::run(args),
        Command::Sim(sim) => cmd::sim::run(sim),
        Command::Netem(args) => cmd::netem::run(args),
        Command::Replay(args) => cmd::replay::run(args),
        Command::Igtl(args) => cmd::igtl::run(args),
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
