//! The policy file's shape: every table and key a site may write, with serde refusing unknown
//! keys and malformed values (codes, offsets, serials, checksums) where they are written, so
//! toml's error names the line. Cross-field rules are checked afterwards by `validate`.

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

/// A licensing jurisdiction: an ISO 3166-1 alpha-2 country code (`CN`, `HK`, `GB`), optionally
/// with an ISO 3166-2 subdivision where licences are issued below the country (`US-CA`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Jurisdiction(String);

impl Jurisdiction {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Jurisdiction {
    type Error = String;

    fn try_from(code: String) -> Result<Self, String> {
        let (country, subdivision) = match code.split_once('-') {
            Some((country, subdivision)) => (country, Some(subdivision)),
            None => (code.as_str(), None),
        };
        let country_ok = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
        let subdivision_ok = subdivision.is_none_or(|s| {
            (1..=3).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        });
        if country_ok && subdivision_ok {
            Ok(Jurisdiction(code))
        } else {
            Err(format!(
                "{code:?} is not a jurisdiction code: expected an ISO 3166 code in capitals, \
                 like \"CN\", \"HK\" or \"US-CA\""
            ))
        }
    }
}

impl From<Jurisdiction> for String {
    fn from(code: Jurisdiction) -> String {
        code.0
    }
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The site's offset from UTC, `+08:00`, for today's date at the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UtcOffset {
    minutes: i32,
}

impl UtcOffset {
    pub fn seconds(self) -> i64 {
        i64::from(self.minutes) * 60
    }
}

impl TryFrom<String> for UtcOffset {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let bad =
            || format!("{text:?} is not a UTC offset: expected +HH:MM or -HH:MM, like \"+08:00\"");
        let bytes = text.as_bytes();
        let sign = match bytes.first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(bad()),
        };
        let shape_ok = bytes.len() == 6
            && bytes[3] == b':'
            && [1, 2, 4, 5].iter().all(|&i| bytes[i].is_ascii_digit());
        if !shape_ok {
            return Err(bad());
        }
        let hours: i32 = text[1..3].parse().map_err(|_| bad())?;
        let minutes: i32 = text[4..6].parse().map_err(|_| bad())?;
        let total = sign * (hours * 60 + minutes);
        if minutes >= 60 || !(-12 * 60..=14 * 60).contains(&total) {
            return Err(format!(
                "{text:?} is not a UTC offset on Earth (-12:00 to +14:00)"
            ));
        }
        Ok(UtcOffset { minutes: total })
    }
}

impl From<UtcOffset> for String {
    fn from(offset: UtcOffset) -> String {
        offset.to_string()
    }
}

impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minutes < 0 { '-' } else { '+' };
        let minutes = self.minutes.abs();
        write!(f, "{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    }
}

/// A certificate serial number in hex, written as medlink writes serials: lower case, two digits
/// a byte, no colons, no leading zero bytes (`00:0A:1B`, `a1b` and `0a1b` are the same serial).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Serial(String);

impl Serial {
    /// The normalised form of a hex serial, or `None` when it is not hex.
    pub fn normalise(text: &str) -> Option<Serial> {
        let digits: String = text
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut even = if digits.len() % 2 == 1 {
            format!("0{digits}")
        } else {
            digits
        };
        while even.len() > 2 && even.starts_with("00") {
            even.drain(..2);
        }
        Some(Serial(even))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Serial {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Serial::normalise(&text).ok_or_else(|| {
            format!("{text:?} is not a certificate serial: expected hex digits, colons allowed")
        })
    }
}

impl From<Serial> for String {
    fn from(serial: Serial) -> String {
        serial.0
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A SHA-256 digest as 64 hex digits (stored in lower case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Hex(String);

impl Sha256Hex {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sha256Hex {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256Hex(text.to_ascii_lowercase()))
        } else {
            Err(format!(
                "{text:?} is not a SHA-256 digest: expected 64 hex digits (sha256sum prints them)"
            ))
        }
    }
}

impl From<Sha256Hex> for String {
    fn from(digest: Sha256Hex) -> String {
        digest.0
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
