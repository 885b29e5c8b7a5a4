//! The alert journal: every alert's latest state (one row per id, never deleted, so ids are never
//! reused) and every event that changed it, in a database file of its own.
//!
//! A file of its own because the alert fast path must not wait behind measurement commits (a
//! slow fsync or a long batch holds the measurements database's write lock): an alert waits
//! only for its own small commit. The hub commits each change here before it tells anyone.
//! The audit trail lives here too (`audit_table.rs`).

use crate::db::dialect::Migration;
use crate::db::{Conn, Location, Row};
use crate::migrate::migrate;
use crate::values;
use crate::{Durability, NewAudit, StoreError};
use std::path::Path;
use vitals::alerts::{Acknowledgement, Alert, AlertEvent, Rule, Snooze};

/// The journal's migrations, in order (`PRAGMA user_version` = how many are applied).
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration::Partly {
        same: ALERTS_V1,
        sqlite: ALERT_EVENTS_V1,
        postgres: ALERT_EVENTS_V1_POSTGRES,
    },
    Migration::Same(NEWS2_BASELINES_V2),
    Migration::Same(AUDIT_V3),
    Migration::Same(crate::accounts::MIGRATION),
    Migration::Same(crate::leases::MIGRATION),
    Migration::Each {
        sqlite: crate::alert_actions::MIGRATION_SQLITE,
        postgres: crate::alert_actions::MIGRATION_POSTGRES,
    },
];

const ALERTS_V1: &str = "
CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY,
    rule             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    patient          TEXT,
    severity         INTEGER NOT NULL,
    peak_severity    INTEGER NOT NULL,
    message          TEXT NOT NULL,
    raised_at_ms     INTEGER NOT NULL,
    updated_at_ms    INTEGER NOT NULL,
    escalation_level INTEGER NOT NULL,
    notified_role    TEXT NOT NULL,
    last_notified_ms INTEGER NOT NULL,
    acknowledged_by  TEXT,
    acknowledged_at_ms INTEGER,
    snoozed_by       TEXT,
    snoozed_until_ms INTEGER,
    snoozed_severity INTEGER,
    resolved_at_ms   INTEGER
);
CREATE INDEX alerts_unresolved ON alerts (id) WHERE resolved_at_ms IS NULL;
";

/// The events of each alert, on SQLite (read back in `rowid` order).
const ALERT_EVENTS_V1: &str = "
CREATE TABLE alert_events (
    alert_id INTEGER NOT NULL REFERENCES alerts (id),
    kind     TEXT NOT NULL,
    at_ms    INTEGER NOT NULL,
    notify   TEXT
);
CREATE INDEX alert_events_by_alert ON alert_events (alert_id, at_ms);
";

/// The same on PostgreSQL, where `alert_events` needs a `rowid` of its own (events of one
/// millisecond are read back in the order written).
const ALERT_EVENTS_V1_POSTGRES: &str = "
CREATE TABLE alert_events (
    rowid    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id BIGINT NOT NULL REFERENCES alerts (id),
    kind     TEXT NOT NULL,
    at_ms    BIGINT NOT NULL,
    notify   TEXT
);
CREATE INDEX alert_events_by_alert ON alert_events (alert_id, at_ms);
";

const NEWS2_BASELINES_V2: &str = "
-- The NEWS2 aggregate last paged about each patient with an active NEWS2 alert.
CREATE TABLE news2_baselines (
    patient   TEXT PRIMARY KEY,
    aggregate INTEGER NOT NULL
);
";

const AUDIT_V3: &str = "
-- The audit trail (see audit.rs): hash-chained, appended only.
CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,
    at_ms       INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    account     TEXT,
    action      TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
";

const COLUMNS: &str = "id, rule, subject, patient, severity, peak_severity, message, raised_at_ms,
    updated_at_ms, escalation_level, notified_role, last_notified_ms, acknowledged_by,
    acknowledged_at_ms, snoozed_by, snoozed_until_ms, snoozed_severity, resolved_at_ms";

/// The alert journal database.
pub struct AlertStore {
    pub(crate) conn: Conn,
}

impl AlertStore {
    /// Opens (and creates, or migrates) the SQLite journal at `path` in WAL mode.
    pub fn open(path: &Path, durability: Durability) -> Result<AlertStore, StoreError> {
        AlertStore::connect(&Location::Sqlite(path.to_path_buf()), durability)
    }

    /// Opens (creating or migrating) the journal at `location` (see [`Location::journal`]).
    pub fn connect(location: &Location, durability: Durability) -> Result<AlertStore, StoreError> {
        AlertStore::init(Conn::open(location, durability)?)
    }

    /// A private in-memory journal, for tests.
    pub fn open_in_memory() -> Result<AlertStore, StoreError> {
        AlertStore::init(Conn::open_in_memory()?)
    }

    /// Sign-in and the command-line tools write this journal too (accounts.rs): every
    /// transaction takes the write lock when it starts ([`Conn::transaction`]).
    fn init(mut conn: Conn) -> Result<AlertStore, StoreError> {
        migrate(&mut conn, "alert journal", MIGRATIONS, None)?;
        Ok(AlertStore { conn })
    }

    /// The connection, for store modules that add tables of their own.
    pub fn conn(&self) -> &Conn {
        &self.conn
    }

    /// Commits `events` in one transaction: each alert's new state and the event itself, with
    /// the NEWS2 re-notification baselines they changed (`None` removes one). Returns only once
    /// they are on disk (as `durability` says), so the caller may then tell people.
    pub fn record(
        &mut self,
        events: &[&AlertEvent],
        news2_baselines: &[(&str, Option<u8>)],
    ) -> Result<(), StoreError> {
        self.record_audited(events, news2_baselines, None)
    }

    /// The same, with the audit row of the person's action that caused the events (if any)
    /// appended in the same transaction: both are committed, or neither.
    pub fn record_audited(
        &mut self,
        events: &[&AlertEvent],
        news2_baselines: &[(&str, Option<u8>)],
        audit: Option<NewAudit>,
    ) -> Result<(), StoreError> {
        self.commit(JournalChange {
            events,
            news2_baselines,
            audit,
            ..JournalChange::default()
        })
    }

    /// Commits `change` in one transaction: all of it, or (on any error, the fence's included)
    /// none of it.
    pub fn commit(&mut self, change: JournalChange<'_>) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        if let Some(fence) = &change.fence {
            check_fence(&tx, fence)?;
        }
        for (patient, baseline) in change.news2_baselines {
            match baseline {
                Some(aggregate) => tx.execute(
                    "INSERT INTO news2_baselines (patient, aggregate) VALUES (?1, ?2)
                     ON CONFLICT (patient) DO UPDATE SET aggregate = excluded.aggregate",
                    &values![*patient, *aggregate],
                )?,
                None => tx.execute(
                    "DELETE FROM news2_baselines WHERE patient = ?1",
                    &values![*patient],
                )?,
            };
        }
        for event in change.events {
            save_alert(&tx, &event.alert)?;
            let kind = serde_json::to_value(&event.kind)
                .ok()
                .and_then(|v| v.get("type").and_then(|t| t.as_str().map(str::to_string)))
                .unwrap_or_else(|| format!("{:?}", event.kind));
            tx.execute(
                "INSERT INTO alert_events (alert_id, kind, at_ms, notify) VALUES (?1, ?2, ?3, ?4)",
                &values![event.alert.id, kind, event.at_ms, event.notify.as_deref()],
            )?;
        }
        if let Some(settlement) = &change.settles {
            crate::alert_actions::settle(&tx, settlement)?;
        }
        if let Some(entry) = change.audit {
            crate::audit_table::append(&tx, entry)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Up to `limit` resolved alerts, the latest resolved first.
    pub fn recently_resolved(&self, limit: usize) -> Result<Vec<Alert>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM alerts WHERE resolved_at_ms IS NOT NULL
             ORDER BY resolved_at_ms DESC, id DESC LIMIT ?1"
        );
        self.conn
            .query(&sql, &values![limit])?
            .iter()
            .map(alert_from_row)
            .collect()
    }

    /// Every alert not resolved, oldest id first.
    pub fn unresolved(&self) -> Result<Vec<Alert>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM alerts WHERE resolved_at_ms IS NULL ORDER BY id");
        self.conn
            .query(&sql, &[])?
            .iter()
            .map(alert_from_row)
            .collect()
    }

    /// One alert by id, resolved or not.
    pub fn alert(&self, id: u64) -> Result<Option<Alert>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM alerts WHERE id = ?1");
        self.conn
            .query_opt(&sql, &values![id])?
            .as_ref()
            .map(alert_from_row)
            .transpose()
    }

    /// The stored NEWS2 re-notification baselines, by patient.
    pub fn news2_baselines(&self) -> Result<Vec<(String, u8)>, StoreError> {
        let rows = self.conn.query(
            "SELECT patient, aggregate FROM news2_baselines ORDER BY patient",
            &[],
        )?;
        rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
    }

    /// The id the next alert gets: one above every id ever stored (1 when none).
    pub fn next_id(&self) -> Result<u64, StoreError> {
        let max: Option<i64> = self.conn.query_value("SELECT max(id) FROM alerts", &[])?;
        Ok(max.map_or(1, |m| m.max(0) as u64 + 1))
    }

    /// The kinds of the events recorded for alert `id`, oldest first.
    pub fn event_kinds(&self, id: u64) -> Result<Vec<String>, StoreError> {
        let rows = self.conn.query(
            "SELECT kind FROM alert_events WHERE alert_id = ?1 ORDER BY at_ms, rowid",
            &values![id],
        )?;
        rows.iter().map(|r| Ok(r.get(0)?)).collect()
    }
}

/// One journal transaction: alert events with the NEWS2 baselines they changed, the audit row
/// of the person's action that caused them, the queued action they settle, and the fence that
/// must hold for any of it to be committed.
#[derive(Default)]
pub struct JournalChange<'a> {
    pub events: &'a [&'a AlertEvent],
    pub news2_baselines: &'a [(&'a str, Option<u8>)],
    pub audit: Option<NewAudit>,
    pub settles: Option<crate::Settlement>,
    pub fence: Option<Fence>,
}

/// Among several hubs: commit only while `hub` holds the leases of `shards` (the shards of the
/// patients whose alerts change). Checked inside the transaction, with the lease rows locked
/// against a concurrent takeover (SQLite: the transaction holds the write lock; PostgreSQL:
/// `FOR SHARE`), so a hub that lost a shard (stalled past its lease, then woke) can never commit
/// an alert its new owner also raises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub hub: String,
    pub shards: Vec<u16>,
}

fn check_fence(tx: &Conn, fence: &Fence) -> Result<(), StoreError> {
    if fence.shards.is_empty() {
        return Ok(());
    }
    let lock = match tx.engine() {
        crate::db::Engine::Sqlite => "",
        crate::db::Engine::Postgres => " FOR SHARE",
    };
    let sql = format!(
        "SELECT shard FROM shard_leases WHERE owner = ?1 AND shard IN ({}){lock}",
        crate::db::marks(2, fence.shards.len())
    );
    let mut params = vec![crate::db::Value::from(fence.hub.as_str())];
    params.extend(
        fence
            .shards
            .iter()
            .map(|s| crate::db::Value::from(i64::from(*s))),
    );
    let held: Vec<i64> = tx
        .query(&sql, &params)?
        .iter()
        .map(|r| r.get(0))
        .collect::<Result<_, _>>()?;
    let lost: Vec<u16> = fence
        .shards
        .iter()
        .copied()
        .filter(|s| !held.contains(&i64::from(*s)))
        .collect();
    if lost.is_empty() {
        Ok(())
    } else {
        Err(StoreError::NotOwner {
            hub: fence.hub.clone(),
            shards: lost,
        })
    }
}

fn save_alert(tx: &Conn, a: &Alert) -> Result<(), StoreError> {
    let rule = serde_json::to_value(a.rule)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or_else(|| StoreError::Corrupt(format!("rule {:?} has no name", a.rule)))?;
    let (ack_by, ack_at) = match &a.acknowledged {
        Some(k) => (Some(k.by.as_str()), Some(k.at_ms)),
        None => (None, None),
    };
    let (snooze_by, snooze_until, snooze_severity) = match &a.snoozed {
        Some(s) => (Some(s.by.as_str()), Some(s.until_ms), Some(s.severity)),
        None => (None, None, None),
    };
    let updates: Vec<String> = COLUMNS
        .split(',')
        .map(str::trim)
        .skip(1)
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO alerts ({COLUMNS}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {}",
        crate::db::marks(1, 18),
        updates.join(", ")
    );
    tx.execute(
        &sql,
        &values![
            a.id,
            rule,
            a.subject.as_str(),
            a.patient.as_deref(),
            a.severity,
            a.peak_severity,
            a.message.as_str(),
            a.raised_at_ms,
            a.updated_at_ms,
            a.escalation_level,
            a.notified_role.as_str(),
            a.last_notified_ms,
            ack_by,
            ack_at,
            snooze_by,
            snooze_until,
            snooze_severity,
            a.resolved_at_ms,
        ],
    )?;
    Ok(())
}

fn alert_from_row(row: &Row) -> Result<Alert, StoreError> {
    let rule: String = row.get(1)?;
    let Ok(parsed) = serde_json::from_value::<Rule>(serde_json::Value::String(rule.clone())) else {
        return Err(StoreError::Corrupt(format!("alert rule {rule:?}")));
    };
    let (id, level): (u64, usize) = (row.get(0)?, row.get(9)?);
    let acknowledged = match (row.get::<Option<String>>(12)?, row.get(13)?) {
        (Some(by), Some(at_ms)) => Some(Acknowledgement { by, at_ms }),
        _ => None,
    };
    let snoozed = match (row.get::<Option<String>>(14)?, row.get(15)?, row.get(16)?) {
        (Some(by), Some(until_ms), Some(severity)) => Some(Snooze {
            by,
            until_ms,
            severity,
        }),
        _ => None,
    };
    Ok(Alert {
        id,
        rule: parsed,
        subject: row.get(2)?,
        patient: row.get(3)?,
        severity: row.get(4)?,
        peak_severity: row.get(5)?,
        message: row.get(6)?,
        raised_at_ms: row.get(7)?,
        updated_at_ms: row.get(8)?,
        escalation_level: level,
        notified_role: row.get(10)?,
        last_notified_ms: row.get(11)?,
        acknowledged,
        snoozed,
        resolved_at_ms: row.get(17)?,
    })
}
