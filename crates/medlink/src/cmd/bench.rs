//! `medlink bench ...`: each benchmark measures ours and a baseline in the same run and prints the ratio.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {}
}
