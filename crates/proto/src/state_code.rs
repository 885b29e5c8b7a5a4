//! The supervisor's state as it travels in state reports: one byte, with its names.

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
