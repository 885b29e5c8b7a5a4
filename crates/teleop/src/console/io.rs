//! What goes into the console core and what comes out: master samples, the operator's actions
//! (and their text commands), the station's datagrams and events; datagrams and events for the
//! station, and audit records.

use crate::message::SessionEvent;
use proto::Datagram;
use robot::Pose;
use robot::geometry::Mat3;
use serde::{Deserialize, Serialize};
use trust::AuditRecord;

/// One sample of the master device: pose (metres, rotation matrix) and jaw angle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MasterSample {
    pub position: [f64; 3],
    pub rotation: Mat3,
    pub jaw_rad: f64,
}

impl MasterSample {
    pub fn pose(&self) -> Pose {
        Pose {
            position: self.position,
            rotation: self.rotation,
        }
    }
}

/// What the operator asked for (a pedal, a button, a script's decision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorAction {
    Enable,
    Engage,
    Disengage,
    Estop,
    /// Offer control to the console of the person named (the holder only).
    OfferControl {
        to: String,
    },
    /// Accept the offer addressed to this console (or claim vacant control).
    AcceptControl,
    DeclineControl,
    /// Take back this console's own offer.
    WithdrawOffer,
    /// The operator is done: disengage, say bye, wait for the station's report.
    Finish,
    /// A request of the remote HIFU procedure, for the plan with this digest.
    Hifu {
        digest: String,
        request: crate::hifu::HifuRequest,
    },
}

/// The operator's commands, as the console's standard input takes them.
pub const OPERATOR_COMMANDS: &str =
    "enable, engage, disengage, estop, offer NAME, accept, decline, withdraw";

impl OperatorAction {
    pub fn name(&self) -> &'static str {
        match self {
            OperatorAction::Enable => "enable",
            OperatorAction::Engage => "engage",
            OperatorAction::Disengage => "disengage",
            OperatorAction::Estop => "estop_request",
            OperatorAction::OfferControl { .. } => "offer_control",
            OperatorAction::AcceptControl => "accept_control",
            OperatorAction::DeclineControl => "decline_control",
            OperatorAction::WithdrawOffer => "withdraw_offer",
            OperatorAction::Finish => "finish",
            OperatorAction::Hifu { request, .. } => request.name(),
        }
    }

    /// Parses an operator command line (`offer Dr Li Wei`, `accept`, ...); `None` for an empty
    /// line, an error naming the commands for anything else.
    pub fn parse(line: &str) -> Result<Option<Self>, String> {
        let line = line.trim();
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        let action = match word {
            "" => return Ok(None),
            "enable" => OperatorAction::Enable,
            "engage" => OperatorAction::Engage,
            "disengage" => OperatorAction::Disengage,
            "estop" | "e" => OperatorAction::Estop,
            "offer" if rest.is_empty() => {
                return Err("offer needs the name of the recipient".into());
            }
            "offer" => OperatorAction::OfferControl {
                to: rest.to_string(),
            },
            "accept" => OperatorAction::AcceptControl,
            "decline" => OperatorAction::DeclineControl,
            "withdraw" => OperatorAction::WithdrawOffer,
            other => {
                return Err(format!(
                    "unknown command {other:?}: use {OPERATOR_COMMANDS}"
                ));
            }
        };
        if !rest.is_empty() && !matches!(action, OperatorAction::OfferControl { .. }) {
            return Err(format!("{word} takes no argument"));
        }
        Ok(Some(action))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum ConsoleInput {
    /// A connection to the station completed mutual TLS: a new session begins.
    Connected,
    /// The connection closed or was declared lost.
    Disconnected {
        reason: String,
    },
    /// A decoded datagram from the station, received at `now`.
    Datagram {
        datagram: Datagram,
    },
    /// An event from the station's reliable stream.
    Event {
        event: SessionEvent,
    },
    /// One control tick's master sample.
    Master {
        sample: MasterSample,
    },
    Operator {
        action: OperatorAction,
    },
    /// The console's video feed asks the station's camera to capture `shift_us` later, so
    /// frames reach the page just before its display refreshes (docs/video.md).
    VideoPacing {
        shift_us: i64,
    },
    /// Time passes (timers) without a sample.
    Tick,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "output", rename_all = "snake_case")]
pub enum ConsoleOutput {
    Datagram {
        datagram: Datagram,
    },
    Event {
        event: SessionEvent,
    },
    /// Append to the console's audit log: the operator's requests and what the station said
    /// about admission, control and the supervisor.
    Audit(Box<AuditRecord>),
}
