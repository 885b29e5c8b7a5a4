//! Hysteresis before an alert resolves, shared by the NEWS2 and sustained-low-SpO2 rules: an
//! active alert resolves only after `resolve_after_readings` clear readings in a row, the last
//! at least `resolve_after_ms` after the first; a bad reading in between restarts the count.

use super::AlertConfig;
use std::collections::BTreeMap;

/// Clear readings in a row per subject while its alert is active, and when the first came.
pub(super) type ClearCounts = BTreeMap<String, (u32, i64)>;

/// Counts one clear reading of `subject` at `now`; true when the alert may resolve now (the
/// count is then forgotten).
pub(super) fn clear_reading(
    counts: &mut ClearCounts,
    config: &AlertConfig,
    subject: &str,
    now: i64,
) -> bool {
    let clear = counts.entry(subject.to_string()).or_insert((0, now));
    clear.0 += 1;
    let enough = clear.0 >= config.resolve_after_readings.max(1);
    if enough && now - clear.1 >= config.resolve_after_ms {
        counts.remove(subject);
        return true;
    }
    false
}
