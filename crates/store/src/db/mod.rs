//! One connection type over both engines the store runs on: SQLite (embedded, the default) and
//! PostgreSQL (a server the site already runs). Every store module writes its SQL once, with
//! numbered `?N` placeholders, and runs it through [`Conn`]; values go in and come out as the
//! small [`Value`] enum. The few places where the engines differ (DDL types, identity columns,
//! session settings, where the schema version is kept) live in [`dialect`].
//!
//! Portable SQL, as the store writes it: `?1 ... ?N` placeholders (translated to `$1 ... $N` for
//! PostgreSQL), integers as `i64` (BIGINT), reals as `f64` (DOUBLE PRECISION), text, booleans
//! stored as 0/1 integers; `INSERT ... ON CONFLICT (...) DO NOTHING / DO UPDATE SET x =
//! excluded.x` instead of `INSERT OR IGNORE/REPLACE`; `RETURNING` for generated ids; `rowid`
//! is a real column on PostgreSQL where a table is ordered by it; a parameter whose type only
//! its use would tell (`?1 IS NULL`) is cast: `CAST(?1 AS TEXT)`.

pub mod dialect;
mod location;
mod pg;
mod pg_tls;
mod sqlite;
mod value;

pub use location::{Location, PgTarget, is_postgres_url};
pub(crate) use sqlite::sqlite_value;
pub use value::{FromValue, Row, Value};

use crate::Durability;

/// Errors from either engine, or from reading a value as the wrong type.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", pg::describe(.0))]
    Postgres(#[from] postgres::Error),
    #[error("column {column}: expected {expected}, found {found}")]
    Type {
        column: usize,
        expected: &'static str,
        found: String,
    },
    #[error("column {0} is not in the row")]
    NoColumn(usize),
    #[error("PostgreSQL connection: {0}")]
    Connection(String),
    #[error("PostgreSQL parameter or column: {0}")]
    Param(String),
    #[error("database location: {0}")]
    Location(String),
}

/// A whole column of values, bound as one PostgreSQL array parameter (`$1::text[]`).
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
}

/// Which engine a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

enum Backend {
    Sqlite(sqlite::SqliteConn),
    Postgres(pg::PgConn),
}

/// A connection to either engine. Every method takes `&self` (a PostgreSQL connection is a
/// thread of its own that runs the statements sent to it, so it may be used from async code);
/// a transaction takes `&mut self`, so nothing else runs on the connection meanwhile.
pub struct Conn {
    backend: Backend,
}

impl Conn {
    /// Opens a connection to `location` with the durability every commit gets.
    pub fn open(location: &Location, durability: Durability) -> Result<Conn, DbError> {
        let backend = match location {
            Location::Sqlite(path) => Backend::Sqlite(sqlite::SqliteConn::open(path, durability)?),
            Location::Postgres(target) => {
                Backend::Postgres(pg::PgConn::connect(target, durability)?)
            }
        };
        Ok(Conn { backend })
    }

    /// A private in-memory SQLite database, for tests.
    pub fn open_in_memory() -> Result<Conn, DbError> {
        Ok(Conn {
            backend: Backend::Sqlite(sqlite::SqliteConn::open_in_memory()?),
        })
    }

    /// The engine behind this connection.
    pub fn engine(&self) -> Engine {
        match self.backend {
            Backend::Sqlite(_) => Engine::Sqlite,
            Backend::Postgres(_) => Engine::Postgres,
        }
    }

    /// Runs one statement; returns how many rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match &self.backend {
            Backend::Sqlite(c) => c.execute(sql, params),
            Backend::Postgres(c) => c.execute(&dialect::numbered_to_dollar(sql), params.to_vec()),
        }
    }

    /// Runs one single-row INSERT whose SQL ends in `RETURNING id`: the new row's id, or
    /// `None` when it inserted nothing (`ON CONFLICT DO NOTHING`). SQLite runs it without the
    /// RETURNING clause and reads the row id (in-process, a statement per row is the fast way);
    /// PostgreSQL as written.
    pub fn insert_returning_id(&self, sql: &str, params: &[Value]) -> Result<Option<i64>, DbError> {
        match &self.backend {
            Backend::Sqlite(c) => {
                let plain = sql.trim_end().strip_suffix("RETURNING id").unwrap_or(sql);
                c.insert(plain, params)
            }
            Backend::Postgres(_) => match self.query_opt(sql, params)? {
                Some(row) => row.get(0).map(Some),
                None => Ok(None),
            },
        }
    }

    /// PostgreSQL only: runs one query whose parameters are whole columns, e.g. `INSERT ...
    /// SELECT * FROM unnest($1::text[], $2::int8[])` (many rows, one statement whatever their
    /// number). On SQLite it is refused: write those rows one statement each.
    pub fn query_columns(&self, sql: &str, columns: Vec<Column>) -> Result<Vec<Row>, DbError> {
        match &self.backend {
            Backend::Sqlite(_) => Err(DbError::Param(
                "array parameters are for PostgreSQL only".into(),
            )),
            Backend::Postgres(c) => c.query_columns(sql, columns),
        }
    }

    /// Runs one query; returns every row.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        match &self.backend {
            Backend::Sqlite(c) => c.query(sql, params),
            Backend::Postgres(c) => c.query(&dialect::numbered_to_dollar(sql), params.to_vec()),
        }
    }

    /// Runs one query; returns its first row, if any.
    pub fn query_opt(&self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Runs one query that returns one row of one value (a count, a max).
    pub fn query_value<T: FromValue>(&self, sql: &str, params: &[Value]) -> Result<T, DbError> {
        match self.query_opt(sql, params)? {
            Some(row) => row.get(0),
            None => T::from_value(0, Value::Null),
        }
    }

    /// Runs several statements without parameters (DDL, session settings).
    pub fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        match &self.backend {
            Backend::Sqlite(c) => c.execute_batch(sql),
            Backend::Postgres(c) => c.execute_batch(sql.to_string()),
        }
    }

    /// Starts a transaction: committed by [`Tx::commit`], rolled back when dropped without.
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): another process writes
    /// the same file, and a read upgraded to a write would fail busy instead of waiting.
    pub fn transaction(&mut self) -> Result<Tx<'_>, DbError> {
        let begin = match self.engine() {
            Engine::Sqlite => "BEGIN IMMEDIATE",
            Engine::Postgres => "BEGIN",
        };
        self.execute_batch(begin)?;
        Ok(Tx {
            conn: self,
            open: true,
        })
    }
}

/// An open transaction; it reads and writes through the connection it borrows (it derefs to
/// [`Conn`]), so code written for a connection runs inside a transaction unchanged.
pub struct Tx<'a> {
    conn: &'a Conn,
    open: bool,
}

impl Tx<'_> {
    /// Commits; returns once the engine says the transaction is durable (per the durability
    /// the connection was opened with).
    pub fn commit(mut self) -> Result<(), DbError> {
        self.open = false;
        self.conn.execute_batch("COMMIT")
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::warn!("rollback failed: {e}");
        }
    }
}

/// The `?1, ?2, ...` marks of `count` parameters starting after `first - 1`, for a values list.
pub fn marks(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("?{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
