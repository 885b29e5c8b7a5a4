//! The session's events on the reliable stream: the hello that opens a session and names it,
//! the console's requests, the station's supervisor transitions and refusals, and the typed
//! end-of-session report. Framed and checksummed by `proto::frame`.

use crate::report::StationReport;
use crate::time::ClockAnnouncement;
use proto::SupervisorStateCode;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Who speaks on a session's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Console,
    Station,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionEvent {
    /// The first event each side sends. The station's hello carries the id of the session it
    /// opened for this connection; the console's carries 0 and learns the id from the station.
    Hello {
        role: Role,
        wire_version: u8,
        session_id: u64,
        /// The sender's clock on a common time scale, where it is disciplined (PTP, GNSS).
        #[serde(default)]
        clock: Option<ClockAnnouncement>,
    },
    /// Console asks the station to power and home the arm (DISABLED → READY).
    Enable,
    /// Console asks to disable the arm.
    Disable,
    /// Console asks to follow; only commands with `seq >= from_seq` belong to this engagement.
    Engage { from_seq: u64 },
    /// Console asks to stop following (→ READY).
    Disengage,
    /// Console asks for an emergency stop; only the station can clear it.
    EstopRequest,
    /// The supervisor changed state (station → console); every transition is sent.
    Transition {
        from: SupervisorStateCode,
        to: SupervisorStateCode,
        reason: Cow<'static, str>,
        at_us: i64,
    },
    /// The station refused a request, with the reason.
    Refused {
        request: Cow<'static, str>,
        reason: Cow<'static, str>,
    },
    /// Console has finished; the station answers with `Report` for this session.
    Bye,
    /// The station's statistics of the session that is ending.
    Report(Box<StationReport>),
}

impl SessionEvent {
    /// A short stable name, for logs and recordings.
    pub fn name(&self) -> &'static str {
        match self {
            SessionEvent::Hello { .. } => "hello",
            SessionEvent::Enable => "enable",
            SessionEvent::Disable => "disable",
            SessionEvent::Engage { .. } => "engage",
            SessionEvent::Disengage => "disengage",
            SessionEvent::EstopRequest => "estop_request",
            SessionEvent::Transition { .. } => "transition",
            SessionEvent::Refused { .. } => "refused",
            SessionEvent::Bye => "bye",
            SessionEvent::Report(_) => "report",
        }
    }
}

/// The one supervisor state code for each safety state.
pub fn state_code(state: safety::SafetyState) -> SupervisorStateCode {
    use safety::SafetyState as S;
    match state {
        S::Disabled => SupervisorStateCode::Disabled,
        S::Ready => SupervisorStateCode::Ready,
        S::Engaged => SupervisorStateCode::Engaged,
        S::Hold => SupervisorStateCode::Hold,
        S::Fault => SupervisorStateCode::Fault,
        S::Estop => SupervisorStateCode::Estop,
    }
}
