//! The coded values a policy file holds, each refused where it is written when malformed:
//! jurisdictions (ISO 3166), the site's UTC offset, certificate serials and SHA-256 digests.

use serde::{Deserialize, Serialize};
use std::fmt;

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
