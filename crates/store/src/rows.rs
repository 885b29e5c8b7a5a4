//! Reading a measurement row back into the model.

use crate::StoreError;
use crate::db::Row;
use vitals::fhir::Recorded;
use vitals::{Acvpu, Measurement, Vitals};

/// The column list every reader selects, in the order [`recorded_from_row`] expects.
pub const COLUMNS: &str =
    "id, device, seq, patient, time_ms, hr, rr, spo2, o2, temp, sbp, dbp, acvpu";

/// Converts a row selected with [`COLUMNS`].
pub fn recorded_from_row(row: &Row) -> Result<Recorded, StoreError> {
    let acvpu: Option<String> = row.get(12)?;
    let consciousness = match acvpu.as_deref().map(Acvpu::from_letter) {
        None => None,
        Some(Some(level)) => Some(level),
        Some(None) => return Err(StoreError::Corrupt(format!("acvpu {acvpu:?}"))),
    };
    let o2: Option<i64> = row.get(8)?;
    Ok(Recorded {
        row_id: row.get(0)?,
        measurement: Measurement {
            device: row.get(1)?,
            seq: row.get(2)?,
            patient: row.get(3)?,
            time_ms: row.get(4)?,
            vitals: Vitals {
                heart_rate: row.get(5)?,
                resp_rate: row.get(6)?,
                spo2: row.get(7)?,
                on_oxygen: o2.map(|v| v != 0),
                temperature: row.get(9)?,
                systolic: row.get(10)?,
                diastolic: row.get(11)?,
                consciousness,
            },
        },
    })
}

/// Converts every row selected with [`COLUMNS`].
pub fn recorded_from_rows(rows: Vec<Row>) -> Result<Vec<Recorded>, StoreError> {
    rows.iter().map(recorded_from_row).collect()
}
