//! What a console session produced: its own counts, the link round trip it measured, and the
//! station's report received at the end.

use crate::operator::OperatorStats;
use link::stats::Percentiles;
use serde::{Deserialize, Serialize};
use station::StationReport;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConsoleReport {
    pub operator: OperatorStats,
    /// Clock-sync round trips measured by the console, µs.
    pub rtt_us: Percentiles,
    /// Supervisor transitions the station reported, as "FROM->TO (reason)".
    pub transitions_seen: Vec<String>,
    /// Requests the station refused, with the reason.
    pub refused: Vec<String>,
    pub sender_ticks: u64,
    pub sender_missed_deadlines: u64,
    /// Seconds of input actually run.
    pub duration_s: f64,
    pub station: Option<StationReport>,
}
