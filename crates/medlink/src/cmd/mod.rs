//! One module per `medlink` subcommand; each parses its own arguments and calls into the crates.

pub mod bench;
pub mod bench_hub;
pub mod hub;
pub mod scenario;
pub mod sim;
pub mod sim_ambulance;
pub mod sim_wearables;
