//! When each device was last heard from, for the device-offline and no-data rules.

use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub(super) struct DeviceSeen {
    pub patient: Option<String>,
    pub last_seen_ms: i64,
    pub last_data_ms: i64,
    pub announced_offline: bool,
}

/// Last-heard times per device, ordered by id so timeouts fire in a deterministic order.
#[derive(Debug, Clone, Default)]
pub(super) struct Liveness {
    pub devices: BTreeMap<String, DeviceSeen>,
}

impl Liveness {
    /// Any message from the device; returns its record for the caller to update further.
    pub fn heard(&mut self, device: &str, patient: Option<&str>, now: i64) -> &mut DeviceSeen {
        let seen = self
            .devices
            .entry(device.to_string())
            .or_insert_with(|| DeviceSeen {
                patient: None,
                last_seen_ms: now,
                last_data_ms: now,
                announced_offline: false,
            });
        seen.last_seen_ms = seen.last_seen_ms.max(now);
        seen.announced_offline = false;
        if let Some(patient) = patient {
            seen.patient = Some(patient.to_string());
        }
        seen
    }
}
