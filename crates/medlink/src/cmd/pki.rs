//! `medlink pki`: the site's CA and its certificates. `init` makes a CA (keeping its key) with a
//! station and a demo surgeon's certificate; `issue` gives a person or a device a certificate with
//! their role; `revoke` adds one to the revocation list the station reloads; `list` shows them all.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use link::Role;
use link::pki::{self, LeafRequest};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum PkiCommand {
    /// Create a CA (ca.crt, ca.key) plus station and console (Demo Surgeon) certificates in DIR
    /// (PEM; keys readable by the owner only).
    Init(InitArgs),
    /// Issue a certificate to a person or a device, with their role in it (SAN URI
    /// urn:medlink:role:ROLE): writes OUT/<name>.crt, OUT/<name>.key and OUT/ca.crt.
    Issue(IssueArgs),
    /// Revoke a certificate: adds it to DIR/ca.crl, which a running station picks up at its next
    /// handshake (and on its periodic reload) without a restart.
    Revoke(RevokeArgs),
    /// List the certificates this CA issued, with their status (valid, expired, revoked).
    List(ListArgs),
}

#[derive(Args)]
pub struct InitArgs {
    /// Directory to write ca.crt, ca.key, station.crt/.key, console.crt/.key into.
    #[arg(long, default_value = "pki")]
    dir: PathBuf,
    /// Names the station is reached by (DNS names or IP addresses); repeat for several.
    #[arg(long = "station-name", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
    station_names: Vec<String>,
    /// Overwrite an existing PKI in DIR (its revocation list and register go with it).
    #[arg(long)]
    force: bool,
    /// Encrypt the CA key with the passphrase in this file (its first line).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct IssueArgs {
    /// surgeon, bedside, observer (console roles), station or hifu-device; another name is
    /// issued too but grants nothing until a station knows it.
    #[arg(long)]
    role: String,
    /// The holder's name, as the certificate's common name ("Dr Li Wei", "Theatre 3 station").
    #[arg(long)]
    name: String,
    /// Days the certificate is valid, from now.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Directory to write the holder's files into.
    #[arg(long)]
    out: PathBuf,
    /// The CA's directory (made by `pki init`).
    #[arg(long, default_value = "pki")]
    dir: PathBuf,
    /// For a station: a DNS name or IP address it is reached by; repeat for several.
    #[arg(long = "station-name")]
    station_names: Vec<String>,
    /// The file holding the CA key's passphrase, if it has one.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// Replace the holder's existing files in OUT.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub struct RevokeArgs {
    /// The certificate to revoke (PEM).
    #[arg(long, required_unless_present = "serial", conflicts_with = "serial")]
    cert: Option<PathBuf>,
    /// Or its serial, hex, as `pki list` shows it (when the certificate file is lost).
    #[arg(long)]
    serial: Option<String>,
    /// Why (RFC 5280): unspecified, keyCompromise, affiliationChanged, superseded,
    /// cessationOfOperation, certificateHold, privilegeWithdrawn, cACompromise, aACompromise.
    #[arg(long, default_value = "unspecified")]
    reason: String,
    /// The CA's directory (made by `pki init`).
    #[arg(long, default_value = "pki")]
    dir: PathBuf,
    /// The file holding the CA key's passphrase, if it has one.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct ListArgs {
    /// The CA's directory (made by `pki init`).
    #[arg(long, default_value = "pki")]
    dir: PathBuf,
}

pub fn run(command: PkiCommand) -> anyhow::Result<()> {
    match command {
        PkiCommand::Init(args) => init(args),
        PkiCommand::Issue(args) => issue(args),
        PkiCommand::Revoke(args) => revoke(args),
        PkiCommand::List(args) => list(args),
    }
}

fn init(args: InitArgs) -> anyhow::Result<()> {
    let passphrase = read_passphrase(args.passphrase_file.as_deref())?;
    let files = pki::init_with(
        &args.dir,
        &args.station_names,
        args.force,
        passphrase.as_deref(),
    )
    .with_context(|| format!("creating the PKI in {}", args.dir.display()))?;
    for path in files.written {
        println!("wrote {}", path.display());
    }
    println!(
        "station certificate names: {}",
        args.station_names.join(", ")
    );
    println!(
        "console certificate: {} (role surgeon), valid {} days",
        pki::DEMO_SURGEON,
        pki::INIT_DAYS
    );
    println!(
        "copy ca.crt + station.* to the station machine and ca.crt + console.* to the console machine; keep ca.key on neither"
    );
    Ok(())
}

fn issue(args: IssueArgs) -> anyhow::Result<()> {
    let role = Role::parse(&args.role);
    if !Role::KNOWN.contains(&role) {
        eprintln!(
            "warning: role {role:?} is not one medlink knows ({}): a station grants it nothing; issuing it anyway",
            Role::KNOWN.map(|r| r.name().to_string()).join(", ")
        );
    }
    let passphrase = read_passphrase(args.passphrase_file.as_deref())?;
    let request = LeafRequest::valid_for_days(role, &args.name, args.days, pki::now_unix())?
        .reached_by(&args.station_names);
    let issued = pki::issue(
        &args.dir,
        passphrase.as_deref(),
        &request,
        &args.out,
        args.force,
    )
    .with_context(|| {
        format!(
            "issuing a certificate from the CA in {}",
            args.dir.display()
        )
    })?;
    for path in [&issued.cert, &issued.key, &issued.ca_cert] {
        println!("wrote {}", path.display());
    }
    let id = &issued.identity;
    println!(
        "{}: role {}, serial {}, valid {} to {}",
        id.name,
        id.role,
        id.serial,
        pki::utc(id.not_before),
        pki::utc(id.not_after)
    );
    Ok(())
}

fn revoke(args: RevokeArgs) -> anyhow::Result<()> {
    let Some(reason) = pki::parse_reason(&args.reason) else {
        bail!(
            "--reason {}: not an RFC 5280 reason (unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, cACompromise, aACompromise)",
            args.reason
        );
    };
    let passphrase = read_passphrase(args.passphrase_file.as_deref())?;
    let now = pki::now_unix();
    let update = match (&args.cert, &args.serial) {
        (Some(cert), _) => pki::revoke(&args.dir, passphrase.as_deref(), cert, reason, now),
        (None, Some(serial)) => {
            pki::revoke_serial(&args.dir, passphrase.as_deref(), serial, reason, now)
        }
        (None, None) => bail!("give --cert FILE or --serial HEX"),
    }
    .with_context(|| format!("revoking with the CA in {}", args.dir.display()))?;
    let who = update.holder.as_ref().map_or_else(
        || format!("serial {}", update.entry.serial),
        ToString::to_string,
    );
    if update.already_revoked {
        println!(
            "{who} was already revoked ({}, {})",
            update.entry.reason_name(),
            pki::utc(update.entry.revoked_at)
        );
    } else {
        println!("revoked {who}: {}", update.entry.reason_name());
    }
    println!(
        "wrote {} (CRL number {}); a running station refuses it from its next handshake",
        update.crl.display(),
        update.number
    );
    Ok(())
}

fn list(args: ListArgs) -> anyhow::Result<()> {
    let listed = pki::list(&args.dir)
        .with_context(|| format!("listing the certificates of {}", args.dir.display()))?;
    let now = pki::now_unix();
    println!(
        "{:<32}  {:<12}  {:<20}  {:<24}  name",
        "serial", "role", "expires", "status"
    );
    for cert in listed {
        let id = &cert.identity;
        println!(
            "{:<32}  {:<12}  {:<20}  {:<24}  {}",
            id.serial,
            id.role.name(),
            pki::utc(id.not_after),
            cert.status(now),
            id.name
        );
    }
    Ok(())
}

/// The passphrase in `path`: its first line, without the line ending.
fn read_passphrase(path: Option<&Path>) -> anyhow::Result<Option<String>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the passphrase from {}", path.display()))?;
    let line = text.lines().next().unwrap_or("").to_string();
    if line.is_empty() {
        bail!("{}: the passphrase file is empty", path.display());
    }
    Ok(Some(line))
}
