//! One module per `medlink` subcommand; each parses its own arguments and calls into the crates.

pub mod bench;
pub mod bench_bulk;
pub mod config_file;
pub mod console;
pub mod demo;
pub mod ecg;
pub mod ecg_bench;
pub mod ecg_plot;
pub mod ecg_record;
pub mod netem;
pub mod pki;
pub mod station;
pub mod summary;
