//! Which boot of its device a sequenced measurement belongs to, decided inside the write
//! transaction: a reading that restarts the device's counter ([`vitals::reboot::restarts`])
//! starts the next boot (recorded in `device_boots`), a reading stamped before the current boot
//! started is a late one of the previous boot, anything else belongs to the current boot.
//!
//! Each device's current boot and highest sequence number are read from the database once and
//! then kept in a [`SeqCache`] of the writing connection: the hub's ingest thread is the only
//! writer of device sequences (FHIR posts use sources of their own), so what it committed is
//! what the database holds. A batch that does not commit clears the cache.

use crate::StoreError;
use crate::db::Conn;
use crate::values;
use std::cell::RefCell;
use std::collections::HashMap;
use vitals::Measurement;

/// What the writer knows of one device's sequence: its current boot, the device time that boot
/// started (none for boot 0), and the highest `(seq, time_ms)` stored in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceSeq {
    boot: i64,
    started_ms: Option<i64>,
    highest: Option<(u64, i64)>,
}

/// Device sequences by device id.
pub(crate) type SeqCache = RefCell<HashMap<String, DeviceSeq>>;

/// The device's current boot and the device time it started (boot 0: never rebooted).
pub(crate) fn current(tx: &Conn, device: &str) -> Result<(i64, Option<i64>), StoreError> {
    let found = tx.query_opt(
        "SELECT boot, started_ms FROM device_boots WHERE device = ?1",
        &values![device],
    )?;
    Ok(match found {
        Some(row) => (row.get(0)?, Some(row.get(1)?)),
        None => (0, None),
    })
}

fn load(tx: &Conn, device: &str) -> Result<DeviceSeq, StoreError> {
    let (boot, started_ms) = current(tx, device)?;
    let highest = tx.query_opt(
        "SELECT seq, time_ms FROM measurements WHERE device = ?1 AND boot = ?2
         ORDER BY seq DESC LIMIT 1",
        &values![device, boot],
    )?;
    Ok(DeviceSeq {
        boot,
        started_ms,
        highest: match highest {
            Some(row) => Some((row.get(0)?, row.get(1)?)),
            None => None,
        },
    })
}

/// The boot `m` belongs to; records a new boot when `m` starts one.
pub(crate) fn boot_of(tx: &Conn, cache: &SeqCache, m: &Measurement) -> Result<i64, StoreError> {
    let known = cache.borrow().get(&m.device).copied();
    let mut seq = match known {
        Some(seq) => seq,
        None => load(tx, &m.device)?,
    };
    let boot = if seq.boot > 0 && seq.started_ms.is_some_and(|started| m.time_ms < started) {
        seq.boot - 1 // a late reading of the previous boot
    } else if vitals::reboot::restarts(m.seq, m.time_ms, seq.highest) {
        tx.execute(
            "INSERT INTO device_boots (device, boot, started_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (device) DO UPDATE SET boot = excluded.boot, started_ms = excluded.started_ms",
            &values![m.device.as_str(), seq.boot + 1, m.time_ms],
        )?;
        seq = DeviceSeq {
            boot: seq.boot + 1,
            started_ms: Some(m.time_ms),
            highest: None,
        };
        seq.boot
    } else {
        seq.boot
    };
    if known != Some(seq) {
        cache.borrow_mut().insert(m.device.clone(), seq);
    }
    Ok(boot)
}

/// Notes that `m` was stored in `boot`: it may be the device's new highest sequence number.
pub(crate) fn stored(cache: &SeqCache, m: &Measurement, boot: i64) {
    if let Some(seq) = cache.borrow_mut().get_mut(&m.device)
        && seq.boot == boot
        && seq.highest.is_none_or(|(highest, _)| m.seq > highest)
    {
        seq.highest = Some((m.seq, m.time_ms));
    }
}
