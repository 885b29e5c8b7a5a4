//! `medlink pki init`: a development CA and certificates for a station and a console.

use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum PkiCommand {
    /// Create a CA plus station and console certificates in DIR (PEM; keys readable by the owner only).
    Init(InitArgs),
}

#[derive(Args)]
pub struct InitArgs {
    /// Directory to write ca.crt, station.crt/.key, console.crt/.key into.
    #[arg(long, default_value = "pki")]
    dir: PathBuf,
    /// Names the station is reached by (DNS names or IP addresses); repeat for several.
    #[arg(long = "station-name", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
    station_names: Vec<String>,
    /// Overwrite an existing PKI in DIR.
    #[arg(long)]
    force: bool,
}

pub fn run(command: PkiCommand) -> anyhow::Result<()> {
    match command {
        PkiCommand::Init(args) => {
            let files = link::pki::init(&args.dir, &args.station_names, args.force)
                .with_context(|| format!("creating the PKI in {}", args.dir.display()))?;
            for path in files.written {
                println!("wrote {}", path.display());
            }
            println!(
                "station certificate names: {}",
                args.station_names.join(", ")
            );
            println!(
                "copy ca.crt + station.* to the station machine and ca.crt + console.* to the console machine"
            );
            Ok(())
        }
    }
}
