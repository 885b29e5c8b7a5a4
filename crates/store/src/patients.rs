//! Patients (with their audited NEWS2 SpO2 scale) and devices.

use crate::db::Row;
use crate::values;
use crate::{Store, StoreError};

/// A stored patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientRow {
    pub id: String,
    pub name: Option<String>,
    pub spo2_scale: u8,
}

/// A stored device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub id: String,
    pub patient: Option<String>,
}

fn patient_from_row(r: &Row) -> Result<PatientRow, StoreError> {
    Ok(PatientRow {
        id: r.get(0)?,
        name: r.get(1)?,
        spo2_scale: r.get(2)?,
    })
}

fn device_from_row(r: &Row) -> Result<DeviceRow, StoreError> {
    Ok(DeviceRow {
        id: r.get(0)?,
        patient: r.get(1)?,
    })
}

impl Store {
    /// Creates or renames a patient.
    pub fn put_patient(&self, id: &str, name: Option<&str>) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO patients (id, name) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            &values![id, name],
        )?;
        Ok(())
    }

    /// Sets a patient's SpO2 scale and records who changed it and when.
    pub fn set_spo2_scale(
        &mut self,
        id: &str,
        scale: u8,
        by: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO patients (id, spo2_scale) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET spo2_scale = excluded.spo2_scale",
            &values![id, scale],
        )?;
        tx.execute(
            "INSERT INTO spo2_scale_audit (patient, scale, changed_by, at_ms) VALUES (?1, ?2, ?3, ?4)",
            &values![id, scale, by, at_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The audit trail of a patient's scale changes: (scale, by, at_ms), oldest first.
    pub fn spo2_scale_history(&self, id: &str) -> Result<Vec<(u8, String, i64)>, StoreError> {
        let rows = self.conn.query(
            "SELECT scale, changed_by, at_ms FROM spo2_scale_audit WHERE patient = ?1 ORDER BY rowid",
            &values![id],
        )?;
        rows.iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .collect()
    }

    /// One patient.
    pub fn patient(&self, id: &str) -> Result<Option<PatientRow>, StoreError> {
        let row = self.conn.query_opt(
            "SELECT id, name, spo2_scale FROM patients WHERE id = ?1",
            &values![id],
        )?;
        row.as_ref().map(patient_from_row).transpose()
    }

    /// A page of patients by id, with the total count.
    pub fn patients(
        &self,
        offset: usize,
        count: usize,
    ) -> Result<(usize, Vec<PatientRow>), StoreError> {
        let total: usize = self
            .conn
            .query_value("SELECT count(*) FROM patients", &[])?;
        let rows = self.conn.query(
            "SELECT id, name, spo2_scale FROM patients ORDER BY id LIMIT ?1 OFFSET ?2",
            &values![count, offset],
        )?;
        let rows = rows
            .iter()
            .map(patient_from_row)
            .collect::<Result<_, _>>()?;
        Ok((total, rows))
    }

    /// One device.
    pub fn device(&self, id: &str) -> Result<Option<DeviceRow>, StoreError> {
        let row = self.conn.query_opt(
            "SELECT id, patient FROM devices WHERE id = ?1",
            &values![id],
        )?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// A page of devices, optionally only those of one patient, with the total count.
    pub fn devices(
        &self,
        patient: Option<&str>,
        offset: usize,
        count: usize,
    ) -> Result<(usize, Vec<DeviceRow>), StoreError> {
        let total: usize = self.conn.query_value(
            "SELECT count(*) FROM devices WHERE CAST(?1 AS TEXT) IS NULL OR patient = ?1",
            &values![patient],
        )?;
        let rows = self.conn.query(
            "SELECT id, patient FROM devices WHERE CAST(?1 AS TEXT) IS NULL OR patient = ?1
             ORDER BY id LIMIT ?2 OFFSET ?3",
            &values![patient, count, offset],
        )?;
        let rows = rows.iter().map(device_from_row).collect::<Result<_, _>>()?;
        Ok((total, rows))
    }
}
