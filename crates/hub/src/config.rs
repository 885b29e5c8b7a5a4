//! Hub configuration (TOML, every field with a default, so `medlink hub` runs with none).

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use vitals::alerts::AlertConfig;
use vitals::geo::LatLon;
use vitals::reading_window::ReadingWindow;

/// Where measurements come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttSource {
    /// Serve devices on this address with the embedded gateway (per-device credentials and ACL).
    Embedded(SocketAddr),
    /// Subscribe to an external broker, e.g. mosquitto.
    External { host: String, port: u16 },
}

/// Parses `mqtt://host:port` (port defaults to 1883).
pub fn parse_mqtt_url(url: &str) -> Result<MqttSource, String> {
    let rest = url
        .strip_prefix("mqtt://")
        .ok_or_else(|| format!("{url:?}: expected mqtt://host:port"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse()
                .map_err(|_| format!("{url:?}: bad port {port:?}"))?,
        ),
        None => (rest, 1883),
    };
    if host.is_empty() {
        return Err(format!("{url:?}: missing host"));
    }
    Ok(MqttSource::External {
        host: host.to_string(),
        port,
    })
}

/// Everything the hub needs; the file form is `[hub]`-less TOML with these fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HubConfig {
    /// SQLite database file, or a PostgreSQL database as `postgres://user@host:port/dbname`
    /// (docs/hub.md, "PostgreSQL"; no password in the URL).
    pub database: PathBuf,
    /// File holding the PostgreSQL password (first line); without it `PGPASSWORD` or
    /// `~/.pgpass` is used.
    pub database_password_file: Option<PathBuf>,
    /// fsync every commit (`true`) or only survive process crashes (`false`); on PostgreSQL
    /// `false` is `synchronous_commit = off`.
    pub fsync: bool,
    /// HTTP address (FHIR, alerts, events, metrics).
    pub http: SocketAddr,
    /// Embedded gateway address (ignored with `mqtt_url`); beyond loopback it needs TLS.
    pub mqtt_listen: SocketAddr,
    /// The hub's certificate (PEM) for MQTT over TLS on the embedded gateway.
    pub mqtt_tls_cert: Option<PathBuf>,
    /// The key of `mqtt_tls_cert` (PEM).
    pub mqtt_tls_key: Option<PathBuf>,
    /// The hub's user name on an external broker (`medlink hub device mosquitto` writes its
    /// account into mosquitto's files).
    pub mqtt_username: Option<String>,
    /// File holding the hub's password on an external broker (first line).
    pub mqtt_password_file: Option<PathBuf>,
    /// External broker, e.g. `mqtt://127.0.0.1:1883`; embedded broker when absent.
    pub mqtt_url: Option<String>,
    /// MQTT client id of the hub (its persistent session on the broker); with `hub_id` or
    /// `cluster` the hub's id is appended, so several hubs never take over each other's session.
    pub client_id: String,
    /// This hub's name among several sharing a ward (`--hub-id`); when absent, the host name
    /// and a random suffix.
    pub hub_id: Option<String>,
    /// Share the ward with other hubs on the same broker and store (`--cluster`; docs/hub.md,
    /// "Several hubs"): patients in shards leased in the store, each hub subscribed only to
    /// the devices of the patients it owns. Needs an external broker (`mqtt_url`).
    pub cluster: bool,
    /// Most measurements committed in one transaction.
    pub max_batch: usize,
    /// Score vitals on arrival over a second connection, so alerts never wait for commits
    /// (docs/hub.md); `false` scores them on the durable connection only.
    pub alert_fast_path: bool,
    /// Real-time (SCHED_FIFO) priority of the alert fast path's thread, 1-99, when the hub may
    /// use it (root or CAP_SYS_NICE); 0 keeps normal scheduling.
    pub alert_realtime_priority: i32,
    /// Nice value of the ingest thread (0-19; 0 leaves it as is): storage is throughput work
    /// that may lag by milliseconds, scoring is latency work that should not wait for it.
    pub ingest_nice: i32,
    /// Where ambulances are heading.
    pub hospital: LatLon,
    pub alerts: AlertConfig,
    /// Most seconds a reading may be stamped ahead of the hub's clock; beyond, it is refused.
    pub max_future_skew_s: i64,
    /// Most seconds a reading may be stamped behind the hub's clock; beyond, it is refused.
    pub max_reading_age_s: i64,
    /// ECG analysis of `medlink/v1/ecg/...` streams (QRS detector, rhythm limits, quality gate).
    pub ecg: ecg::MonitorConfig,
    /// The hub's certificate chain (PEM): HTTP is served over TLS when given, and must be given
    /// when `http` is not a loopback address.
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Sign-in: lock-out and session lifetimes.
    pub auth: crate::auth::AuthConfig,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            database: PathBuf::from("medlink-hub.db"),
            database_password_file: None,
            fsync: true,
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            mqtt_listen: SocketAddr::from(([127, 0, 0, 1], 1883)),
            mqtt_url: None,
            mqtt_tls_cert: None,
            mqtt_tls_key: None,
            mqtt_username: None,
            mqtt_password_file: None,
            client_id: "medlink-hub".to_string(),
            hub_id: None,
            cluster: false,
            max_batch: 4096,
            alert_fast_path: true,
            alert_realtime_priority: 10,
            ingest_nice: 10,
            hospital: LatLon {
                lat: 51.5246,
                lon: -0.1340,
            },
            alerts: AlertConfig::default(),
            max_future_skew_s: ReadingWindow::default().max_future_skew_s,
            max_reading_age_s: ReadingWindow::default().max_reading_age_s,
            ecg: ecg::MonitorConfig::default(),
            tls_cert: None,
            tls_key: None,
            auth: crate::auth::AuthConfig::default(),
        }
    }
}

impl HubConfig {
    /// Checks the values a TOML file may get wrong that the types do not catch.
    pub fn validate(&self) -> Result<(), String> {
        if !(0..=19).contains(&self.ingest_nice) {
            return Err(format!("ingest_nice = {}: expected 0-19", self.ingest_nice));
        }
        if !(0..=99).contains(&self.alert_realtime_priority) {
            return Err(format!(
                "alert_realtime_priority = {}: expected 0 (off) or 1-99",
                self.alert_realtime_priority
            ));
        }
        if self.max_future_skew_s < 0 || self.max_reading_age_s <= 0 {
            return Err(format!(
                "max_future_skew_s = {}, max_reading_age_s = {}: expected >= 0 and > 0",
                self.max_future_skew_s, self.max_reading_age_s
            ));
        }
        self.auth.validate()?;
        self.check_cluster()?;
        self.check_https()
    }

    /// HTTPS whenever the HTTP server is reachable beyond this machine; a key with its
    /// certificate.
    fn check_https(&self) -> Result<(), String> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), Some(_)) => Ok(()),
            (Some(_), None) | (None, Some(_)) => {
                Err("tls_cert and tls_key (--tls-cert, --tls-key) go together".into())
            }
            (None, None) if self.http.ip().is_loopback() => Ok(()),
            (None, None) => Err(format!(
                "the HTTP server on {} would be reachable beyond this machine without TLS: give \
                 the hub's certificate and key (--tls-cert, --tls-key, or tls_cert/tls_key in \
                 the configuration; `medlink pki issue` makes them, docs/hub.md), or bind it to \
                 127.0.0.1",
                self.http
            )),
        }
    }

    /// The alert journal, beside the database: `hub.db` gives `hub.alerts.db`.
    pub fn alerts_database(&self) -> PathBuf {
        self.database.with_extension("alerts.db")
    }

    /// Where the store is: `database` as an SQLite path (kept exactly as given) or a
    /// PostgreSQL URL with its password (`database_password_file`, `PGPASSWORD`, `~/.pgpass`).
    pub fn location(&self) -> Result<store::Location, String> {
        match self.database.to_str() {
            Some(text) if store::db::is_postgres_url(text) => {
                store::Location::parse(text, self.database_password_file.as_deref())
                    .map_err(|e| e.to_string())
            }
            _ if self.database_password_file.is_some() => Err(format!(
                "database_password_file is for a postgres:// database, not the SQLite file {}",
                self.database.display()
            )),
            _ => Ok(store::Location::Sqlite(self.database.clone())),
        }
    }

    /// Where the alert journal is: [`store::Location::journal`] of [`HubConfig::location`].
    pub fn journal_location(&self) -> Result<store::Location, String> {
        Ok(self.location()?.journal())
    }

    /// The span of device times readings are accepted in.
    pub fn reading_window(&self) -> ReadingWindow {
        ReadingWindow {
            max_future_skew_s: self.max_future_skew_s,
            max_reading_age_s: self.max_reading_age_s,
        }
    }

    /// The MQTT source this configuration asks for.
    pub fn mqtt_source(&self) -> Result<MqttSource, String> {
        match &self.mqtt_url {
            Some(url) => parse_mqtt_url(url),
            None => Ok(MqttSource::Embedded(self.mqtt_listen)),
        }
    }
}

/// Several hubs on one ward: the hub's name and its MQTT client ids.
impl HubConfig {
    fn check_cluster(&self) -> Result<(), String> {
        if let Some(id) = &self.hub_id
            && (id.is_empty()
                || id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        {
            return Err(format!(
                "hub_id {id:?}: expected 1-64 letters, digits, '-', '_' or '.'"
            ));
        }
        if self.cluster && self.mqtt_url.is_none() {
            return Err(
                "cluster (--cluster) needs an external broker (--mqtt mqtt://...): \
                        the hubs of a ward share one broker"
                    .into(),
            );
        }
        Ok(())
    }

    /// This hub's id: `hub_id`, or the host name with a random suffix (printed at start).
    pub fn resolved_hub_id(&self) -> String {
        if let Some(id) = &self.hub_id {
            return id.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "hub".to_string());
        let host: String = host
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .take(40)
            .collect();
        let mut suffix = [0u8; 3];
        let _ = getrandom::fill(&mut suffix);
        format!("{host}-{:02x}{:02x}{:02x}", suffix[0], suffix[1], suffix[2])
    }

    /// The MQTT client id of the hub `hub_id`: the configured one alone for a single hub not
    /// given a name (it keeps its persistent session across restarts), otherwise with the hub's
    /// id appended.
    pub fn mqtt_client_id(&self, hub_id: &str) -> String {
        if self.hub_id.is_none() && !self.cluster {
            return self.client_id.clone();
        }
        format!("{}-{hub_id}", self.client_id)
    }
}

/// The MQTT side's settings: TLS for the embedded gateway, the hub's account on a broker.
impl HubConfig {
    /// Checks the MQTT settings that go in pairs.
    pub fn check_mqtt(&self) -> Result<(), String> {
        if self.mqtt_tls_cert.is_some() != self.mqtt_tls_key.is_some() {
            return Err(
                "mqtt_tls_cert and mqtt_tls_key (--mqtt-tls-cert/--mqtt-tls-key) go together"
                    .into(),
            );
        }
        if self.mqtt_username.is_some() != self.mqtt_password_file.is_some() {
            return Err("mqtt_username and mqtt_password_file go together".into());
        }
        if let MqttSource::External { host, .. } = self.mqtt_source()? {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = bare == "localhost"
                || bare
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(format!(
                    "the broker at {host} is beyond loopback, and the hub speaks plain MQTT to an \
                     external broker: its password and every reading would cross the network in \
                     clear. Run the broker on this host, or reach it through a local TLS tunnel \
                     (docs/deploy.md, deploy/mosquitto/stunnel-hub.conf) and give --mqtt \
                     mqtt://127.0.0.1:PORT"
                ));
            }
        }
        Ok(())
    }

    /// The embedded gateway's certificate and key (`mqtt_tls_cert`, `mqtt_tls_key`; they may
    /// be the hub's HTTPS files); `None` for plain MQTT (loopback only).
    pub fn mqtt_tls_files(&self) -> Option<(&Path, &Path)> {
        Some((
            self.mqtt_tls_cert.as_deref()?,
            self.mqtt_tls_key.as_deref()?,
        ))
    }

    /// The hub's credentials on an external broker, if configured: (user name, password).
    pub fn mqtt_credentials(&self) -> Result<Option<(String, String)>, String> {
        let (Some(user), Some(file)) = (&self.mqtt_username, &self.mqtt_password_file) else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("mqtt_password_file {}: {e}", file.display()))?;
        let password = text.lines().next().unwrap_or("").trim().to_string();
        if password.is_empty() {
            return Err(format!("mqtt_password_file {}: empty", file.display()));
        }
        Ok(Some((user.clone(), password)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_broker_urls() {
        assert_eq!(
            parse_mqtt_url("mqtt://127.0.0.1:1999"),
            Ok(MqttSource::External {
                host: "127.0.0.1".into(),
                port: 1999
            })
        );
        assert_eq!(
            parse_mqtt_url("mqtt://broker"),
            Ok(MqttSource::External {
                host: "broker".into(),
                port: 1883
            })
        );
        assert!(parse_mqtt_url("http://x:1").is_err());
        assert!(parse_mqtt_url("mqtt://x:port").is_err());
    }

    #[test]
    fn plain_mqtt_to_a_broker_beyond_loopback_is_refused() {
        let broker = |url: &str| HubConfig {
            mqtt_url: Some(url.into()),
            ..HubConfig::default()
        };
        for url in ["mqtt://broker.example.org:1883", "mqtt://10.0.0.5"] {
            let refused = broker(url).check_mqtt().unwrap_err();
            assert!(refused.contains("beyond loopback"), "{url}: {refused}");
        }
        for url in [
            "mqtt://127.0.0.1:1883",
            "mqtt://localhost",
            "mqtt://[::1]:1883",
        ] {
            assert_eq!(broker(url).check_mqtt(), Ok(()), "{url}");
        }
    }

    #[test]
    fn http_beyond_loopback_needs_a_certificate() {
        let open = HubConfig {
            http: "0.0.0.0:8080".parse().unwrap(),
            ..HubConfig::default()
        };
        assert!(open.validate().unwrap_err().contains("--tls-cert"));
        let with_tls = HubConfig {
            tls_cert: Some("hub.crt".into()),
            tls_key: Some("hub.key".into()),
            ..open.clone()
        };
        assert!(with_tls.validate().is_ok());
        let half = HubConfig {
            tls_key: None,
            ..with_tls
        };
        assert!(half.validate().unwrap_err().contains("go together"));
        let v6 = HubConfig {
            http: "[::1]:8080".parse().unwrap(),
            ..HubConfig::default()
        };
        assert!(v6.validate().is_ok());
    }

    #[test]
    fn hubs_of_one_ward_get_client_ids_of_their_own() {
        let single = HubConfig::default();
        assert_eq!(single.mqtt_client_id("x"), "medlink-hub");
        let named = HubConfig {
            hub_id: Some("hub-a".into()),
            ..HubConfig::default()
        };
        assert_eq!(named.resolved_hub_id(), "hub-a");
        assert_eq!(named.mqtt_client_id("hub-a"), "medlink-hub-hub-a");
        let (a, b) = (single.resolved_hub_id(), single.resolved_hub_id());
        assert_ne!(a, b, "random suffixes");
        let bad = HubConfig {
            hub_id: Some("a/b".into()),
            ..HubConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("hub_id"));
        let embedded = HubConfig {
            cluster: true,
            ..HubConfig::default()
        };
        assert!(embedded.validate().unwrap_err().contains("external broker"));
    }

    #[test]
    fn the_database_is_a_path_or_a_postgres_url() {
        let sqlite = HubConfig::default();
        assert_eq!(
            sqlite.journal_location().unwrap(),
            store::Location::Sqlite(PathBuf::from("medlink-hub.alerts.db"))
        );
        let pg = HubConfig {
            database: PathBuf::from("postgres://ward@127.0.0.1:5433/medlink"),
            ..HubConfig::default()
        };
        let location = pg.location().unwrap();
        assert_eq!(
            location.describe(),
            "postgres://ward@127.0.0.1:5433/medlink"
        );
        assert_eq!(pg.journal_location().unwrap(), location);
        let remote = HubConfig {
            database: PathBuf::from("postgres://ward@db.example.org/medlink"),
            ..HubConfig::default()
        };
        assert!(remote.location().unwrap_err().contains("beyond loopback"));
        let stray = HubConfig {
            database_password_file: Some(PathBuf::from("pw")),
            ..HubConfig::default()
        };
        assert!(stray.location().unwrap_err().contains("postgres://"));
    }

    #[test]
    fn thread_priorities_out_of_range_are_refused() {
        assert!(HubConfig::default().validate().is_ok());
        let nice = HubConfig {
            ingest_nice: 20,
            ..HubConfig::default()
        };
        assert!(nice.validate().unwrap_err().contains("ingest_nice"));
        let realtime = HubConfig {
            alert_realtime_priority: -1,
            ..HubConfig::default()
        };
        assert!(
            realtime
                .validate()
                .unwrap_err()
                .contains("alert_realtime_priority")
        );
    }
}
