//! One write transaction: measurements from MQTT and Observations from FHIR transactions.

use crate::StoreError;
use crate::boots::SeqCache;
use rusqlite::{OptionalExtension, Transaction, params};
use vitals::Measurement;

/// What happened to an inserted measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// Newly stored with this row id.
    Stored(i64),
    /// `(device, boot, seq)` was already stored: a redelivery.
    Duplicate,
}

/// A write transaction; dropped without [`Batch::commit`] it rolls back (and the writer forgets
/// the device sequences it had cached, which may hold what was rolled back).
pub struct Batch<'a> {
    tx: Option<Transaction<'a>>,
    seqs: &'a SeqCache,
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if self.tx.is_some() {
            self.seqs.borrow_mut().clear();
        }
    }
}

impl<'a> Batch<'a> {
    pub(crate) fn new(tx: Transaction<'a>, seqs: &'a SeqCache) -> Self {
        Batch { tx: Some(tx), seqs }
    }

    fn tx(&self) -> &Transaction<'a> {
        self.tx
            .as_ref()
            .expect("a batch holds its transaction until it commits")
    }

    /// Stores a measurement unless `(device, boot, seq)` is already there; the boot is the
    /// device's current one, or the next when `m` shows the device rebooted (see
    /// [`crate::boots`]), so a rebooted device's readings are stored though their numbers repeat.
    pub fn insert(&self, m: &Measurement) -> Result<Insert, StoreError> {
        let boot = crate::boots::boot_of(self.tx(), self.seqs, m)?;
        let inserted = self.insert_in(m, boot)?;
        if inserted != Insert::Duplicate {
            crate::boots::stored(self.seqs, m, boot);
        }
        Ok(inserted)
    }

    /// Stores a measurement in `boot` of its device unless `(device, boot, seq)` is there.
    fn insert_in(&self, m: &Measurement, boot: i64) -> Result<Insert, StoreError> {
        let v = &m.vitals;
        let changed = self
            .tx()
            .prepare_cached(
                "INSERT OR IGNORE INTO measurements
                 (device, seq, patient, time_ms, hr, rr, spo2, o2, temp, sbp, dbp, acvpu, boot)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                m.device,
                m.seq as i64,
                m.patient,
                m.time_ms,
                v.heart_rate,
                v.resp_rate,
                v.spo2,
                v.on_oxygen.map(i64::from),
                v.temperature,
                v.systolic,
                v.diastolic,
                v.consciousness.map(|c| c.letter()),
                boot,
            ])?;
        Ok(if changed == 1 {
            Insert::Stored(self.tx().last_insert_rowid())
        } else {
            Insert::Duplicate
        })
    }

    /// Stores a measurement that has no device sequence (a posted FHIR Observation): it gets
    /// the next sequence number of its device's current boot.
    pub fn insert_unsequenced(&self, mut m: Measurement) -> Result<i64, StoreError> {
        self.seqs.borrow_mut().remove(&m.device); // a sequence the writer's cache does not follow
        let (boot, _) = crate::boots::current(self.tx(), &m.device)?;
        let last: Option<i64> = self
            .tx()
            .prepare_cached("SELECT max(seq) FROM measurements WHERE device = ?1 AND boot = ?2")?
            .query_row(params![m.device, boot], |r| r.get(0))
            .optional()?
            .flatten();
        m.seq = last.map_or(1, |s| s as u64 + 1);
        match self.insert_in(&m, boot)? {
            Insert::Stored(id) => Ok(id),
            Insert::Duplicate => Err(StoreError::Corrupt(format!(
                "sequence {} of {} already taken",
                m.seq, m.device
            ))),
        }
    }

    /// Registers a patient id if new.
    pub fn ensure_patient(&self, id: &str) -> Result<(), StoreError> {
        self.tx()
            .prepare_cached("INSERT OR IGNORE INTO patients (id) VALUES (?1)")?
            .execute(params![id])?;
        Ok(())
    }

    /// Registers a device and links it to its patient (the latest link wins).
    pub fn ensure_device(&self, id: &str, patient: Option<&str>) -> Result<(), StoreError> {
        self.tx()
            .prepare_cached(
                "INSERT INTO devices (id, patient) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET patient = coalesce(excluded.patient, patient)",
            )?
            .execute(params![id, patient])?;
        Ok(())
    }

    /// Makes everything in the batch durable (per the store's [`crate::Durability`]).
    pub fn commit(mut self) -> Result<(), StoreError> {
        if let Some(tx) = self.tx.take() {
            let committed = tx.commit();
            if committed.is_err() {
                self.seqs.borrow_mut().clear();
            }
            committed?;
        }
        Ok(())
    }
}
