//! Where the store lives: an SQLite file (any path) or a PostgreSQL database
//! (`postgres://user@host:port/dbname`). The password never comes from the URL (it would be on
//! a command line or in a shell history): it is read from a file named beside the URL, else
//! `PGPASSWORD`, else the `~/.pgpass` (or `PGPASSFILE`) line that matches, as libpq does.
//! Plain TCP is for a server on loopback only; beyond it the URL must ask for TLS with the
//! server's certificate checked (`?sslmode=verify-full&sslrootcert=ca.crt`), else it is refused.

use super::DbError;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A store's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(PgTarget),
}

/// A PostgreSQL database and the credentials to reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct PgTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    password: Option<String>,
    /// TLS with verify-full against the CA certificates in this file; `None`: plain TCP
    /// (loopback only).
    tls_root: Option<PathBuf>,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.url())
    }
}

fn bad(text: &str, why: &str) -> DbError {
    DbError::Location(format!("{text:?}: {why}"))
}

/// Whether `text` names a PostgreSQL database rather than an SQLite file.
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

impl Location {
    /// Reads a location: a `postgres://` or `postgresql://` URL, or else an SQLite path. For
    /// PostgreSQL the password comes from `password_file` (its first line) when given, else as
    /// [`PgTarget::find_password`] says.
    pub fn parse(text: &str, password_file: Option<&Path>) -> Result<Location, DbError> {
        if !is_postgres_url(text) {
            if password_file.is_some() {
                return Err(bad(
                    text,
                    "a password file is for a postgres:// database only",
                ));
            }
            return Ok(Location::Sqlite(PathBuf::from(text)));
        }
        let mut target = PgTarget::parse_url(text)?;
        target.password = match password_file {
            Some(file) => Some(read_password_file(file)?),
            None => target.find_password(),
        };
        Ok(Location::Postgres(target))
    }

    /// The alert journal's location beside this database: `X.alerts.db` beside an SQLite file
    /// `X.db`; on PostgreSQL the same database (the journal's tables sit beside the others).
    pub fn journal(&self) -> Location {
        match self {
            Location::Sqlite(path) => Location::Sqlite(path.with_extension("alerts.db")),
            Location::Postgres(target) => Location::Postgres(target.clone()),
        }
    }

    /// The location for messages: the path, or the URL without a password.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(target) => target.url(),
        }
    }
}

fn read_password_file(file: &Path) -> Result<String, DbError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| DbError::Location(format!("password file {}: {e}", file.display())))?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(DbError::Location(format!(
            "password file {} is empty",
            file.display()
        )));
    }
    Ok(line.to_string())
}

impl PgTarget {
    /// Parses `postgres://[user@]host[:port][/dbname][?sslmode=verify-full&sslrootcert=FILE]`
    /// (port 5432; user from `PGUSER` or `USER`; dbname the user's name). A password in the
    /// URL, other parameters and other TLS modes are refused; so is plain TCP beyond loopback.
    pub fn parse_url(text: &str) -> Result<PgTarget, DbError> {
        let rest = text
            .strip_prefix("postgres://")
            .or_else(|| text.strip_prefix("postgresql://"))
            .ok_or_else(|| bad(text, "expected postgres://user@host:port/dbname"))?;
        let (rest, params) = rest.split_once('?').unwrap_or((rest, ""));
        let tls_root = tls_params(text, params)?;
        let (authority, dbname) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((user, hostport)) => (Some(user), hostport),
            None => (None, authority),
        };
        if user.is_some_and(|u| u.contains(':')) {
            return Err(bad(
                text,
                "a password in the URL is refused (it would be on a command line): use a \
                 password file (--db-password-file), PGPASSWORD or ~/.pgpass",
            ));
        }
        let (host, port) = split_host_port(text, hostport)?;
        let user = match user {
            Some(u) if !u.is_empty() => u.to_string(),
            _ => std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .map_err(|_| bad(text, "no user in the URL, and neither PGUSER nor USER set"))?,
        };
        let dbname = if dbname.is_empty() {
            user.clone()
        } else {
            dbname.to_string()
        };
        let target = PgTarget {
            host,
            port,
            user,
            dbname,
            password: None,
            tls_root,
        };
        if target.tls_root.is_none() {
            target.check_loopback()?;
        }
        Ok(target)
    }

    /// The same server and user, another database (tests make one of their own).
    pub fn with_dbname(&self, dbname: &str) -> PgTarget {
        PgTarget {
            dbname: dbname.to_string(),
            ..self.clone()
        }
    }

    /// Sets the password.
    pub fn with_password(mut self, password: Option<String>) -> PgTarget {
        self.password = password;
        self
    }

    /// The password, if one was found.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The CA file the server's certificate is checked against, when TLS is asked for.
    pub fn tls_root(&self) -> Option<&Path> {
        self.tls_root.as_deref()
    }

    /// `postgres://user@host:port/dbname`, with its TLS parameters (never the password).
    pub fn url(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let tls = match &self.tls_root {
            Some(ca) => format!("?sslmode=verify-full&sslrootcert={}", ca.display()),
            None => String::new(),
        };
        format!(
            "postgres://{}@{host}:{}/{}{tls}",
            self.user, self.port, self.dbname
        )
    }

    fn check_loopback(&self) -> Result<(), DbError> {
        let loopback = self.host == "localhost"
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if loopback {
            return Ok(());
        }
        Err(DbError::Location(format!(
            "PostgreSQL at {} is beyond loopback: refusing to send credentials and patient \
             data in clear. Ask for TLS with the server's certificate checked \
             (?sslmode=verify-full&sslrootcert=ca.crt), or reach it through loopback",
            self.host
        )))
    }

    /// The password for this target from `PGPASSWORD`, else the first matching line of
    /// `PGPASSFILE` or `~/.pgpass` (`host:port:database:user:password`, `*` matches anything,
    /// `\:` and `\\` escaped).
    pub fn find_password(&self) -> Option<String> {
        if let Ok(password) = std::env::var("PGPASSWORD") {
            return Some(password);
        }
        let file = std::env::var_os("PGPASSFILE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass")))?;
        self.password_in_pgpass(&std::fs::read_to_string(file).ok()?)
    }

    /// The password of the first line of a `.pgpass` text that matches this target.
    pub fn password_in_pgpass(&self, text: &str) -> Option<String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|line| self.pgpass_match(line))
    }

    fn pgpass_match(&self, line: &str) -> Option<String> {
        let fields = split_pgpass(line);
        let [host, port, db, user, password] = <[String; 5]>::try_from(fields).ok()?;
        let port_text = self.port.to_string();
        let wanted = [
            (host, self.host.as_str()),
            (port, port_text.as_str()),
            (db, self.dbname.as_str()),
            (user, self.user.as_str()),
        ];
        wanted
            .iter()
            .all(|(pattern, value)| pattern == "*" || pattern == value)
            .then_some(password)
    }

    pub(super) fn client_config(&self) -> Result<postgres::Config, DbError> {
        let mut config = postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name("medlink")
            .connect_timeout(std::time::Duration::from_secs(10));
        if let Some(password) = &self.password {
            config.password(password);
        }
        if self.tls_root.is_some() {
            config.ssl_mode(postgres::config::SslMode::Require);
        }
        Ok(config)
    }
}

/// The CA file of `?sslmode=verify-full&sslrootcert=FILE` (`None`: no parameters, or
/// `sslmode=disable`).
fn tls_params(text: &str, params: &str) -> Result<Option<PathBuf>, DbError> {
    let (mut mode, mut root) = (None, None);
    for pair in params.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => mode = Some(value),
            Some(("sslrootcert", value)) if !value.is_empty() => root = Some(PathBuf::from(value)),
            _ => {
                return Err(bad(
                    text,
                    &format!(
                        "URL parameter {pair:?} is not supported (only sslmode=verify-full and \
                         sslrootcert=FILE)"
                    ),
                ));
            }
        }
    }
    match (mode, root) {
        (None | Some("disable"), None) => Ok(None),
        (Some("verify-full"), Some(root)) => Ok(Some(root)),
        (Some("verify-full"), None) => Err(bad(
            text,
            "sslmode=verify-full needs sslrootcert=FILE (the CA that signed the server's \
             certificate)",
        )),
        (None | Some("disable"), Some(_)) => Err(bad(
            text,
            "sslrootcert is given without sslmode=verify-full",
        )),
        (Some(other), _) => Err(bad(
            text,
            &format!(
                "sslmode={other} is not supported: verify-full (the server's certificate and \
                 name checked) or disable (loopback only)"
            ),
        )),
    }
}

fn split_host_port(text: &str, hostport: &str) -> Result<(String, u16), DbError> {
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or_else(|| bad(text, "unclosed [ in the host"))?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(bad(text, "missing host"));
    }
    let port = match port {
        Some(p) => p.parse().map_err(|_| bad(text, "bad port"))?,
        None => 5432,
    };
    Ok((host.to_string(), port))
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => field.extend(chars.next()),
            ':' => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_sqlite_and_urls_postgres() {
        assert_eq!(
            Location::parse("hub.db", None).unwrap(),
            Location::Sqlite("hub.db".into())
        );
        let Location::Postgres(t) =
            Location::parse("postgres://ward@127.0.0.1:5433/medlink", None).unwrap()
        else {
            panic!("not postgres")
        };
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 5433));
        assert_eq!((t.user.as_str(), t.dbname.as_str()), ("ward", "medlink"));
        assert_eq!(t.url(), "postgres://ward@127.0.0.1:5433/medlink");
        let t = PgTarget::parse_url("postgresql://ward@[::1]/x").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 5432));
        assert_eq!(t.url(), "postgres://ward@[::1]:5432/x");
        assert_eq!(
            Location::Sqlite("a/hub.db".into()).journal(),
            Location::Sqlite("a/hub.alerts.db".into())
        );
    }

    #[test]
    fn refuses_passwords_in_urls_remote_hosts_and_junk() {
        let refused = |url: &str| PgTarget::parse_url(url).unwrap_err().to_string();
        assert!(refused("postgres://u:secret@127.0.0.1/db").contains("password in the URL"));
        assert!(refused("postgres://u@db.example.org/db").contains("beyond loopback"));
        assert!(refused("postgres://u@10.0.0.5:5432/db").contains("beyond loopback"));
        assert!(refused("postgres://u@127.0.0.1:x/db").contains("bad port"));
        assert!(refused("postgres://u@:5432/db").contains("missing host"));
        assert!(refused("postgres://u@localhost/db?sslmode=require").contains("verify-full"));
        assert!(refused("postgres://u@localhost/db?application_name=x").contains("parameter"));
        assert!(
            refused("postgres://u@db.example.org/db?sslmode=verify-full").contains("sslrootcert")
        );
        assert!(refused("postgres://u@db.example.org/db?sslrootcert=ca.crt").contains("without"));
        assert!(Location::parse("hub.db", Some(Path::new("pw"))).is_err());
    }

    #[test]
    fn tls_with_the_certificate_checked_is_allowed_beyond_loopback() {
        let url = "postgres://u@db.example.org/db?sslmode=verify-full&sslrootcert=/etc/ca.crt";
        let t = PgTarget::parse_url(url).unwrap();
        assert_eq!(t.tls_root(), Some(Path::new("/etc/ca.crt")));
        assert_eq!(t.url(), url.replace("org/db", "org:5432/db"));
        let plain = PgTarget::parse_url("postgres://u@127.0.0.1/db?sslmode=disable").unwrap();
        assert_eq!(plain.tls_root(), None);
    }

    #[test]
    fn pgpass_lines_match_like_libpq() {
        let t = PgTarget::parse_url("postgres://ward@127.0.0.1:5433/medlink").unwrap();
        assert_eq!(
            t.pgpass_match("127.0.0.1:5433:medlink:ward:s3cr:et"),
            None,
            "six fields"
        );
        assert_eq!(
            t.pgpass_match("127.0.0.1:5433:medlink:ward:s3cr\\:et")
                .as_deref(),
            Some("s3cr:et")
        );
        assert_eq!(t.pgpass_match("*:*:*:ward:pw").as_deref(), Some("pw"));
        assert_eq!(t.pgpass_match("*:5432:*:ward:pw"), None);
        assert_eq!(t.pgpass_match("*:*:*:other:pw"), None);
    }
}
