//! `medlink hub`: runs the care hub (MQTT ingestion, NEWS2, alerts, FHIR, metrics);
//! `medlink hub audit verify --db PATH` checks the hub's audit trail instead; `medlink hub user`
//! and `medlink hub token` manage who may sign in and which programs may call it.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use hub::config::HubConfig;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HubArgs {
    #[command(subcommand)]
    command: Option<HubCommand>,
    /// TOML configuration file (every field optional; see docs/hub.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// SQLite database file (the alert journal goes beside it: `hub.db` gives `hub.alerts.db`),
    /// or a PostgreSQL database: postgres://user@host:port/dbname (loopback; no password in it).
    #[arg(long)]
    db: Option<PathBuf>,
    /// File whose first line is the PostgreSQL password (else PGPASSWORD or ~/.pgpass).
    #[arg(long)]
    db_password_file: Option<PathBuf>,
    /// HTTP address for FHIR, alerts, events and metrics.
    #[arg(long)]
    http: Option<SocketAddr>,
    /// Subscribe to an external broker (mqtt://host:port, on loopback: plain MQTT is refused
    /// beyond it; see docs/deploy.md for a TLS tunnel) instead of serving devices itself.
    #[arg(long)]
    mqtt: Option<String>,
    /// Address of the embedded MQTT gateway (beyond loopback it needs --mqtt-tls-cert/-key).
    #[arg(long)]
    mqtt_listen: Option<SocketAddr>,
    /// Certificate (PEM) for MQTT over TLS on the embedded gateway.
    #[arg(long, requires = "mqtt_tls_key")]
    mqtt_tls_cert: Option<PathBuf>,
    /// Key (PEM) of --mqtt-tls-cert.
    #[arg(long, requires = "mqtt_tls_cert")]
    mqtt_tls_key: Option<PathBuf>,
    /// The hub's user name on the external broker (see `medlink hub device mosquitto`).
    #[arg(long, requires = "mqtt_password_file")]
    mqtt_username: Option<String>,
    /// File whose first line is the hub's password on the external broker.
    #[arg(long, requires = "mqtt_username")]
    mqtt_password_file: Option<PathBuf>,
    /// The hub's certificate (PEM): HTTPS, required when --http is not a loopback address.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Skip the fsync per commit (survives a hub crash, not a power cut).
    #[arg(long)]
    no_fsync: bool,
    /// Score vitals on the durable connection only, not on arrival over a second connection
    /// (alerts then wait for commits under load; docs/hub.md).
    #[arg(long)]
    no_alert_fast_path: bool,
    /// This hub's name among several sharing a ward (default: the host name and a random
    /// suffix); its MQTT client ids are made from it.
    #[arg(long)]
    hub_id: Option<String>,
    /// Share the ward with the other hubs on the same broker and database: patients split in
    /// shards leased in the database, each hub subscribed to its own patients' devices only
    /// (docs/hub.md, "Several hubs"). Needs --mqtt.
    #[arg(long)]
    cluster: bool,
}

#[derive(Subcommand)]
enum HubCommand {
    /// The hub's audit trail (docs/hub.md, "Audit").
    #[command(subcommand)]
    Audit(HubAuditCommand),
    /// Device registrations and credentials (docs/hub.md, "Devices").
    #[command(subcommand)]
    Device(super::hub_device::HubDeviceCommand),
    /// Accounts of the people who sign in (docs/hub.md, "People, sign-in and tokens").
    #[command(subcommand)]
    User(super::hub_user::HubUserCommand),
    /// Bearer tokens for programs, with scopes (docs/hub.md, "People, sign-in and tokens").
    #[command(subcommand)]
    Token(super::hub_token::HubTokenCommand),
}

#[derive(Subcommand)]
enum HubAuditCommand {
    /// Walk the audit trail's hash chain: print OK, or the first row that is wrong (and fail).
    Verify {
        /// The hub's database (the trail is in the alert journal beside it: `hub.db` gives
        /// `hub.alerts.db`), or a postgres:// URL.
        #[arg(long)]
        db: Option<PathBuf>,
        /// File whose first line is the PostgreSQL password (else PGPASSWORD or ~/.pgpass).
        #[arg(long)]
        db_password_file: Option<PathBuf>,
    },
}

impl HubArgs {
    fn into_config(self) -> anyhow::Result<HubConfig> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => HubConfig::default(),
        };
        if let Some(db) = self.db {
            config.database = db;
        }
        if let Some(file) = self.db_password_file {
            config.database_password_file = Some(file);
        }
        if let Some(http) = self.http {
            config.http = http;
        }
        if let Some(url) = self.mqtt {
            config.mqtt_url = Some(url);
        }
        if let Some(listen) = self.mqtt_listen {
            config.mqtt_listen = listen;
        }
        config.mqtt_tls_cert = self.mqtt_tls_cert.or(config.mqtt_tls_cert);
        config.mqtt_tls_key = self.mqtt_tls_key.or(config.mqtt_tls_key);
        config.mqtt_username = self.mqtt_username.or(config.mqtt_username);
        config.mqtt_password_file = self.mqtt_password_file.or(config.mqtt_password_file);
        config.tls_cert = self.tls_cert.or(config.tls_cert);
        config.tls_key = self.tls_key.or(config.tls_key);
        if self.no_fsync {
            config.fsync = false;
        }
        if self.no_alert_fast_path {
            config.alert_fast_path = false;
        }
        config.hub_id = self.hub_id.or(config.hub_id);
        config.cluster |= self.cluster;
        Ok(config)
    }
}

pub fn run(mut args: HubArgs) -> anyhow::Result<()> {
    match args.command.take() {
        Some(HubCommand::Audit(HubAuditCommand::Verify {
            db,
            db_password_file,
        })) => return verify_audit(db, db_password_file),
        Some(HubCommand::Device(command)) => return super::hub_device::run(command),
        Some(HubCommand::User(command)) => return super::hub_user::run(command),
        Some(HubCommand::Token(command)) => return super::hub_token::run(command),
        None => {}
    }
    let config = args.into_config()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let outcome = runtime.block_on(async {
        let hub = hub::start(config).await?;
        println!("hub {}: HTTP on {}", hub.hub_id, hub.http_addr);
        tokio::select! {
            result = hub.wait() => result.context("the hub stopped"),
            signal = stop_signal() => {
                tracing::info!("{signal}; stopping");
                Ok(())
            }
        }
    });
    // Every acknowledged reading and alert change is already committed: the ingest thread and
    // the blocking waits on it are not joined (they would keep the process alive).
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    outcome
}

/// Waits for Ctrl-C or SIGTERM (what systemd and container runtimes send) and names it.
async fn stop_signal() -> &'static str {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(e) => {
                tracing::warn!("cannot watch for SIGTERM: {e}");
                let _ = tokio::signal::ctrl_c().await;
                return "interrupted";
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = terminate.recv() => "terminated",
    }
}

fn verify_audit(db: Option<PathBuf>, password_file: Option<PathBuf>) -> anyhow::Result<()> {
    let mut config = HubConfig::default();
    if let Some(db) = db {
        config.database = db;
    }
    config.database_password_file = password_file;
    let journal = config.journal_location().map_err(anyhow::Error::msg)?;
    let name = journal.describe();
    if let store::Location::Sqlite(path) = &journal
        && !path.is_file()
    {
        bail!("no alert journal at {name}");
    }
    let rows = store::read_audit_trail_at(&journal)
        .with_context(|| format!("reading the audit trail in {name}"))?;
    match store::audit::verify(&rows) {
        Ok(n) => {
            println!("OK: {n} audit rows in {name} hold together");
            Ok(())
        }
        Err(broken) => {
            println!("BAD: {broken}");
            bail!("{name}: {broken}")
        }
    }
}
