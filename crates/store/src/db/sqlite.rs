//! The SQLite side of [`super::Conn`]: WAL, the commit durability and a busy timeout on every
//! connection; statements prepared once and cached.

use super::{DbError, Row, Value};
use crate::Durability;
use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use std::path::Path;

pub(super) struct SqliteConn {
    conn: Connection,
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Owned(SqlValue::Null),
            Value::Int(v) => ToSqlOutput::Owned(SqlValue::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Owned(SqlValue::Real(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
        })
    }
}

fn value_of(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(String::from_utf8_lossy(t).into()),
    }
}

/// A value rusqlite read, as ours.
pub(crate) fn sqlite_value(v: SqlValue) -> Value {
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(i) => Value::Int(i),
        SqlValue::Real(r) => Value::Real(r),
        SqlValue::Text(t) => Value::Text(t),
        SqlValue::Blob(b) => Value::Text(String::from_utf8_lossy(&b).into()),
    }
}

impl SqliteConn {
    pub(super) fn open(path: &Path, durability: Durability) -> Result<SqliteConn, DbError> {
        SqliteConn::configure(Connection::open(path)?, durability)
    }

    pub(super) fn open_in_memory() -> Result<SqliteConn, DbError> {
        SqliteConn::configure(Connection::open_in_memory()?, Durability::Normal)
    }

    fn configure(conn: Connection, durability: Durability) -> Result<SqliteConn, DbError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let sync = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        conn.pragma_update(None, "busy_timeout", 5000)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteConn { conn })
    }

    pub(super) fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(params))? as u64)
    }

    pub(super) fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut found = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(value_of(row.get_ref(i)?));
            }
            found.push(Row(values));
        }
        Ok(found)
    }

    /// Runs one INSERT; the row id of the row it inserted, or `None` if it inserted none.
    pub(super) fn insert(&self, sql: &str, params: &[Value]) -> Result<Option<i64>, DbError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let changed = stmt.execute(rusqlite::params_from_iter(params))?;
        Ok((changed > 0).then(|| self.conn.last_insert_rowid()))
    }

    pub(super) fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        Ok(self.conn.execute_batch(sql)?)
    }
}
