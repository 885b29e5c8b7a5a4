//! One module per `medlink` subcommand; each parses its own arguments and calls into the crates.

pub mod bench;
pub mod bench_hifu;
pub mod hifu;
pub mod hifu_field;
pub mod hifu_images;
pub mod hifu_simulate;
