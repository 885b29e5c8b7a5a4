//! What goes into the station core and what comes out: the consoles' connections, datagrams and
//! events, the bedside team's local requests (and their text commands), servo ticks; datagrams
//! and events to one console or all, the supervisor's verdicts, closes and audit records.

use super::control::PeerId;
use super::peers::Admission;
use crate::hifu::{BulkMessage, DeviceOrder, DeviceReport};
use crate::message::SessionEvent;
use crate::monitor::MonitorReading;
use proto::Datagram;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::time::Duration;
use trust::{AuditRecord, Identity};

/// A button or command at the station itself (the bedside team); never from the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum LocalRequest {
    Estop,
    EstopClear,
    FaultClear,
    /// The bedside team takes control at once.
    TakeOver,
    /// The bedside team offers control back to the surgeon named (or the only one connected).
    HandBack {
        to: Option<String>,
    },
    /// The bedside team takes back its hand-back offer.
    WithdrawOffer,
    /// A bedside team member confirms the surgeon in control may engage (site policy).
    Confirm,
}

/// The bedside commands, as the station's standard input takes them.
pub const LOCAL_COMMANDS: &str =
    "estop, clear, clear-fault, takeover, handback [NAME], withdraw, confirm";

impl LocalRequest {
    /// Parses a bedside command line (`takeover`, `handback Dr Li Wei`, ...); `None` for an empty
    /// line, an error naming the commands for anything else.
    pub fn parse(line: &str) -> Result<Option<Self>, String> {
        let line = line.trim();
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        let request = match word {
            "" => return Ok(None),
            "estop" | "e" => LocalRequest::Estop,
            "clear" => LocalRequest::EstopClear,
            "clear-fault" => LocalRequest::FaultClear,
            "takeover" | "take-over" => LocalRequest::TakeOver,
            "handback" | "hand-back" => LocalRequest::HandBack {
                to: (!rest.is_empty()).then(|| rest.to_string()),
            },
            "withdraw" => LocalRequest::WithdrawOffer,
            "confirm" => LocalRequest::Confirm,
            other => return Err(format!("unknown command {other:?}: use {LOCAL_COMMANDS}")),
        };
        if !rest.is_empty() && !matches!(request, LocalRequest::HandBack { .. }) {
            return Err(format!("{word} takes no argument"));
        }
        Ok(Some(request))
    }

    pub fn name(&self) -> &'static str {
        match self {
            LocalRequest::Estop => "local_estop",
            LocalRequest::EstopClear => "local_estop_clear",
            LocalRequest::FaultClear => "local_fault_clear",
            LocalRequest::TakeOver => "take_over",
            LocalRequest::HandBack { .. } => "hand_back",
            LocalRequest::WithdrawOffer => "withdraw_offer",
            LocalRequest::Confirm => "confirm",
        }
    }
}

/// Everything that happens to the station side, each with the time it is handled at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum StationInput {
    /// A console completed mutual TLS: its certificate's identity and what the site's admission
    /// policy decided for it.
    Connected {
        peer: PeerId,
        identity: Identity,
        admission: Admission,
    },
    /// That console's connection closed or was lost.
    Disconnected { peer: PeerId },
    /// A decoded datagram and when the network edge received it (never later than `now`).
    Datagram {
        peer: PeerId,
        datagram: Datagram,
        received_at: Duration,
    },
    /// An event from a console's reliable stream.
    Event { peer: PeerId, event: SessionEvent },
    /// A message a console sent on the bulk channel (a HIFU plan).
    Bulk { peer: PeerId, message: BulkMessage },
    /// What the station's HIFU device thread reported.
    HifuDevice { report: DeviceReport },
    /// A reading of the station's patient monitor, for every console.
    Monitor { reading: MonitorReading },
    /// A button or command at the station.
    Local { request: LocalRequest },
    /// One servo tick.
    Tick,
}

impl StationInput {
    /// A console connecting to a station without an admission policy (simulations, tests).
    pub fn connected_without_policy(peer: PeerId, identity: Identity) -> Self {
        StationInput::Connected {
            peer,
            admission: Admission::without_policy(&identity),
            identity,
        }
    }
}

/// What the station side asks its edge to do, or states for the recording and the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "output", rename_all = "snake_case")]
pub enum StationOutput {
    /// Send on a console's datagram channel; `to: None` sends to every console (the state).
    Datagram {
        to: Option<PeerId>,
        datagram: Datagram,
    },
    /// Send on a console's event stream (`None`: every console); also logged by the edge.
    Event {
        to: Option<PeerId>,
        event: SessionEvent,
    },
    /// The supervisor's verdict on a command (recorded, so a replay checks every decision).
    Verdict {
        seq: u64,
        verdict: Cow<'static, str>,
    },
    /// Close a console's connection, with the reason (refused admission, a bad hello, a console
    /// speaking out of turn).
    Close {
        peer: PeerId,
        reason: Cow<'static, str>,
    },
    /// Append to the station's audit log.
    Audit(Box<AuditRecord>),
    /// Hand to the station's HIFU device thread.
    HifuDevice(DeviceOrder),
    /// Capture the camera's next frame this much later (µs): the console in control asked, so
    /// that frames reach its display just before a refresh.
    VideoPacing { shift_us: i64 },
}
