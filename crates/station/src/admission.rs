//! The station's admission edge: reads the site's policy file (`trust::policy`), re-reads it
//! when it changes, looks for the patient's consent record beside it, and asks the pure policy
//! what a connecting console may do, on the station's clock. A policy that fails to load on
//! reload leaves the previous one in force.

use sha2::{Digest, Sha256};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;
use trust::Identity;
use trust::policy::{ConsentState, Decision, Device, Policy, PolicyError};

/// Why a policy file cannot be put in force. The message is complete on its own (the inner
/// error is part of it, not a separate source, so `{:#}` does not repeat it).
#[derive(Debug, Error)]
pub enum AdmissionError {
    #[error("{path}: {error}")]
    Read { path: PathBuf, error: io::Error },
    #[error("{path}: {error}")]
    Policy { path: PathBuf, error: PolicyError },
}

/// The policy in force, and the file it came from.
#[derive(Debug, Clone)]
pub struct Admission {
    path: PathBuf,
    /// The text the policy in force was parsed from.
    text: String,
    policy: Policy,
    /// The last text a reload refused, so it is reported once, not at every poll.
    refused_text: Option<String>,
}

impl Admission {
    /// Reads and validates the policy file at `path`.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, AdmissionError> {
        let path = path.into();
        let text = read(&path)?;
        let policy = parse(&path, &text)?;
        Ok(Self {
            path,
            text,
            policy,
            refused_text: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The consent record's path: `consent.record`, relative to the policy file's directory.
    pub fn consent_record(&self) -> Option<PathBuf> {
        let record = self.policy.consent().record.as_deref()?;
        let base = self.path.parent().unwrap_or(Path::new(""));
        Some(base.join(record))
    }

    /// Looks for the consent record (and checks its SHA-256 when the policy gives one).
    /// `NotChecked` where the site requires no consent.
    pub fn consent_state(&self) -> ConsentState {
        let consent = self.policy.consent();
        let Some(path) = self.consent_record().filter(|_| consent.required) else {
            return ConsentState::NotChecked;
        };
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                return ConsentState::Missing {
                    reason: format!("{}: {e}", path.display()),
                };
            }
        };
        if bytes.is_empty() {
            return ConsentState::Missing {
                reason: format!("{}: the file is empty", path.display()),
            };
        }
        match &consent.sha256 {
            Some(expected) => {
                let found = hex(&Sha256::digest(&bytes));
                if found == expected.as_str() {
                    ConsentState::Present
                } else {
                    ConsentState::Mismatch {
                        expected: expected.as_str().to_string(),
                        found,
                    }
                }
            }
            None => ConsentState::Present,
        }
    }

    /// What `identity` may do with `device` at `now` (the station's wall clock), under the
    /// policy in force, with the consent record as it is on disk now.
    pub fn decide(&self, identity: &Identity, device: Device, now: SystemTime) -> Decision {
        self.decide_at(identity, device, unix_seconds(now))
    }

    /// `decide` at `now` in seconds since the Unix epoch.
    pub fn decide_at(&self, identity: &Identity, device: Device, now: i64) -> Decision {
        self.policy
            .decide(identity, device, now, &self.consent_state())
    }

    /// Re-reads the policy file. `Ok(true)` when a changed policy is now in force; `Ok(false)`
    /// when the file is unchanged, or is the same refused text as last time; `Err` when the
    /// file changed and cannot be read or does not validate: the previous policy stays in force
    /// (the station logs the error). Compares contents, so an edit within the file system's
    /// timestamp resolution is not missed.
    pub fn reload_if_changed(&mut self) -> Result<bool, AdmissionError> {
        let text = read(&self.path)?;
        if text == self.text || self.refused_text.as_ref() == Some(&text) {
            return Ok(false);
        }
        match parse(&self.path, &text) {
            Ok(policy) => {
                self.policy = policy;
                self.text = text;
                self.refused_text = None;
                Ok(true)
            }
            Err(e) => {
                self.refused_text = Some(text);
                Err(e)
            }
        }
    }
}

fn read(path: &Path) -> Result<String, AdmissionError> {
    fs::read_to_string(path).map_err(|error| AdmissionError::Read {
        path: path.to_owned(),
        error,
    })
}

fn parse(path: &Path, text: &str) -> Result<Policy, AdmissionError> {
    Policy::from_toml(text).map_err(|error| AdmissionError::Policy {
        path: path.to_owned(),
        error,
    })
}

/// Seconds since the Unix epoch (negative before it), saturating.
fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
