//! `medlink hub device add|list|remove|mosquitto`: device registrations in the hub's database
//! (docs/hub.md, "Devices"): credentials for each device, bound to its patient, and mosquitto's
//! password and ACL files for a hub behind mosquitto. Every registration and removal is appended
//! to the hub's audit trail as `cli:<login>`.

use anyhow::Context;
use clap::Subcommand;
use hub::config::HubConfig;
use hub::device_acl::{self, DeviceIdentity};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum HubDeviceCommand {
    /// Register a device to a patient and print its new password (once; only a salted hash is
    /// kept). Registering a registered device gives it a new password (and patient).
    Add {
        /// Device id (its MQTT user name and the id in its topics).
        id: String,
        /// The patient every reading of the device counts for.
        #[arg(long)]
        patient: String,
        /// The hub's database.
        #[arg(long)]
        db: Option<PathBuf>,
        /// Also append `ID PASSWORD` to this file (created 0600), for `medlink sim --credentials`.
        #[arg(long)]
        credentials_file: Option<PathBuf>,
    },
    /// List the registered devices and their patients.
    List {
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Remove a device's registration: it can no longer sign in (its readings stay).
    Remove {
        id: String,
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Write mosquitto's password file (`passwd`) and ACL file (`acl`) for every registered
    /// device and the hub's own account (its password in `hub.password`, made once) into DIR.
    Mosquitto {
        #[arg(long)]
        db: Option<PathBuf>,
        /// Where the files go.
        #[arg(long)]
        dir: PathBuf,
        /// The hub's user name on mosquitto.
        #[arg(long, default_value = "medlink-hub")]
        hub_user: String,
    },
}

/// Opens the hub's database `db` (the default one if none; a postgres:// URL takes its
/// password from PGPASSWORD or ~/.pgpass); returns it with its name.
pub fn open(db: Option<PathBuf>) -> anyhow::Result<(store::Store, String)> {
    let mut config = HubConfig::default();
    if let Some(db) = db {
        config.database = db;
    }
    let location = config.location().map_err(anyhow::Error::msg)?;
    let store = store::Store::connect(&location, store::Durability::Full)
        .with_context(|| format!("opening {}", location.describe()))?;
    Ok((store, location.describe()))
}

pub fn run(command: HubDeviceCommand) -> anyhow::Result<()> {
    match command {
        HubDeviceCommand::Add {
            id,
            patient,
            db,
            credentials_file,
        } => {
            let (mut accounts, _) = super::hub_user::open_accounts(db.clone())?;
            let (mut store, path) = open(db)?;
            let password = hub::registrations::register_audited(
                &mut store,
                &mut accounts,
                (&id, &patient),
                &super::hub_user::cli_actor(),
                hub::now_ms(),
            )?;
            println!("device {id} registered to patient {patient} in {path}");
            println!("password (shown once, only its hash is stored): {password}");
            if let Some(file) = credentials_file {
                append_private(&file, &format!("{id} {password}\n"))?;
                println!("appended to {}", file.display());
            }
            Ok(())
        }
        HubDeviceCommand::List { db } => {
            let (store, _) = open(db)?;
            let registrations = store.registrations()?;
            println!("{:<24} {:<24} registered", "device", "patient");
            for r in &registrations {
                println!("{:<24} {:<24} {}", r.device, r.patient, r.created_ms);
            }
            println!("{} devices", registrations.len());
            Ok(())
        }
        HubDeviceCommand::Remove { id, db } => {
            let (mut accounts, _) = super::hub_user::open_accounts(db.clone())?;
            let (mut store, path) = open(db)?;
            let by = super::hub_user::cli_actor();
            let removed = hub::registrations::remove_audited(
                &mut store,
                &mut accounts,
                &id,
                &by,
                hub::now_ms(),
            )?;
            anyhow::ensure!(removed, "device {id} is not registered in {path}",);
            println!("device {id} removed: it can no longer sign in");
            Ok(())
        }
        HubDeviceCommand::Mosquitto { db, dir, hub_user } => {
            let (store, _) = open(db)?;
            write_mosquitto_files(&store, &dir, &hub_user)
        }
    }
}

/// Appends `line` to `file`, creating it readable by its owner only.
fn append_private(file: &Path, line: &str) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(file)
        .with_context(|| format!("opening {}", file.display()))?;
    f.write_all(line.as_bytes())
        .with_context(|| format!("writing {}", file.display()))
}

/// Writes `passwd`, `acl` and (once) `hub.password` into `dir`.
pub fn write_mosquitto_files(
    store: &store::Store,
    dir: &Path,
    hub_user: &str,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let hub_password_file = dir.join("hub.password");
    if !hub_password_file.exists() {
        let password = hub::device_secret::new_password()
            .map_err(|e| anyhow::anyhow!("no randomness for the hub's password: {e}"))?;
        append_private(&hub_password_file, &format!("{password}\n"))?;
    }
    let hub_password = std::fs::read_to_string(&hub_password_file)
        .with_context(|| format!("reading {}", hub_password_file.display()))?;
    let hub_hash = hub::device_secret::hash_new(hub_password.trim())
        .map_err(|e| anyhow::anyhow!("no randomness for a salt: {e}"))?;
    let registrations = store.registrations()?;
    let accounts = std::iter::once((hub_user, hub_hash.as_str())).chain(
        registrations
            .iter()
            .map(|r| (r.device.as_str(), r.secret_hash.as_str())),
    );
    let passwd = device_acl::mosquitto_passwords(accounts);
    let identities: Vec<DeviceIdentity> = registrations
        .iter()
        .map(|r| DeviceIdentity {
            device: r.device.clone(),
            patient: r.patient.clone(),
        })
        .collect();
    let acl = device_acl::mosquitto_acl(hub_user, &identities);
    for (name, text) in [("passwd", passwd), ("acl", acl)] {
        let path = dir.join(name);
        let temp = dir.join(format!(".{name}.new"));
        let _ = std::fs::remove_file(&temp);
        append_private(&temp, &text)?;
        std::fs::rename(&temp, &path).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "wrote {0}/passwd and {0}/acl ({1} devices) and the hub's password in {2}; in \
         mosquitto.conf: allow_anonymous false, password_file {0}/passwd, acl_file {0}/acl \
         (then `kill -HUP` mosquitto); run the hub with --mqtt-username {hub_user} \
         --mqtt-password-file {2}",
        dir.display(),
        registrations.len(),
        hub_password_file.display()
    );
    Ok(())
}
