//! The station's end-of-session report, sent to the console as JSON and printed by the demo.

use link::stats::Percentiles;
use safety::Transition;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TransitionRecord {
    pub at_ms: f64,
    pub from: String,
    pub to: String,
    pub reason: String,
}

impl From<&Transition> for TransitionRecord {
    fn from(t: &Transition) -> Self {
        Self {
            at_ms: t.at.as_secs_f64() * 1e3,
            from: t.from.name().into(),
            to: t.to.name().into(),
            reason: t.reason.name().into(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StationReport {
    pub commands_received: u64,
    pub commands_applied: u64,
    /// Reason → count, for commands that reached the supervisor or failed inverse kinematics.
    pub commands_dropped: BTreeMap<String, u64>,
    /// Datagrams or frames rejected by the decoder, by reason.
    pub malformed: BTreeMap<String, u64>,
    /// Applied commands or setpoint moves that broke a rule, per the independent auditor. Must be 0.
    pub unsafe_applied: u64,
    pub first_unsafe: Option<String>,
    pub tracking_rms_mm: f64,
    pub tracking_max_mm: f64,
    /// One-way command latency, console issue → station decode (clock-sync corrected), µs.
    pub latency_us: Percentiles,
    /// Command age when the supervisor applied it (adds the wait for the servo tick), µs.
    pub age_at_apply_us: Percentiles,
    pub state_time_ms: BTreeMap<String, f64>,
    pub transitions: Vec<TransitionRecord>,
    pub refused_requests: u64,
    pub servo_ticks: u64,
    pub servo_missed_deadlines: u64,
    pub clock_rtt_us: Option<i64>,
}
