//! The database schema: versioned migrations (applied once each, in order; see
//! [`crate::migrate`]) and the views recreated on every open.

/// The migrations, in order. The first uses `IF NOT EXISTS` throughout, so a database made
/// before versioning (`user_version` 0) takes it as it is.
pub const MIGRATIONS: &[&str] = &[TABLES_V1];

const TABLES_V1: &str = "
CREATE TABLE IF NOT EXISTS measurements (
    id      INTEGER PRIMARY KEY,
    device  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    patient TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    hr REAL, rr REAL, spo2 REAL, o2 INTEGER, temp REAL, sbp REAL, dbp REAL, acvpu TEXT,
    UNIQUE (device, seq)
);
CREATE INDEX IF NOT EXISTS measurements_by_patient_time ON measurements (patient, time_ms);
CREATE INDEX IF NOT EXISTS measurements_by_time ON measurements (time_ms);

CREATE TABLE IF NOT EXISTS patients (
    id         TEXT PRIMARY KEY,
    name       TEXT,
    spo2_scale INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE IF NOT EXISTS spo2_scale_audit (
    patient    TEXT NOT NULL,
    scale      INTEGER NOT NULL,
    changed_by TEXT NOT NULL,
    at_ms      INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS devices (
    id      TEXT PRIMARY KEY,
    patient TEXT
);
";

/// Recreated on every open, so a database made by an older hub gets the newer kinds.
pub const VIEWS: &str = "
DROP VIEW IF EXISTS observation_index;
CREATE VIEW observation_index AS
          SELECT id, 'hr'    AS kind, patient, time_ms FROM measurements WHERE hr    IS NOT NULL
UNION ALL SELECT id, 'rr'    AS kind, patient, time_ms FROM measurements WHERE rr    IS NOT NULL
UNION ALL SELECT id, 'spo2'  AS kind, patient, time_ms FROM measurements WHERE spo2  IS NOT NULL
UNION ALL SELECT id, 'temp'  AS kind, patient, time_ms FROM measurements WHERE temp  IS NOT NULL
UNION ALL SELECT id, 'bp'    AS kind, patient, time_ms FROM measurements WHERE sbp   IS NOT NULL
UNION ALL SELECT id, 'acvpu' AS kind, patient, time_ms FROM measurements WHERE acvpu IS NOT NULL
UNION ALL SELECT id, 'o2'    AS kind, patient, time_ms FROM measurements WHERE o2    IS NOT NULL
UNION ALL SELECT id, 'news2' AS kind, patient, time_ms FROM measurements;
";
