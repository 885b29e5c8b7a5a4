//! The remote HIFU procedure: what the console and the station say to each other about it (the
//! plan on the bulk channel, the operator's requests and the station's news on the event stream,
//! thermometry frames on the bulk channel), what the station core hands its HIFU device thread and
//! hears back, and the two pure halves: `procedure` (the station's, inside the station core) and
//! `operator` (the console's, which runs the plan spot by spot).
//!
//! The HIFU device itself (`hifu::device`, with the HIFU supervisor inside) runs on its own thread
//! at the station's edge on the station's clock: the station core only checks who asks, against
//! which plan, audits, and renews the dead-man's switch with the controller's clock-sync echoes.

pub mod device_kit;
pub mod operator;
pub mod procedure;
mod validate;

pub use validate::{PlanLimits, PlanPreview, SpotPreview, plan_digest, validate_plan};

use hifu::device::{DeviceCommand, ThermometryFrame};
use hifu::plan::Plan;
use serde::{Deserialize, Serialize};

/// What the operator asks of the procedure; every request names the plan it is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum HifuRequest {
    /// Sonicate this spot of the accepted plan (its power and duration are the plan's).
    Start { spot: usize },
    /// Switch the beam off, keeping the spot's remaining time for `Resume`.
    Pause,
    /// Sonicate the remaining time of the paused (or safety-stopped and acknowledged) spot.
    Resume,
    /// End the procedure: the beam goes off and no spot may start until a plan is sent again.
    Stop,
    /// The operator has seen the safety stop and its reason.
    Acknowledge,
    /// End the spot under way as delivered: the closed loop saw its target dose (or another
    /// reason to end it early, named in the audit log by the console).
    Complete,
}

impl HifuRequest {
    pub fn name(&self) -> &'static str {
        match self {
            HifuRequest::Start { .. } => "hifu_start",
            HifuRequest::Pause => "hifu_pause",
            HifuRequest::Resume => "hifu_resume",
            HifuRequest::Stop => "hifu_stop",
            HifuRequest::Acknowledge => "hifu_acknowledge",
            HifuRequest::Complete => "hifu_complete",
        }
    }
}

/// What the station tells every console about the procedure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "news", rename_all = "snake_case")]
pub enum HifuNews {
    /// The plan passed the station's checks; the device is being prepared.
    PlanAccepted(Box<PlanPreview>),
    PlanRefused {
        digest: String,
        reason: String,
    },
    /// The device is ready to sonicate the accepted plan.
    DeviceReady {
        digest: String,
    },
    DeviceFailed {
        reason: String,
    },
    SpotStarted {
        spot: usize,
        power_w: f64,
        duration_s: f64,
        time_s: f64,
    },
    /// The beam left the spot: `complete` when its planned time has been delivered.
    SpotEnded {
        spot: usize,
        delivered_s: f64,
        complete: bool,
        time_s: f64,
    },
    /// The beam went on or off; `rule` names the safety rule that stopped it, if one did.
    Beam {
        state: String,
        rule: Option<String>,
        reason: Option<String>,
        time_s: f64,
    },
    /// The procedure ended (operator stop, or every spot complete).
    Ended {
        spots_complete: usize,
        why: String,
    },
}

impl HifuNews {
    /// One line for a person (the console's view, the station's log); `None` for a beam change
    /// without a rule (the spot lines say it).
    pub fn describe(&self) -> Option<String> {
        Some(match self {
            HifuNews::PlanAccepted(p) => format!(
                "plan {} accepted: {} spots, {:.0} J, {:.0} s beam-on, {:.0} s with cooling; focal ceiling {} °C, OAR {} °C / {} CEM43",
                p.digest,
                p.spots.len(),
                p.energy_j,
                p.beam_on_s,
                p.duration_s,
                p.focal_ceiling_c,
                p.oar_max_temp_c,
                p.oar_max_cem43
            ),
            HifuNews::PlanRefused { reason, .. } => format!("plan refused: {reason}"),
            HifuNews::DeviceReady { .. } => "the station's device is ready".into(),
            HifuNews::DeviceFailed { reason } => format!("the station's device failed: {reason}"),
            HifuNews::SpotStarted {
                spot,
                power_w,
                duration_s,
                time_s,
            } => format!("spot {spot} on at {time_s:.1} s: {power_w:.0} W for {duration_s:.1} s"),
            HifuNews::SpotEnded {
                spot,
                delivered_s,
                complete,
                time_s,
            } => format!(
                "spot {spot} off at {time_s:.1} s: {delivered_s:.1} s delivered{}",
                if *complete { "" } else { " (interrupted)" }
            ),
            HifuNews::Beam {
                state,
                rule: Some(rule),
                reason,
                time_s,
            } => format!(
                "beam {state} at {time_s:.1} s by {rule}: {}",
                reason.as_deref().unwrap_or("")
            ),
            HifuNews::Beam { .. } => return None,
            HifuNews::Ended {
                spots_complete,
                why,
            } => {
                format!("procedure ended: {why} ({spots_complete} spots complete)")
            }
        })
    }
}

/// A message of the bulk channel (one QUIC stream each, below control in priority).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "bulk", rename_all = "snake_case")]
pub enum BulkMessage {
    /// Console → station: the treatment plan to validate.
    Plan(Box<Plan>),
    /// Station → console: temperature and dose on the focal slice, and the OAR peaks.
    Thermometry(Box<ThermometryFrame>),
}

/// What the station core asks of its HIFU device thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "order", rename_all = "snake_case")]
pub enum DeviceOrder {
    /// Build the device for this accepted plan (its spots; the station's own patient model).
    Load {
        plan: Box<Plan>,
        digest: String,
    },
    Command(DeviceCommand),
}

/// What the HIFU device thread reports to the station core (frames go straight to the consoles).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "report", rename_all = "snake_case")]
pub enum DeviceReport {
    Loaded {
        digest: String,
    },
    LoadFailed {
        digest: String,
        reason: String,
    },
    Beam {
        state: String,
        rule: Option<String>,
        reason: Option<String>,
        time_s: f64,
    },
    SonicationDone {
        spot: usize,
        time_s: f64,
    },
    /// The device refused a command (its supervisor's latch, a spot out of range).
    Refused {
        command: String,
        reason: String,
    },
}
