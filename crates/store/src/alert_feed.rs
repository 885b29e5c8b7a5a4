//! The alert journal read as a feed: every event in the order it was committed, by its row
//! number, so a hub can follow the alert events other hubs commit (its live streams show the
//! whole ward) and a test can count what was raised.

use crate::values;
use crate::{AlertStore, StoreError};

/// One committed alert event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEvent {
    /// Position in the journal (increasing with each commit; the next read starts after it).
    pub seq: i64,
    pub alert_id: u64,
    /// `raised`, `escalated`, `acknowledged`, `resolved`, ...
    pub kind: String,
    pub at_ms: i64,
    /// The role paged, if the event paged someone.
    pub notify: Option<String>,
}

impl AlertStore {
    /// Up to `limit` events committed after `after` (0: from the start), oldest first.
    pub fn events_after(&self, after: i64, limit: usize) -> Result<Vec<JournalEvent>, StoreError> {
        let rows = self.conn.query(
            "SELECT rowid, alert_id, kind, at_ms, notify FROM alert_events
             WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
            &values![after, limit],
        )?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(1)?;
                Ok(JournalEvent {
                    seq: r.get(0)?,
                    alert_id: id.max(0) as u64,
                    kind: r.get(2)?,
                    at_ms: r.get(3)?,
                    notify: r.get(4)?,
                })
            })
            .collect()
    }

    /// The position of the newest event (0 when none): where a feed that starts now begins.
    pub fn last_event_seq(&self) -> Result<i64, StoreError> {
        let last: Option<i64> = self
            .conn
            .query_value("SELECT max(rowid) FROM alert_events", &[])?;
        Ok(last.unwrap_or(0))
    }
}
