//! Where SQLite and PostgreSQL differ, in one place: placeholders, DDL types, where a schema's
//! version is kept, and how concurrent migrations are kept apart.

use super::{Conn, DbError, Engine};

/// One schema migration: the same SQL on both engines (PostgreSQL gets it with the types
/// translated by [`postgres_ddl`]), or a text for each where they differ more.
#[derive(Debug, Clone, Copy)]
pub enum Migration {
    Same(&'static str),
    Each {
        sqlite: &'static str,
        postgres: &'static str,
    },
    /// `same` on both engines (as [`Migration::Same`]), then the engine's own part: for a
    /// migration most of whose DDL is common.
    Partly {
        same: &'static str,
        sqlite: &'static str,
        postgres: &'static str,
    },
}

impl Migration {
    /// The SQL to run on `engine`.
    pub fn sql(&self, engine: Engine) -> String {
        match (self, engine) {
            (Migration::Same(sql), Engine::Sqlite) => sql.to_string(),
            (Migration::Same(sql), Engine::Postgres) => postgres_ddl(sql),
            (Migration::Each { sqlite, .. }, Engine::Sqlite) => sqlite.to_string(),
            (Migration::Each { postgres, .. }, Engine::Postgres) => postgres.to_string(),
            (Migration::Partly { same, sqlite, .. }, Engine::Sqlite) => format!("{same}{sqlite}"),
            (Migration::Partly { same, postgres, .. }, Engine::Postgres) => {
                format!("{}{postgres}", postgres_ddl(same))
            }
        }
    }
}

/// SQLite DDL as PostgreSQL DDL: `INTEGER` becomes `BIGINT` (SQLite integers are 64-bit) and
/// `REAL` becomes `DOUBLE PRECISION`. (An `INTEGER PRIMARY KEY` whose value the database should
/// choose needs [`Migration::Each`] with an identity column.)
pub fn postgres_ddl(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 64);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(match word.as_str() {
            "INTEGER" => "BIGINT",
            "REAL" => "DOUBLE PRECISION",
            other => other,
        });
        word.clear();
    };
    for c in sql.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// `?1, ?2, ...` as PostgreSQL's `$1, $2, ...`, outside quoted strings.
pub fn numbered_to_dollar(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            c => out.push(c),
        }
    }
    out
}

/// A number every medlink process takes as a PostgreSQL advisory lock while it migrates, so
/// hubs starting together apply each migration once.
const MIGRATION_LOCK: i64 = 0x6d65_646c_696e_6b01;

/// Inside `tx`: waits until no other process migrates (PostgreSQL), then returns the version of
/// the schema `what` (how many migrations it has: `PRAGMA user_version` of an SQLite file; a
/// row of `schema_versions` in PostgreSQL, where several schemas share one database).
pub fn lock_and_read_version(tx: &Conn, what: &str) -> Result<i64, DbError> {
    match tx.engine() {
        Engine::Sqlite => tx.query_value("PRAGMA user_version", &[]),
        Engine::Postgres => {
            tx.query("SELECT pg_advisory_xact_lock(?1)", &[MIGRATION_LOCK.into()])?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_versions (
                     what    TEXT PRIMARY KEY,
                     version BIGINT NOT NULL
                 )",
            )?;
            let found: Option<i64> = tx.query_value(
                "SELECT version FROM schema_versions WHERE what = ?1",
                &[what.into()],
            )?;
            Ok(found.unwrap_or(0))
        }
    }
}

/// Inside `tx`: records that schema `what` now has `version` migrations.
pub fn write_version(tx: &Conn, what: &str, version: i64) -> Result<(), DbError> {
    match tx.engine() {
        Engine::Sqlite => tx.execute_batch(&format!("PRAGMA user_version = {version}")),
        Engine::Postgres => tx
            .execute(
                "INSERT INTO schema_versions (what, version) VALUES (?1, ?2)
                 ON CONFLICT (what) DO UPDATE SET version = excluded.version",
                &[what.into(), version.into()],
            )
            .map(drop),
    }
}

/// A view, made anew: SQLite drops and creates it; PostgreSQL replaces it in place (other
/// hubs may be reading it).
pub fn create_view(engine: Engine, name: &str, select: &str) -> String {
    match engine {
        Engine::Sqlite => format!("DROP VIEW IF EXISTS {name}; CREATE VIEW {name} AS {select};"),
        Engine::Postgres => format!("CREATE OR REPLACE VIEW {name} AS {select};"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_types_translate() {
        assert_eq!(
            numbered_to_dollar("SELECT '?1' FROM t WHERE a = ?1 AND b IN (?2, ?10)"),
            "SELECT '?1' FROM t WHERE a = $1 AND b IN ($2, $10)"
        );
        assert_eq!(
            postgres_ddl("CREATE TABLE t (n INTEGER NOT NULL, x REAL, interval_s INTEGER)"),
            "CREATE TABLE t (n BIGINT NOT NULL, x DOUBLE PRECISION, interval_s BIGINT)"
        );
    }
}
