//! The session's events on the reliable stream: the hello that opens a session and names it,
//! the console's requests, the station's supervisor transitions and refusals, and the typed
//! end-of-session report. Framed and checksummed by `proto::frame`.

use crate::hifu::{HifuNews, HifuRequest};
use crate::monitor::MonitorReading;
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

/// A step of the two-teams protocol (docs/safety.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlStep {
    /// Who holds control now (sent to a console when it is admitted).
    Status,
    /// An operator took vacant control.
    Granted,
    /// The holder's certificate reconnected and holds control again.
    Resumed,
    /// The holder offered control to another console; the arm holds.
    Offered,
    /// The recipient accepted: it holds control (and must engage).
    Accepted,
    /// The recipient declined: control stays where it was.
    Declined,
    /// The offer was taken back, or lapsed when its sender or recipient dropped.
    Withdrawn,
    /// The bedside team took control: remote commands and requests are ignored.
    TakenOver,
    /// The bedside team offered control back to a remote surgeon.
    HandBackOffered,
    /// The remote surgeon accepted the bedside team's hand-back.
    HandedBack,
    /// The holder finished; control is vacant.
    Released,
    /// A bedside team member confirmed the remote surgeon may engage (site policy).
    BedsideConfirmed,
}

impl ControlStep {
    pub fn name(self) -> &'static str {
        match self {
            ControlStep::Status => "status",
            ControlStep::Granted => "granted",
            ControlStep::Resumed => "resumed",
            ControlStep::Offered => "offered",
            ControlStep::Accepted => "accepted",
            ControlStep::Declined => "declined",
            ControlStep::Withdrawn => "withdrawn",
            ControlStep::TakenOver => "taken_over",
            ControlStep::HandBackOffered => "hand_back_offered",
            ControlStep::HandedBack => "handed_back",
            ControlStep::Released => "released",
            ControlStep::BedsideConfirmed => "bedside_confirmed",
        }
    }
}

/// Who holds control, as every console is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ControlHolder {
    Vacant,
    /// A remote console, by its certificate's name; `connected` is false while it reconnects.
    Remote {
        name: String,
        connected: bool,
    },
    Bedside {
        name: String,
    },
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
    /// Console (the holder) offers control to the console of the person named.
    OfferControl { to: String },
    /// Console accepts the offer addressed to it (or claims vacant control).
    AcceptControl,
    /// Console declines the offer addressed to it.
    DeclineControl,
    /// Console takes back its own offer.
    WithdrawOffer,
    /// Station → console, once admitted: who the station takes it for and what it may do.
    Admitted {
        name: String,
        role: String,
        may_operate: bool,
        /// The policy rule that decided, and its explanation.
        rule: String,
        explanation: String,
    },
    /// Station → every console: a step of the two-teams protocol, with who took it.
    Control {
        step: ControlStep,
        /// The person who acted (name and role).
        by: String,
        to: Option<String>,
        holder: ControlHolder,
        /// Consoles connected now, "name (role)".
        present: Vec<String>,
        at_us: i64,
    },
    /// Console → station: a HIFU request for the plan with this digest (docs/hifu.md).
    HifuRequest {
        digest: String,
        request: HifuRequest,
    },
    /// Station → every console: what the HIFU procedure and its beam did.
    Hifu(HifuNews),
    /// Station → every console: the patient monitor's newest reading.
    Vitals(MonitorReading),
    /// Console → station: capture the camera's next frame `shift_us` later, so that frames reach
    /// this console's display just before it refreshes (display-locked capture, docs/video.md).
    /// Only the console in control is heard; the camera never captures earlier.
    VideoPacing { shift_us: i64 },
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
            SessionEvent::OfferControl { .. } => "offer_control",
            SessionEvent::AcceptControl => "accept_control",
            SessionEvent::DeclineControl => "decline_control",
            SessionEvent::WithdrawOffer => "withdraw_offer",
            SessionEvent::Admitted { .. } => "admitted",
            SessionEvent::Control { .. } => "control",
            SessionEvent::HifuRequest { request, .. } => request.name(),
            SessionEvent::Hifu(_) => "hifu",
            SessionEvent::Vitals(_) => "vitals",
            SessionEvent::VideoPacing { .. } => "video_pacing",
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
