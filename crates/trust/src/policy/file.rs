//! The policy file's shape: every table and key a site may write, with serde refusing unknown
//! keys and malformed values (codes, offsets, serials, checksums) where they are written, so
//! toml's error names the line. Cross-field rules are checked afterwards by `validate`.

use super::codes::{Jurisdiction, Serial, Sha256Hex, UtcOffset};
use super::date::Date;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A device a station hosts and a surgeon may operate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// The surgical arm (teleoperated).
    Arm,
    /// The HIFU transducer (focused ultrasound ablation).
    Hifu,
}

impl Device {
    pub const ALL: [Device; 2] = [Device::Arm, Device::Hifu];

    pub fn name(self) -> &'static str {
        match self {
            Device::Arm => "arm",
            Device::Hifu => "hifu",
        }
    }

    pub fn parse(name: &str) -> Option<Device> {
        Device::ALL.into_iter().find(|device| device.name() == name)
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `[site]`: where the patient and this station are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The hospital or clinic, for explanations and the audit log.
    pub name: String,
    /// Where the patient and the station are.
    pub jurisdiction: Jurisdiction,
    /// Licences the site accepts for remote operation: its own jurisdiction and those of its
    /// cross-border agreements. Absent: the site's own jurisdiction only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recognised_licences: Option<Vec<Jurisdiction>>,
    /// The devices this station hosts.
    pub devices: Vec<Device>,
    /// The site's offset from UTC, for today's date at the site (expiries end at local midnight).
    #[serde(default)]
    pub utc_offset: UtcOffset,
}

impl Site {
    /// The licence jurisdictions the site recognises (its own when the file names none).
    pub fn recognised(&self) -> Vec<Jurisdiction> {
        self.recognised_licences
            .clone()
            .unwrap_or_else(|| vec![self.jurisdiction.clone()])
    }
}

/// `[consent]`: whether a recorded patient consent must exist before anyone operates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// Default: true (a site that needs none says `required = false`).
    #[serde(default = "yes")]
    pub required: bool,
    /// The consent record, a path relative to the policy file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The record's SHA-256, so that another patient's record does not pass for this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256Hex>,
}

impl Default for Consent {
    fn default() -> Self {
        Self {
            required: true,
            record: None,
            sha256: None,
        }
    }
}

/// `[bedside]`: what the bedside team must do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bedside {
    /// A bedside team member confirms before the first engage of a session. Default: true.
    #[serde(default = "yes")]
    pub confirm_first_engage: bool,
}

impl Default for Bedside {
    fn default() -> Self {
        Self {
            confirm_first_engage: true,
        }
    }
}

/// `[[surgeon]]`: a surgeon credentialed (granted privileges) at this site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Surgeon {
    /// The certificate's common name, exactly.
    pub name: String,
    /// Pins one certificate: only the certificate with this serial is this surgeon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<Serial>,
    /// The last day of the site's credentialing (inclusive).
    pub credentialed_until: Date,
    /// The devices the surgeon may operate here.
    pub devices: Vec<Device>,
    /// The surgeon's medical licences (`[[surgeon.licence]]`).
    #[serde(rename = "licence", default)]
    pub licences: Vec<Licence>,
}

/// `[[surgeon.licence]]`: one licence to practise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Licence {
    /// Who issued it.
    pub jurisdiction: Jurisdiction,
    /// The registration number, for explanations and audits.
    pub number: String,
    /// The last day it is valid (inclusive).
    pub expires: Date,
}

/// The whole file, as parsed, before the cross-field checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    pub site: Site,
    #[serde(default)]
    pub consent: Consent,
    #[serde(default)]
    pub bedside: Bedside,
    #[serde(rename = "surgeon", default)]
    pub surgeons: Vec<Surgeon>,
}

fn yes() -> bool {
    true
}
