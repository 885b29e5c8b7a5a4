//! The patient-side safety supervisor: a pure state machine fed with (input, now) that decides,
//! on the station's own clock, which surgeon commands may move the arm.
//!
//! Rules (each has a test in `tests/` that fails when the rule is removed; see docs/safety.md):
//! commands are applied only while ENGAGED, only if newer than the last applied one, only if
//! younger than `max_command_age`, only inside joint limits and the workspace (else refused);
//! setpoint motion is clamped to per-tick velocity and acceleration limits; no valid command for
//! `survival_time` → HOLD (frozen setpoint, explicit re-engage needed); none for
//! `disengage_after` → READY; e-stop latches from any state and is cleared only locally.
//! The sequence window and the engagement belong to a console session: a new session starts them
//! afresh and a session that changes or ends puts an ENGAGED arm in HOLD; a sequence number more
//! than `max_sequence_jump` ahead is refused; a servo stall longer than `max_servo_gap` → HOLD,
//! noticed before anything else is judged, and no limiter step integrates more than that gap.
//! The bedside team can take control (remote commands dropped, remote requests but an e-stop
//! refused). `hifu`: the HIFU supervisor (organs at risk, focal ceiling, planned duration, energy
//! budget, the operator's heartbeat; a stop latches until acknowledged).

pub mod audit;
pub mod config;
pub mod hifu;
pub mod limits;
pub mod state;
pub mod supervisor;

pub use audit::Auditor;
pub use config::SupervisorConfig;
pub use state::{DropReason, Request, SafetyState, Transition, TransitionReason};
pub use supervisor::{Command, CommandVerdict, Supervisor};

/// Joint positions of the 6-axis arm: radians, except the insertion axis (index 2) in metres.
pub type Joints = [f64; 6];

/// Index of the prismatic insertion joint.
pub const INSERTION_JOINT: usize = 2;
