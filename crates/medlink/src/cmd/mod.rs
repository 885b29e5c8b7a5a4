//! One module per `medlink` subcommand; each parses its own arguments and calls into the crates.

pub mod bench;
pub mod bench_bulk;
pub mod bench_hifu;
pub mod bench_hub;
pub mod bench_link;
pub mod config_file;
pub mod console;
pub mod demo;
pub mod ecg;
pub mod ecg_bench;
pub mod ecg_plot;
pub mod ecg_record;
pub mod hifu;
pub mod hifu_field;
pub mod hifu_images;
pub mod hifu_simulate;
pub mod hub;
pub mod netem;
pub mod pki;
pub mod scenario;
pub mod sim;
pub mod sim_ambulance;
pub mod sim_ecg;
pub mod sim_wearables;
pub mod station;
pub mod summary;
