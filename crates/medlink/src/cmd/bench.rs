//! `medlink bench ...`: each benchmark measures ours and a baseline in the same run and prints the ratio.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Bioheat cell updates/s against memory bandwidth (STREAM triad) and a NumPy implementation.
    Hifu(crate::cmd::bench_hifu::BenchHifuArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Hifu(args) => crate::cmd::bench_hifu::run(args),
    }
}
