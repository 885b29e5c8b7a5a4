//! `medlink bench ...`: each benchmark measures ours and a baseline in the same run and prints the ratio.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// One-way control latency: our QUIC path vs raw UDP on loopback, paced at 1 kHz and unpaced.
    Link(super::bench_link::BenchLinkArgs),
    /// ECG QRS detector: samples/s per core vs real time and vs a Python Pan-Tompkins loop.
    Ecg(super::ecg_bench::EcgBenchArgs),
    /// Bioheat cell updates/s against memory bandwidth (STREAM triad) and a NumPy implementation.
    Hifu(crate::cmd::bench_hifu::BenchHifuArgs),
    /// Care hub: observations/s end to end and alert latency, against mosquitto alone.
    Hub(super::bench_hub::BenchHubArgs),
    /// Live video: glass-to-glass and motion-to-photon in headless chromium, per network profile,
    /// with control latency without and with video.
    Video(super::bench_video::BenchVideoArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Link(args) => super::bench_link::run(args),
        BenchCommand::Ecg(args) => super::ecg_bench::run(args),
        BenchCommand::Hifu(args) => crate::cmd::bench_hifu::run(args),
        BenchCommand::Hub(args) => super::bench_hub::run(args),
        BenchCommand::Video(args) => super::bench_video::run(args),
    }
}
