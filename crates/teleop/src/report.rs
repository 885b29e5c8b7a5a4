//! What a session produced: the station's report of a session (typed, sent at its end), the
//! console's own figures, and the per-session records of a console that reconnected.

use crate::monitor::MonitorReading;
use crate::stats::Percentiles;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A supervisor transition as reports carry it. Made from a transition without allocating (the
/// names are static), so the servo thread can keep them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransitionRecord {
    pub at_ms: f64,
    pub from: Cow<'static, str>,
    pub to: Cow<'static, str>,
    pub reason: Cow<'static, str>,
}

impl From<&safety::Transition> for TransitionRecord {
    fn from(t: &safety::Transition) -> Self {
        Self {
            at_ms: t.at.as_secs_f64() * 1e3,
            from: Cow::Borrowed(t.from.name()),
            to: Cow::Borrowed(t.to.name()),
            reason: Cow::Borrowed(t.reason.name()),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StationReport {
    /// The session this report covers (0: the station's whole life, at shutdown).
    pub session_id: u64,
    /// Sessions the station has opened so far.
    pub sessions: u64,
    pub commands_received: u64,
    pub commands_applied: u64,
    /// Reason → count, for commands that reached the supervisor or failed inverse kinematics.
    pub commands_dropped: BTreeMap<String, u64>,
    /// Datagrams or frames rejected by the decoder, by reason (counted by the network edge).
    pub malformed: BTreeMap<String, u64>,
    /// Applied commands or setpoint moves that broke a rule, per the independent auditor (which
    /// judges the true age where it is known). Must be 0.
    pub unsafe_applied: u64,
    pub first_unsafe: Option<String>,
    pub tracking_rms_mm: f64,
    pub tracking_max_mm: f64,
    /// One-way command latency, console issue → station receipt, from the clock-sync estimate, µs.
    pub latency_us: Percentiles,
    /// The upper bound of a command's age when the supervisor applied it: what the supervisor
    /// judges against `max_command_age`, µs.
    pub age_at_apply_us: Percentiles,
    /// The age at apply from the clock-sync estimate (the midpoint of the offset bounds), µs.
    pub estimated_age_at_apply_us: Percentiles,
    /// The true age at apply, where the station knows the true send time (the demo and the
    /// rehearsal, one clock); absent otherwise.
    pub true_age_at_apply_us: Option<Percentiles>,
    pub state_time_ms: BTreeMap<String, f64>,
    pub transitions: Vec<TransitionRecord>,
    pub refused_requests: u64,
    pub servo_ticks: u64,
    /// Servo ticks that came more than one period late (counted by the servo edge).
    pub servo_missed_deadlines: u64,
    /// How long each servo period's work took (inputs, tick, outputs, wake-up), µs, measured by
    /// the servo edge over the station's life.
    pub servo_work_us: Percentiles,
    /// Servo stalls longer than `max_servo_gap`, each of which put an engaged arm in HOLD.
    pub servo_stalls: u64,
    pub clock_rtt_us: Option<i64>,
    /// Width of the clock offset bound at the end of the session (µs): twice the age error.
    pub clock_bound_width_us: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorStats {
    pub commands_sent: u64,
    pub engage_requests: u64,
    /// Times the station left ENGAGED under the console (HOLD, READY, ESTOP, FAULT).
    pub station_left_engaged: u64,
}

/// One session of a console run: the id the station gave it and the station's report of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub session_id: u64,
    /// Seconds into the console's run when the session opened and closed.
    pub opened_s: f64,
    pub closed_s: Option<f64>,
    /// How the session ended: "bye", "link lost", "closed by the station: ...".
    pub ended: Option<String>,
    pub operator: OperatorStats,
    pub station: Option<StationReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConsoleReport {
    /// Totals over every session of the run.
    pub operator: OperatorStats,
    /// Clock-sync round trips measured by the console, µs.
    pub rtt_us: Percentiles,
    /// Supervisor transitions the station reported, as "FROM->TO (reason)".
    pub transitions_seen: Vec<String>,
    /// Requests the station refused, with the reason.
    pub refused: Vec<String>,
    /// How the station admitted this console ("name (role), may operate: rule: explanation").
    pub admitted: Option<String>,
    /// Every step of the two-teams protocol the station announced, "step: by -> to".
    pub control: Vec<String>,
    /// The station's supervisor state in its newest state report (what a watcher saw last).
    pub last_station_state: Option<String>,
    pub sender_ticks: u64,
    pub sender_missed_deadlines: u64,
    /// Seconds of input actually run.
    pub duration_s: f64,
    /// Times the console lost its link and connected again.
    pub reconnects: u64,
    pub sessions: Vec<SessionRecord>,
    /// The station's report of the last session.
    pub station: Option<StationReport>,
    /// Patient monitor readings the station sent and the console kept, and the newest.
    #[serde(default)]
    pub vitals_received: u64,
    #[serde(default)]
    pub last_vitals: Option<MonitorReading>,
    /// Readings refused as implausible (not finite or out of any monitor's range).
    #[serde(default)]
    pub vitals_refused: u64,
}
