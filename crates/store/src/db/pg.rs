//! The PostgreSQL side of [`super::Conn`]: a thread of its own owns the `postgres::Client` and
//! runs the jobs sent to it, one at a time; callers block on the reply, as they block on an
//! SQLite call. (The sync client runs a tokio runtime of its own and panics when called from
//! inside another one, which the hub's HTTP handlers are; on its own thread it never is.)
//! Statements are prepared once per connection and cached. A connection found closed between
//! transactions (the server restarted) is opened again before the next statement.

use super::{Column, DbError, PgTarget, Row, Value};
use crate::Durability;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

type Job = Box<dyn FnOnce(&mut Worker) + Send>;

/// The connection's handle: where jobs go.
pub(super) struct PgConn {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

struct Worker {
    client: Client,
    config: postgres::Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    settings: String,
    statements: HashMap<String, Statement>,
    in_transaction: bool,
}

fn connect(
    config: &postgres::Config,
    tls: &Option<tokio_postgres_rustls::MakeRustlsConnect>,
    settings: &str,
) -> Result<Client, DbError> {
    let mut client = match tls {
        Some(tls) => config.connect(tls.clone())?,
        None => config.connect(NoTls)?,
    };
    client.batch_execute(settings)?;
    Ok(client)
}

impl PgConn {
    pub(super) fn connect(target: &PgTarget, durability: Durability) -> Result<PgConn, DbError> {
        let config = target.client_config()?;
        let tls = match target.tls_root() {
            Some(ca_file) => Some(super::pg_tls::connector(ca_file)?),
            None => None,
        };
        // `off`: a commit returns before its WAL record is flushed; survives a crash of the hub
        // or of PostgreSQL itself (the WAL is written, and flushed within 3 x wal_writer_delay),
        // not a power cut of the database machine within that window.
        let settings = format!(
            "SET synchronous_commit = {}; SET client_min_messages = warning;",
            match durability {
                Durability::Full => "on",
                Durability::Normal => "off",
            }
        );
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (ready, started) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("postgres".into())
            .spawn(move || {
                let client = match connect(&config, &tls, &settings) {
                    Ok(client) => client,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                let mut worker = Worker {
                    client,
                    config,
                    tls,
                    settings,
                    statements: HashMap::new(),
                    in_transaction: false,
                };
                while let Ok(job) = inbox.recv() {
                    job(&mut worker);
                }
            })
            .map_err(|e| DbError::Connection(format!("cannot start its thread: {e}")))?;
        let conn = PgConn {
            jobs: Some(jobs),
            thread: Some(thread),
        };
        started
            .recv()
            .map_err(|_| DbError::Connection("its thread ended while connecting".into()))??;
        Ok(conn)
    }

    fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Worker) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let gone = || DbError::Connection("its thread has ended".into());
        let (reply, answer) = mpsc::sync_channel(1);
        let jobs = self.jobs.as_ref().ok_or_else(gone)?;
        jobs.send(Box::new(move |worker: &mut Worker| {
            let _ = reply.send(worker.reopen_if_closed().and_then(|()| job(worker)));
        }))
        .map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }

    pub(super) fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, DbError> {
        let sql = sql.to_string();
        self.run(move |w| {
            let stmt = w.statement(&sql)?;
            let bound = bind_all(&stmt, &params)?;
            Ok(w.client.execute(&stmt, &refs(&bound))?)
        })
    }

    pub(super) fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, DbError> {
        let sql = sql.to_string();
        self.run(move |w| {
            let stmt = w.statement(&sql)?;
            let bound = bind_all(&stmt, &params)?;
            let rows = w.client.query(&stmt, &refs(&bound))?;
            rows.iter().map(row_of).collect()
        })
    }

    /// Runs one query whose parameters are whole columns (PostgreSQL arrays).
    pub(super) fn query_columns(
        &self,
        sql: &str,
        columns: Vec<Column>,
    ) -> Result<Vec<Row>, DbError> {
        let sql = sql.to_string();
        self.run(move |w| {
            let stmt = w.statement(&sql)?;
            let bound: Vec<&(dyn ToSql + Sync)> = columns
                .iter()
                .map(|c| match c {
                    Column::Text(v) => v as &(dyn ToSql + Sync),
                    Column::Int(v) => v as &(dyn ToSql + Sync),
                    Column::Real(v) => v as &(dyn ToSql + Sync),
                })
                .collect();
            let rows = w.client.query(&stmt, &bound)?;
            rows.iter().map(row_of).collect()
        })
    }

    pub(super) fn execute_batch(&self, sql: String) -> Result<(), DbError> {
        self.run(move |w| {
            let done = w.client.batch_execute(&sql);
            match sql.trim() {
                "BEGIN" => w.in_transaction = done.is_ok(),
                "COMMIT" | "ROLLBACK" => w.in_transaction = false,
                _ => {}
            }
            Ok(done?)
        })
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        self.jobs = None; // the thread's loop ends when its inbox closes
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Worker {
    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(sql)?;
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    /// Opens the connection again if the server closed it, unless a transaction was open on it
    /// (that one is lost: its statements fail, and the caller's rollback ends it).
    fn reopen_if_closed(&mut self) -> Result<(), DbError> {
        if !self.client.is_closed() {
            return Ok(());
        }
        if self.in_transaction {
            self.in_transaction = false;
            return Err(DbError::Connection(
                "the server closed the connection during a transaction".into(),
            ));
        }
        let mut config = self.config.clone();
        config.connect_timeout(Duration::from_secs(5));
        self.client = connect(&config, &self.tls, &self.settings)?;
        self.statements.clear();
        tracing::info!("reconnected to PostgreSQL");
        Ok(())
    }
}

/// An error with what the server said (`postgres::Error` alone displays only "db error").
pub(super) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

type Bound = Box<dyn ToSql + Sync + Send>;

fn refs(bound: &[Bound]) -> Vec<&(dyn ToSql + Sync)> {
    bound
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn bind_all(stmt: &Statement, params: &[Value]) -> Result<Vec<Bound>, DbError> {
    stmt.params()
        .iter()
        .zip(params)
        .enumerate()
        .map(|(i, (ty, v))| bind(i + 1, ty, v))
        .collect()
}

fn is_text(ty: &Type) -> bool {
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(ty)
}

/// `value` as the Rust type the server expects for parameter `$index` of type `ty`.
fn bind(index: usize, ty: &Type, value: &Value) -> Result<Bound, DbError> {
    let bound: Bound = match (value, ty) {
        (Value::Null, t) if *t == Type::INT2 => Box::new(None::<i16>),
        (Value::Null, t) if *t == Type::INT4 => Box::new(None::<i32>),
        (Value::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Value::Null, t) if *t == Type::FLOAT4 => Box::new(None::<f32>),
        (Value::Null, t) if *t == Type::FLOAT8 => Box::new(None::<f64>),
        (Value::Null, t) if *t == Type::BOOL => Box::new(None::<bool>),
        (Value::Null, t) if is_text(t) => Box::new(None::<String>),
        (Value::Int(v), t) if *t == Type::INT8 => Box::new(*v),
        (Value::Int(v), t) if *t == Type::INT4 => Box::new(i32::try_from(*v).map_err(|_| {
            DbError::Param(format!("${index}: {v} does not fit an integer column"))
        })?),
        (Value::Int(v), t) if *t == Type::INT2 => Box::new(i16::try_from(*v).map_err(|_| {
            DbError::Param(format!("${index}: {v} does not fit a smallint column"))
        })?),
        (Value::Int(v), t) if *t == Type::FLOAT8 => Box::new(*v as f64),
        (Value::Int(v), t) if *t == Type::BOOL => Box::new(*v != 0),
        (Value::Real(v), t) if *t == Type::FLOAT8 => Box::new(*v),
        (Value::Real(v), t) if *t == Type::FLOAT4 => Box::new(*v as f32),
        (Value::Text(v), t) if is_text(t) => Box::new(v.clone()),
        (v, t) => {
            return Err(DbError::Param(format!(
                "${index}: cannot pass {v:?} as PostgreSQL type {t}"
            )));
        }
    };
    Ok(bound)
}

fn row_of(row: &postgres::Row) -> Result<Row, DbError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i)?.map(Value::Real)
        } else if *ty == Type::FLOAT4 {
            row.try_get::<_, Option<f32>>(i)?
                .map(|v| Value::Real(v.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if is_text(ty) {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        } else if *ty == Type::VOID {
            None // what a function called for its effect returns (pg_advisory_xact_lock)
        } else {
            return Err(DbError::Param(format!(
                "column {} has PostgreSQL type {ty}, which the store does not read",
                column.name()
            )));
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}
