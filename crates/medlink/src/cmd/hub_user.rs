//! `medlink hub user add|list|disable|passwd`: the hub's local accounts (docs/hub.md, "People,
//! sign-in and tokens"). Passwords come from `--password-file`, else are asked for on the
//! terminal without echo, else read from the first line of standard input; only an argon2id
//! hash is kept. Every change is appended to the hub's audit trail as `cli:<login>`.

use anyhow::{Context, bail};
use clap::Subcommand;
use hub::auth::{Role, admin};
use hub::config::HubConfig;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use store::{AccountStore, Durability};

#[derive(Subcommand)]
pub enum HubUserCommand {
    /// Add an account.
    Add {
        /// The account's name (1-64 letters, digits, '.', '_', '-').
        name: String,
        /// nurse, charge_nurse, doctor, rapid_response, admin or viewer.
        #[arg(long)]
        role: Role,
        /// File whose first line is the password (else asked for, or read from stdin).
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// The hub's database (accounts live in the alert journal beside it).
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// List the accounts with their roles.
    List {
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Disable an account and end its sessions.
    Disable {
        name: String,
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Set an account's password and end its sessions.
    Passwd {
        name: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
        #[arg(long)]
        db: Option<PathBuf>,
    },
}

/// Opens the accounts of the hub whose database is `db` (the default one if none; a
/// postgres:// URL takes its password from PGPASSWORD or ~/.pgpass); returns them with the
/// journal's name.
pub fn open_accounts(db: Option<PathBuf>) -> anyhow::Result<(AccountStore, String)> {
    let mut config = HubConfig::default();
    if let Some(db) = db {
        config.database = db;
    }
    let journal = config.journal_location().map_err(anyhow::Error::msg)?;
    let accounts = AccountStore::connect(&journal, Durability::Full)
        .with_context(|| format!("opening the accounts in {}", journal.describe()))?;
    Ok((accounts, journal.describe()))
}

/// Who runs the command, as the audit trail names them: `cli:<login>`.
pub fn cli_actor() -> String {
    let login = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| format!("uid-{}", unsafe { libc::getuid() }));
    format!("cli:{login}")
}

pub fn run(command: HubUserCommand) -> anyhow::Result<()> {
    let actor = cli_actor();
    let now = hub::now_ms();
    match command {
        HubUserCommand::Add {
            name,
            role,
            password_file,
            db,
        } => {
            let password = read_password(password_file.as_deref(), &name)?;
            let (mut accounts, journal) = open_accounts(db)?;
            admin::add_user(&mut accounts, &name, role, &password, &actor, now)?;
            println!("account {name} ({role}) added to {journal}");
        }
        HubUserCommand::List { db } => {
            let (accounts, _) = open_accounts(db)?;
            println!("{:<24} {:<15} state", "name", "role");
            for user in accounts.users()? {
                let state = if user.disabled { "disabled" } else { "enabled" };
                println!("{:<24} {:<15} {state}", user.name, user.role);
            }
        }
        HubUserCommand::Disable { name, db } => {
            let (mut accounts, _) = open_accounts(db)?;
            admin::disable_user(&mut accounts, &name, &actor, now)?;
            println!("account {name} disabled; its sessions have ended");
        }
        HubUserCommand::Passwd {
            name,
            password_file,
            db,
        } => {
            let password = read_password(password_file.as_deref(), &name)?;
            let (mut accounts, _) = open_accounts(db)?;
            admin::change_password(&mut accounts, &name, &password, &actor, now)?;
            println!("password of {name} changed; its sessions have ended");
        }
    }
    Ok(())
}

/// The new password for `name`: from `file`, else asked twice on the terminal, else the first
/// line of standard input.
fn read_password(file: Option<&Path>, name: &str) -> anyhow::Result<String> {
    let password = match file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            text.lines().next().unwrap_or("").to_string()
        }
        None if std::io::stdin().is_terminal() => {
            let first = prompt_hidden(&format!("password for {name}: "))?;
            let again = prompt_hidden("the same password again: ")?;
            if first != again {
                bail!("the two passwords differ");
            }
            first
        }
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    hub::auth::password::check_strength(&password, name)?;
    Ok(password)
}

/// Asks on the terminal with echo off.
fn prompt_hidden(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data filled in by tcgetattr on a terminal (checked above).
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    let echo_off = unsafe { libc::tcgetattr(fd, &mut saved) } == 0 && {
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) == 0 }
    };
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if echo_off {
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    }
    eprintln!();
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
