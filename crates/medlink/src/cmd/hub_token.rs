//! `medlink hub token issue|list|revoke`: bearer tokens for programs (docs/hub.md, "People,
//! sign-in and tokens"), with SMART-on-FHIR-style scopes. A token's secret is printed once;
//! only its SHA-256 is kept. Every change is appended to the hub's audit trail.

use super::hub_user::{cli_actor, open_accounts};
use clap::Subcommand;
use hub::auth::admin;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum HubTokenCommand {
    /// Issue a token and print it (once).
    Issue {
        /// Who or what uses it, e.g. the program's name.
        #[arg(long)]
        name: String,
        /// Space-separated scopes, e.g. "user/Observation.read user/Alert.write".
        #[arg(long)]
        scope: String,
        /// Days until it expires (never if not given).
        #[arg(long)]
        days: Option<u32>,
        /// The hub's database (tokens live in the alert journal beside it).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Print only the token (for scripts).
        #[arg(long)]
        quiet: bool,
    },
    /// List the tokens (not their secrets).
    List {
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Revoke a token by its id.
    Revoke {
        id: String,
        #[arg(long)]
        db: Option<PathBuf>,
    },
}

pub fn run(command: HubTokenCommand) -> anyhow::Result<()> {
    let now = hub::now_ms();
    match command {
        HubTokenCommand::Issue {
            name,
            scope,
            days,
            db,
            quiet,
        } => {
            let (mut accounts, _) = open_accounts(db)?;
            let issued = admin::issue_token(&mut accounts, &name, &scope, days, &cli_actor(), now)?;
            if quiet {
                println!("{}", issued.secret);
            } else {
                println!("token {} for {name}: {}", issued.id, issued.row.scopes);
                println!("send it as `Authorization: Bearer <token>`; it is shown only now:");
                println!("{}", issued.secret);
            }
        }
        HubTokenCommand::List { db } => {
            let (accounts, _) = open_accounts(db)?;
            println!("{:<10} {:<20} {:<10} scopes", "id", "name", "state");
            for token in accounts.tokens()? {
                let state = match (token.revoked_ms, token.expires_ms) {
                    (Some(_), _) => "revoked",
                    (None, Some(t)) if t <= now => "expired",
                    _ => "active",
                };
                println!(
                    "{:<10} {:<20} {:<10} {}",
                    token.id, token.name, state, token.scopes
                );
            }
        }
        HubTokenCommand::Revoke { id, db } => {
            let (mut accounts, _) = open_accounts(db)?;
            admin::revoke_token(&mut accounts, &id, &cli_actor(), now)?;
            println!("token {id} revoked");
        }
    }
    Ok(())
}
