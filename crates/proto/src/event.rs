//! Events on the reliable stream: requests from the console, supervisor transitions and reports
//! from the station. Low-rate, so they travel as JSON inside checksummed frames.

use serde::{Deserialize, Serialize};

/// The supervisor's state as it travels in state reports (one byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum SupervisorStateCode {
    Disabled = 0,
    Ready = 1,
    Engaged = 2,
    Hold = 3,
    Fault = 4,
    Estop = 5,
}

impl SupervisorStateCode {
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::Disabled,
            1 => Self::Ready,
            2 => Self::Engaged,
            3 => Self::Hold,
            4 => Self::Fault,
            5 => Self::Estop,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// First frame each side sends: who it is and which wire version it speaks.
    Hello { role: String, wire_version: u8 },
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
        reason: String,
        at_us: i64,
    },
    /// The station refused a request (e.g. engage while in e-stop), with the reason.
    Refused { request: String, reason: String },
    /// Console has finished; the station answers with `Report` and closes.
    Bye,
    /// Station's end-of-session statistics, as a JSON document.
    Report { json: String },
}
