//! The database schema: versioned migrations (applied once each, in order; see
//! [`crate::migrate`]) and the views recreated on every open.

/// The migrations, in order. The first uses `IF NOT EXISTS` throughout, so a database made
/// before versioning (`user_version` 0) takes it as it is.
pub const MIGRATIONS: &[&str] = &[TABLES_V1, BOOTS_V2, DEVICE_REGISTRATIONS_V3];

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

/// Device boots: a measurement is unique on `(device, boot, seq)`, so a rebooted device's
/// readings (reusing sequence numbers) are stored; `device_boots` holds each rebooted device's
/// current boot and the device time it started (see [`crate::boots`]). SQLite cannot change a
/// table's constraints, so `measurements` is rebuilt (row ids kept; the view is recreated on open).
const BOOTS_V2: &str = "
DROP VIEW IF EXISTS observation_index;
CREATE TABLE measurements_v2 (
    id      INTEGER PRIMARY KEY,
    device  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    patient TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    hr REAL, rr REAL, spo2 REAL, o2 INTEGER, temp REAL, sbp REAL, dbp REAL, acvpu TEXT,
    boot    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (device, boot, seq)
);
INSERT INTO measurements_v2
    (id, device, seq, patient, time_ms, hr, rr, spo2, o2, temp, sbp, dbp, acvpu, boot)
    SELECT id, device, seq, patient, time_ms, hr, rr, spo2, o2, temp, sbp, dbp, acvpu, 0
    FROM measurements;
DROP TABLE measurements;
ALTER TABLE measurements_v2 RENAME TO measurements;
CREATE INDEX measurements_by_patient_time ON measurements (patient, time_ms);
CREATE INDEX measurements_by_time ON measurements (time_ms);

CREATE TABLE device_boots (
    device     TEXT PRIMARY KEY,
    boot       INTEGER NOT NULL,
    started_ms INTEGER NOT NULL
);
";

/// Device registrations (see [`crate::registrations`]): each device's patient and the salted
/// hash of its MQTT password (mosquitto's `$7$` PBKDF2-SHA512 form); never the password itself.
const DEVICE_REGISTRATIONS_V3: &str = "
CREATE TABLE device_registrations (
    device      TEXT PRIMARY KEY,
    patient     TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_ms  INTEGER NOT NULL
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
