//! Durable storage for the care hub: SQLite in WAL mode.
//!
//! Measurements are written in batches, one transaction per batch; the hub acknowledges a
//! measurement to its device only after [`Batch::commit`] returned. `(device, seq)` is unique,
//! so a redelivered measurement is recognised as a duplicate and stored once. Alerts go to a
//! journal of their own ([`AlertStore`]).

mod accounts;
mod alerts;
pub mod audit;
mod audit_table;
mod batch;
mod boots;
mod credentials;
mod migrate;
mod patients;
mod registrations;
mod rows;
mod schema;
mod search;

pub use accounts::{AccountStore, UserRow};
pub use alerts::AlertStore;
pub use audit::{AuditBreak, AuditRow, NewAudit};
pub use audit_table::read_audit_trail;
pub use batch::{Batch, Insert};
pub use credentials::{SessionRow, TokenRow};
pub use patients::{DeviceRow, PatientRow};
pub use registrations::Registration;
pub use search::ObservationQuery;

use rusqlite::Connection;
use std::path::Path;

/// Errors from the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("invalid stored data: {0}")]
    Corrupt(String),
    #[error("the {what} has schema version {found}, newer than this program knows ({known})")]
    NewerSchema {
        what: String,
        found: i64,
        known: i64,
    },
}

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync on every commit: survives power loss (the default).
    #[default]
    Full,
    /// No fsync per commit: survives a crash or SIGKILL of the hub, not a power cut.
    Normal,
}

/// The hub's database.
pub struct Store {
    conn: Connection,
    /// Device sequences as this connection committed them ([`boots`]).
    seqs: boots::SeqCache,
}

impl Store {
    /// Opens (and creates) the database at `path` in WAL mode.
    pub fn open(path: &Path, durability: Durability) -> Result<Store, StoreError> {
        Store::init(Connection::open(path)?, durability)
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?, Durability::Normal)
    }

    fn init(mut conn: Connection, durability: Durability) -> Result<Store, StoreError> {
        configure(&conn, durability)?;
        migrate::migrate(&mut conn, "database", schema::MIGRATIONS)?;
        conn.execute_batch(schema::VIEWS)?;
        Ok(Store {
            conn,
            seqs: Default::default(),
        })
    }

    /// Starts a batch: everything inserted through it commits together or not at all.
    pub fn begin_batch(&mut self) -> Result<Batch<'_>, StoreError> {
        Ok(Batch::new(self.conn.transaction()?, &self.seqs))
    }

    /// Number of stored measurements.
    pub fn measurement_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM measurements", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Whether the measurement `(device, seq)` is stored.
    pub fn contains(&self, device: &str, seq: u64) -> Result<bool, StoreError> {
        let found = self
            .conn
            .prepare_cached("SELECT 1 FROM measurements WHERE device = ?1 AND seq = ?2")?
            .exists(rusqlite::params![device, seq as i64])?;
        Ok(found)
    }
}

/// WAL, the commit durability and a busy timeout: what every connection of ours uses.
fn configure(conn: &Connection, durability: Durability) -> Result<(), StoreError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    Ok(())
}
