//! Durable storage for the care hub: SQLite in WAL mode (embedded, the default) or PostgreSQL
//! (one database a site already runs), through one connection type ([`db::Conn`]) and one set
//! of SQL and migrations.
//!
//! Measurements are written in batches, one transaction per batch; the hub acknowledges a
//! measurement to its device only after [`Batch::commit`] returned. `(device, seq)` is unique,
//! so a redelivered measurement is recognised as a duplicate and stored once. Alerts go to a
//! journal of their own ([`AlertStore`]): a second SQLite file, or the same PostgreSQL database.

mod accounts;
mod alert_actions;
mod alert_feed;
mod alerts;
pub mod audit;
mod audit_table;
mod batch;
mod boots;
mod credentials;
pub mod db;
mod leases;
mod migrate;
mod patients;
mod registrations;
mod rows;
mod schema;
mod search;
pub mod testing;

pub use accounts::{AccountStore, UserRow};
pub use alert_actions::{ActionKind, ActionState, QueuedAction, Settlement};
pub use alert_feed::JournalEvent;
pub use alerts::{AlertStore, Fence, JournalChange};
pub use audit::{AuditBreak, AuditRow, NewAudit};
pub use audit_table::{read_audit_trail, read_audit_trail_at};
pub use batch::{Batch, Insert};
pub use credentials::{SessionRow, TokenRow};
pub use db::{Location, PgTarget};
pub use leases::{LeaseRound, LeaseRow, Leases, MemberRow};
pub use patients::{DeviceRow, PatientRow};
pub use registrations::Registration;
pub use search::ObservationQuery;

use db::Conn;
use std::path::Path;

/// Errors from the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Database(#[from] db::DbError),
    #[error("invalid stored data: {0}")]
    Corrupt(String),
    #[error("the {what} has schema version {found}, newer than this program knows ({known})")]
    NewerSchema {
        what: String,
        found: i64,
        known: i64,
    },
    /// Among several hubs: a change to alerts of patients in `shards` was not committed because
    /// `hub` no longer holds their leases (another hub took them over; it scores them now).
    #[error("hub {hub} no longer holds shards {shards:?}: the change was not committed")]
    NotOwner { hub: String, shards: Vec<u16> },
    /// A queued alert action was settled already (by the hub that owned its patient before).
    #[error("queued alert action {0} was settled already")]
    AlreadySettled(i64),
}

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync on every commit: survives power loss (the default).
    #[default]
    Full,
    /// No fsync per commit: survives a crash or SIGKILL of the hub, not a power cut (on
    /// PostgreSQL `synchronous_commit = off`: also survives a crash of PostgreSQL, but a power
    /// cut of its machine may lose the last few hundred milliseconds of commits).
    Normal,
}

/// The hub's database.
pub struct Store {
    pub(crate) conn: Conn,
    /// Device sequences as this connection committed them ([`boots`]).
    seqs: boots::SeqCache,
}

impl Store {
    /// Opens (and creates) the SQLite database at `path` in WAL mode.
    pub fn open(path: &Path, durability: Durability) -> Result<Store, StoreError> {
        Store::connect(&Location::Sqlite(path.to_path_buf()), durability)
    }

    /// Opens (creating or migrating) the database at `location`.
    pub fn connect(location: &Location, durability: Durability) -> Result<Store, StoreError> {
        Store::init(Conn::open(location, durability)?)
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::init(Conn::open_in_memory()?)
    }

    fn init(mut conn: Conn) -> Result<Store, StoreError> {
        let views = schema::views(conn.engine());
        migrate::migrate(&mut conn, "database", schema::MIGRATIONS, Some(&views))?;
        Ok(Store {
            conn,
            seqs: Default::default(),
        })
    }

    /// The connection, for store modules that add tables of their own.
    pub fn conn(&self) -> &Conn {
        &self.conn
    }

    /// Starts a batch: everything inserted through it commits together or not at all.
    pub fn begin_batch(&mut self) -> Result<Batch<'_>, StoreError> {
        Ok(Batch::new(self.conn.transaction()?, &self.seqs))
    }

    /// Number of stored measurements.
    pub fn measurement_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_value("SELECT count(*) FROM measurements", &[])?)
    }

    /// Whether the measurement `(device, seq)` is stored.
    pub fn contains(&self, device: &str, seq: u64) -> Result<bool, StoreError> {
        let found = self.conn.query_opt(
            "SELECT 1 FROM measurements WHERE device = ?1 AND seq = ?2",
            &values![device, seq],
        )?;
        Ok(found.is_some())
    }
}
