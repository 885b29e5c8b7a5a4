//! `medlink bench ...`: each benchmark measures ours and a baseline in the same run and prints the ratio.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Care hub: observations/s end to end and alert latency, against mosquitto alone.
    Hub(super::bench_hub::BenchHubArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Hub(args) => super::bench_hub::run(args),
    }
}
