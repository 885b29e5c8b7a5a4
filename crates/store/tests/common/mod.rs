//! Runs each store test on both backends: SQLite (files in a fresh directory) and PostgreSQL (a
//! fresh database on the server scripts/setup-postgres.sh runs; the PostgreSQL half fails when
//! there is none, unless MEDLINK_SKIP_POSTGRES=1).

#![allow(dead_code)] // each test file uses its own part

use store::db::{Conn, Engine, Location};
use store::testing::{PgTestDb, fresh_postgres};
use store::{Durability, values};

/// One backend a test runs on.
pub struct Backend {
    pub name: &'static str,
    /// The measurements database.
    pub location: Location,
    /// The alert journal (its own file on SQLite, the same database on PostgreSQL).
    pub journal: Location,
    dir: Option<std::path::PathBuf>,
    _pg: Option<PgTestDb>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Backend {
    pub fn is_postgres(&self) -> bool {
        matches!(self.location, Location::Postgres(_))
    }

    /// A plain connection to `location`, to change what the store wrote behind its back.
    pub fn raw(&self, location: &Location) -> Conn {
        Conn::open(location, Durability::Normal).unwrap()
    }

    /// Sets the schema version of `what` ("database" or "alert journal") at `location`.
    pub fn set_version(&self, location: &Location, what: &str, version: i64) {
        let conn = self.raw(location);
        match conn.engine() {
            Engine::Sqlite => conn
                .execute_batch(&format!("PRAGMA user_version = {version}"))
                .unwrap(),
            Engine::Postgres => {
                let changed = conn
                    .execute(
                        "UPDATE schema_versions SET version = ?2 WHERE what = ?1",
                        &values![what, version],
                    )
                    .unwrap();
                assert_eq!(changed, 1, "no version row for {what}");
            }
        }
    }
}

/// The tables each journal migration creates, in order (a migration added to the journal adds
/// its tables here, so the tests can take a journal back to an earlier version).
const JOURNAL_TABLES: &[&[&str]] = &[
    &["alerts", "alert_events"],
    &["news2_baselines"],
    &["audit"],
    &["users", "sign_in_failures", "sessions", "tokens"],
    &["hub_members", "shard_leases", "alert_id_blocks"],
    &["alert_actions"],
];

impl Backend {
    /// Takes the alert journal back to what `version` migrations made: the later tables
    /// dropped, the version set.
    pub fn journal_back_to(&self, version: usize) {
        let later: Vec<String> = JOURNAL_TABLES[version..]
            .iter()
            .flat_map(|tables| tables.iter().rev())
            .map(|t| format!("DROP TABLE {t};"))
            .collect();
        self.raw(&self.journal)
            .execute_batch(&later.concat())
            .unwrap();
        self.set_version(&self.journal, "alert journal", version as i64);
    }
}

fn sqlite(test: &str) -> Backend {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("medlink-store-{test}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let location = Location::Sqlite(dir.join("hub.db"));
    Backend {
        name: "SQLite",
        journal: location.journal(),
        location,
        dir: Some(dir),
        _pg: None,
    }
}

/// A PostgreSQL backend, or `None` when skipped (MEDLINK_SKIP_POSTGRES=1); panics saying to run
/// scripts/setup-postgres.sh when there is no server.
pub fn postgres() -> Option<Backend> {
    let db = fresh_postgres().unwrap_or_else(|e| panic!("{e}"))?;
    let location = db.location();
    Some(Backend {
        name: "PostgreSQL",
        journal: location.journal(),
        location,
        dir: None,
        _pg: Some(db),
    })
}

/// Runs `test` on SQLite, then on PostgreSQL.
pub fn on_each_backend(test: &str, run: impl Fn(&Backend)) {
    let backends = [Some(sqlite(test)), postgres()];
    for backend in backends.iter().flatten() {
        eprintln!("{test} on {}", backend.name);
        run(backend);
    }
}

/// A raised NEWS2 alert (low-medium) on the patient `subject`, paged to the nurse at 1 s.
pub fn news2_alert(id: u64, subject: &str) -> vitals::alerts::Alert {
    use vitals::alerts::{Alert, Rule};
    Alert {
        id,
        rule: Rule::News2,
        subject: subject.to_string(),
        patient: Some(subject.to_string()),
        severity: 1,
        peak_severity: 1,
        message: "NEWS2 5 (low-medium)".into(),
        raised_at_ms: 1_000,
        updated_at_ms: 1_000,
        escalation_level: 0,
        notified_role: "nurse".into(),
        last_notified_ms: 1_000,
        acknowledged: None,
        snoozed: None,
        resolved_at_ms: None,
    }
}

/// The event that raised [`news2_alert`] `id` of `patient`, paging the nurse.
pub fn raised(id: u64, patient: &str) -> vitals::alerts::AlertEvent {
    vitals::alerts::AlertEvent {
        kind: vitals::alerts::EventKind::Raised,
        at_ms: 1_000,
        notify: Some("nurse".into()),
        alert: news2_alert(id, patient),
    }
}
