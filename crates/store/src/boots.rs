//! Which boot of its device a sequenced measurement belongs to, decided inside the write
//! transaction: a reading that restarts the device's counter ([`vitals::reboot::restarts`])
//! starts the next boot (recorded in `device_boots`), a reading stamped before the current boot
//! started is a late one of the previous boot, anything else belongs to the current boot.

use crate::StoreError;
use rusqlite::{OptionalExtension, Transaction, params};
use vitals::Measurement;

/// The device's current boot and the device time it started (boot 0: never rebooted).
pub(crate) fn current(
    tx: &Transaction<'_>,
    device: &str,
) -> Result<(i64, Option<i64>), StoreError> {
    let found = tx
        .prepare_cached("SELECT boot, started_ms FROM device_boots WHERE device = ?1")?
        .query_row(params![device], |r| Ok((r.get(0)?, Some(r.get(1)?))))
        .optional()?;
    Ok(found.unwrap_or((0, None)))
}

/// The boot `m` belongs to; records a new boot when `m` starts one.
pub(crate) fn boot_of(tx: &Transaction<'_>, m: &Measurement) -> Result<i64, StoreError> {
    let (boot, started_ms) = current(tx, &m.device)?;
    if boot > 0 && started_ms.is_some_and(|started| m.time_ms < started) {
        return Ok(boot - 1); // a late reading of the previous boot
    }
    let highest: Option<(i64, i64)> = tx
        .prepare_cached(
            "SELECT seq, time_ms FROM measurements WHERE device = ?1 AND boot = ?2
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row(params![m.device, boot], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let highest = highest.map(|(seq, time_ms)| (seq as u64, time_ms));
    if !vitals::reboot::restarts(m.seq, m.time_ms, highest) {
        return Ok(boot);
    }
    tx.prepare_cached(
        "INSERT INTO device_boots (device, boot, started_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (device) DO UPDATE SET boot = excluded.boot, started_ms = excluded.started_ms",
    )?
    .execute(params![m.device, boot + 1, m.time_ms])?;
    Ok(boot + 1)
}
