//! Versioned schema migrations: each is applied once, in order, in one transaction with the new
//! version number (`PRAGMA user_version` of an SQLite file, a row of `schema_versions` in
//! PostgreSQL; see [`crate::db::dialect`]); a database made by a newer program (a higher
//! version than this one knows) is refused, never written. On PostgreSQL an advisory lock keeps
//! hubs that start together from migrating at the same time.

use crate::StoreError;
use crate::db::Conn;
use crate::db::dialect::{self, Migration};

/// Brings schema `what` on `conn` up to `migrations.len()`, applying the ones it lacks, then
/// runs `always` (views made anew) in the same transaction.
pub fn migrate(
    conn: &mut Conn,
    what: &str,
    migrations: &[Migration],
    always: Option<&str>,
) -> Result<(), StoreError> {
    let engine = conn.engine();
    let known = migrations.len() as i64;
    let tx = conn.transaction()?;
    let found = dialect::lock_and_read_version(&tx, what)?;
    if found > known {
        return Err(StoreError::NewerSchema {
            what: what.to_string(),
            found,
            known,
        });
    }
    for migration in migrations.iter().skip(found.max(0) as usize) {
        tx.execute_batch(&migration.sql(engine))?;
    }
    if found < known {
        dialect::write_version(&tx, what, known)?;
    }
    if let Some(sql) = always {
        tx.execute_batch(sql)?;
    }
    tx.commit()?;
    Ok(())
}
