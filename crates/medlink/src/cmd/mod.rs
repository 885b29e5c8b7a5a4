//! One module per `medlink` subcommand; each parses its own arguments and calls into the crates.

pub mod bench;
