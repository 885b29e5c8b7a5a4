//! For tests: a fresh PostgreSQL database of their own on the server that
//! `scripts/setup-postgres.sh` runs or names (`target/pg/url` and `target/pg/password`, or
//! `MEDLINK_PG_URL` with `MEDLINK_PG_PASSWORD_FILE`/`PGPASSWORD`), dropped when the test ends.
//! Without a server the answer is an error saying to run the setup script, unless
//! `MEDLINK_SKIP_POSTGRES=1` is set: then `Ok(None)` (and the test says it skipped).

use crate::db::{Conn, Location, PgTarget};
use crate::{Durability, StoreError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A database made for one test; dropped (with its connections) when this is.
pub struct PgTestDb {
    admin: Conn,
    name: String,
    target: PgTarget,
}

impl PgTestDb {
    /// Where the test database is.
    pub fn location(&self) -> Location {
        Location::Postgres(self.target.clone())
    }

    /// The same, with its password, as a URL and a password file (for a `medlink hub --db`
    /// child process): the file is written into `dir`.
    pub fn url_and_password_file(&self, dir: &Path) -> Result<(String, PathBuf), StoreError> {
        let file = dir.join("pg-password");
        let password = self.target.password().unwrap_or_default();
        std::fs::write(&file, format!("{password}\n"))
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", file.display())))?;
        Ok((self.target.url(), file))
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // A second try: after a server restart (a test may make one) the first statement on
        // the old connection fails, and the connection is opened again for the next.
        let dropped = self
            .admin
            .execute_batch(&sql)
            .or_else(|_| self.admin.execute_batch(&sql));
        if let Err(e) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

fn workspace_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/pg")
        .join(name)
}

fn skip_or_fail(why: String) -> Result<Option<PgTestDb>, String> {
    if std::env::var("MEDLINK_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        eprintln!("PostgreSQL half skipped (MEDLINK_SKIP_POSTGRES=1): {why}");
        return Ok(None);
    }
    Err(format!(
        "no PostgreSQL for the store's tests ({why}): run scripts/setup-postgres.sh (or set \
         MEDLINK_PG_URL), or set MEDLINK_SKIP_POSTGRES=1 to skip the PostgreSQL half"
    ))
}

/// The server the tests use: its URL and password file (see the module doc).
pub fn test_server() -> Result<Option<Location>, String> {
    let url = match std::env::var("MEDLINK_PG_URL") {
        Ok(url) => url,
        Err(_) => match std::fs::read_to_string(workspace_file("url")) {
            Ok(text) => text.trim().to_string(),
            Err(_) => {
                return skip_or_fail("no MEDLINK_PG_URL and no target/pg/url".into()).map(|_| None);
            }
        },
    };
    let password_file = std::env::var_os("MEDLINK_PG_PASSWORD_FILE")
        .map(PathBuf::from)
        .or_else(|| Some(workspace_file("password")).filter(|f| f.exists()));
    Location::parse(&url, password_file.as_deref())
        .map(Some)
        .map_err(|e| e.to_string())
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A new empty database for one test, or `Ok(None)` when PostgreSQL is skipped.
pub fn fresh_postgres() -> Result<Option<PgTestDb>, String> {
    let Some(Location::Postgres(server)) = test_server()? else {
        return Ok(None); // skipped, and said so
    };
    match Conn::open(&Location::Postgres(server.clone()), Durability::Normal) {
        Ok(admin) => scratch_database(admin, &server, "medlink_test").map(Some),
        Err(e) => skip_or_fail(format!("{}: {e}", server.url())),
    }
}

/// A new empty database `<prefix>_<pid>_<n>_<nanos>` on `server` (its role must be allowed to
/// create databases), dropped with the answer; `admin` is a connection to `server`. The
/// benchmark runs its PostgreSQL hub in one.
pub fn scratch_database(admin: Conn, server: &PgTarget, prefix: &str) -> Result<PgTestDb, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    admin
        .execute_batch(&format!("CREATE DATABASE {name}"))
        .map_err(|e| format!("CREATE DATABASE {name} on {}: {e}", server.url()))?;
    let target = server.with_dbname(&name);
    Ok(PgTestDb {
        admin,
        name,
        target,
    })
}
