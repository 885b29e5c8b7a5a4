//! What a decision says: what the peer may do (operate, watch, nothing), the rule that decided,
//! a sentence explaining it, and every rule checked on the way; and what the edge found of the
//! consent record, the one input the core cannot look at itself.

use super::date::Date;
use super::file::Device;
use super::rule::Rule;
use serde::Serialize;
use std::fmt;

/// What the edge found when it looked for the consent record (the core does no IO).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ConsentState {
    /// The record exists (and matches the policy's checksum, when one is set).
    Present,
    /// Absent or unreadable: why, naming the path.
    Missing { reason: String },
    /// Present but its SHA-256 is not the policy's.
    Mismatch { expected: String, found: String },
    /// Nobody looked. Passes only where the site requires no consent.
    NotChecked,
}

/// What an admitted peer may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Operate the requested device (engage, command), under the station's supervisor.
    Operate,
    /// Watch the session: state, video, vitals; never a command.
    Watch,
    /// Not admitted.
    Refused,
}

/// One rule as checked for this decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub rule: Rule,
    pub passed: bool,
    /// What was found, in words.
    pub detail: String,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.passed { "pass" } else { "FAIL" };
        write!(f, "{mark}  {:<35} {}", self.rule.name(), self.detail)
    }
}

/// The site's answer to one peer asking for one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub access: Access,
    /// The device asked for.
    pub device: Device,
    /// The rule that decided: the first that failed (a refusal), or `role.may_not_operate` for
    /// a watch-only admission. `None` when every rule passed and the peer may operate.
    pub rule: Option<Rule>,
    /// One sentence naming the person, the dates and the jurisdictions involved.
    pub explanation: String,
    /// A bedside team member must confirm before this session's first engage.
    pub bedside_confirmation_required: bool,
    /// Today's date at the site, as the expiries were judged.
    pub today: Date,
    /// Every rule checked, in order, up to the one that decided.
    pub steps: Vec<Step>,
}

impl Decision {
    /// Admitted at all (to operate or to watch).
    pub fn admitted(&self) -> bool {
        self.access != Access::Refused
    }

    /// Admitted to operate the device.
    pub fn may_operate(&self) -> bool {
        self.access == Access::Operate
    }

    /// `ADMITTED to operate the arm: ...`, `ADMITTED to watch by rule ...: ...` or
    /// `REFUSED by rule licence.expired: ...`.
    pub fn summary(&self) -> String {
        match (self.access, self.rule) {
            (Access::Operate, _) => {
                format!(
                    "ADMITTED to operate the {}: {}",
                    self.device, self.explanation
                )
            }
            (Access::Watch, Some(rule)) => {
                format!("ADMITTED to watch by rule {rule}: {}", self.explanation)
            }
            (Access::Watch, None) => format!("ADMITTED to watch: {}", self.explanation),
            (Access::Refused, Some(rule)) => {
                format!("REFUSED by rule {rule}: {}", self.explanation)
            }
            (Access::Refused, None) => format!("REFUSED: {}", self.explanation),
        }
    }
}
