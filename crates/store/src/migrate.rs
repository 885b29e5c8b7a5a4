//! Versioned schema migrations: `PRAGMA user_version` counts the ones applied; each is applied
//! once, in order, in the same transaction as the version bump; a database made by a newer
//! program (a higher version than this one knows) is refused, never written.

use crate::StoreError;
use rusqlite::Connection;

/// Brings `conn` up to `migrations.len()`, applying the ones it lacks.
pub fn migrate(conn: &mut Connection, what: &str, migrations: &[&str]) -> Result<(), StoreError> {
    let known = migrations.len() as i64;
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > known {
        return Err(StoreError::NewerSchema {
            what: what.to_string(),
            found,
            known,
        });
    }
    for (version, sql) in (1..).zip(migrations).skip(found.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}
