//! Supervisor states, the requests that move between them, transitions with their reasons,
//! and why a command was dropped.

use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SafetyState {
    /// Arm not powered or not homed; holds position on brakes.
    Disabled,
    /// Powered and holding position; not following the console.
    Ready,
    /// Following valid console commands.
    Engaged,
    /// The command stream stopped, its session changed or ended, or the servo loop stalled:
    /// holding the last setpoint until an explicit re-engage.
    Hold,
    /// An internal fault (tracking error, bad measurement); holds until cleared locally.
    Fault,
    /// Emergency stop, latched until cleared at the station.
    Estop,
}

impl SafetyState {
    pub const ALL: [SafetyState; 6] = [
        SafetyState::Disabled,
        SafetyState::Ready,
        SafetyState::Engaged,
        SafetyState::Hold,
        SafetyState::Fault,
        SafetyState::Estop,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            SafetyState::Disabled => "DISABLED",
            SafetyState::Ready => "READY",
            SafetyState::Engaged => "ENGAGED",
            SafetyState::Hold => "HOLD",
            SafetyState::Fault => "FAULT",
            SafetyState::Estop => "ESTOP",
        }
    }
}

/// Requests other than commands. Local ones come from the station itself, never the network;
/// while the bedside team has control, remote ones (but an e-stop) are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Enable,
    Disable,
    /// Follow commands with `seq >= from_seq`.
    Engage {
        from_seq: u64,
    },
    Disengage,
    /// The console asks for an e-stop; it latches like a local one.
    RemoteEstop,
    LocalEstop,
    /// Only the station can clear an e-stop.
    LocalEstopClear,
    /// Only the station can clear a fault.
    LocalFaultClear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionReason {
    EnableRequested,
    DisableRequested,
    EngageRequested,
    DisengageRequested,
    SurvivalTimeExpired,
    DisengageTimeExpired,
    LocalEstop,
    RemoteEstop,
    EstopCleared,
    TrackingErrorFault,
    BadMeasurementFault,
    FaultCleared,
    /// A new console session began (another console, or the same one after a reconnect).
    SessionChanged,
    /// The console session ended (link lost, or the console said bye).
    SessionEnded,
    /// More than `max_servo_gap` passed between two servo ticks.
    ServoStall,
    /// The bedside team took control: remote commands and requests are ignored until it hands
    /// control back and a remote surgeon accepts.
    BedsideTakeover,
    /// Control is passing from one console to another (offered, not yet accepted).
    ControlHandover,
}

impl TransitionReason {
    pub fn name(self) -> &'static str {
        match self {
            TransitionReason::EnableRequested => "enable requested",
            TransitionReason::DisableRequested => "disable requested",
            TransitionReason::EngageRequested => "engage requested",
            TransitionReason::DisengageRequested => "disengage requested",
            TransitionReason::SurvivalTimeExpired => "no valid command within the survival time",
            TransitionReason::DisengageTimeExpired => "no valid command within the disengage time",
            TransitionReason::LocalEstop => "local e-stop",
            TransitionReason::RemoteEstop => "e-stop requested by the console",
            TransitionReason::EstopCleared => "e-stop cleared locally",
            TransitionReason::TrackingErrorFault => "joint tracking error over its limit",
            TransitionReason::BadMeasurementFault => "measured joints not finite",
            TransitionReason::FaultCleared => "fault cleared locally",
            TransitionReason::SessionChanged => "a new console session began",
            TransitionReason::SessionEnded => "the console session ended",
            TransitionReason::ServoStall => "servo stalled longer than the limit",
            TransitionReason::BedsideTakeover => "the bedside team took control",
            TransitionReason::ControlHandover => "control is being handed over",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Transition {
    pub from: SafetyState,
    pub to: SafetyState,
    pub reason: TransitionReason,
    #[serde(serialize_with = "as_millis")]
    pub at: Duration,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e3)
}

/// Why a command was not applied. Every drop is counted by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Arrived while not ENGAGED.
    NotEngaged,
    /// Belongs to an earlier engagement (seq below the engage's `from_seq`).
    BeforeEngage,
    /// Older than `max_command_age` on the station clock.
    Stale,
    /// Stamped in the future beyond the clock-sync error bound.
    Future,
    /// No clock synchronisation yet, so its age cannot be judged.
    Unsynchronised,
    Duplicate,
    /// Older than the newest applied command.
    Reordered,
    /// Target outside the joint limits (refused, not clamped).
    JointLimit,
    /// Target outside the workspace or too close to the RCM (refused, not clamped).
    Workspace,
    /// Sequence number more than `max_sequence_jump` beyond the session's newest accepted one
    /// (or the engagement's first): accepting it would make every later command look old.
    OutOfRange,
    /// The bedside team has control: no remote command moves the arm.
    BedsideControl,
}

impl DropReason {
    pub const ALL: [DropReason; 11] = [
        DropReason::NotEngaged,
        DropReason::BeforeEngage,
        DropReason::Stale,
        DropReason::Future,
        DropReason::Unsynchronised,
        DropReason::Duplicate,
        DropReason::Reordered,
        DropReason::JointLimit,
        DropReason::Workspace,
        DropReason::OutOfRange,
        DropReason::BedsideControl,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            DropReason::NotEngaged => "not_engaged",
            DropReason::BeforeEngage => "before_engage",
            DropReason::Stale => "stale",
            DropReason::Future => "future",
            DropReason::Unsynchronised => "unsynchronised",
            DropReason::Duplicate => "duplicate",
            DropReason::Reordered => "reordered",
            DropReason::JointLimit => "joint_limit",
            DropReason::Workspace => "workspace",
            DropReason::OutOfRange => "out_of_range",
            DropReason::BedsideControl => "bedside_control",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_reasons_are_listed_in_index_order_with_distinct_names() {
        for (i, reason) in DropReason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), i, "{reason:?}");
        }
        for (i, a) in DropReason::ALL.iter().enumerate() {
            for b in &DropReason::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
            }
        }
    }

    #[test]
    fn states_are_listed_in_index_order() {
        for (i, state) in SafetyState::ALL.iter().enumerate() {
            assert_eq!(state.index(), i, "{state:?}");
        }
    }
}
