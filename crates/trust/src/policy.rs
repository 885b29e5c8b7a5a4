//! The site's admission policy (cross-border): which surgeons are credentialed at this site,
//! their licences and the jurisdictions the site recognises, the devices each may operate, the
//! patient's recorded consent and the bedside confirmation. Parsed and validated from TOML;
//! `Policy::decide` answers one peer with the rule that decided and why (see docs/policy.md).

mod codes;
mod date;
mod decide;
mod decision;
mod file;
mod rule;
mod validate;

#[cfg(test)]
mod tests_decide;
#[cfg(test)]
mod tests_file;

pub use codes::{Jurisdiction, Serial, Sha256Hex, UtcOffset};
pub use date::{Date, DateParseError};
pub use decision::{Access, ConsentState, Decision, Step};
pub use file::{Bedside, Consent, Device, Licence, Site, Surgeon};
pub use rule::Rule;

use thiserror::Error;

/// Why a policy file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    /// Not TOML, an unknown key, a missing key or a malformed value: toml's message, with the
    /// line, the column and the offending text.
    #[error("{0}")]
    Syntax(String),
    /// Well-formed, but inconsistent: every problem, each naming its key.
    #[error("the policy is not valid:\n{}", bullets(.0))]
    Invalid(Vec<String>),
}

fn bullets(problems: &[String]) -> String {
    problems
        .iter()
        .map(|problem| format!("  - {problem}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A validated admission policy.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Policy {
    site: Site,
    consent: Consent,
    bedside: Bedside,
    #[serde(rename = "surgeon")]
    surgeons: Vec<Surgeon>,
}

impl Policy {
    /// Parses and validates a policy file's text.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let file: file::PolicyFile =
            toml::from_str(text).map_err(|e| PolicyError::Syntax(e.to_string()))?;
        let problems = validate::problems(&file);
        if !problems.is_empty() {
            return Err(PolicyError::Invalid(problems));
        }
        Ok(Policy {
            site: file.site,
            consent: file.consent,
            bedside: file.bedside,
            surgeons: file.surgeons,
        })
    }

    pub fn site(&self) -> &Site {
        &self.site
    }

    pub fn consent(&self) -> &Consent {
        &self.consent
    }

    pub fn bedside(&self) -> &Bedside {
        &self.bedside
    }

    pub fn surgeons(&self) -> &[Surgeon] {
        &self.surgeons
    }

    /// The credentialed surgeon whose certificate name is `name`.
    pub fn surgeon(&self, name: &str) -> Option<&Surgeon> {
        self.surgeons.iter().find(|surgeon| surgeon.name == name)
    }

    /// Today's date at the site at `now` (seconds since the Unix epoch).
    pub fn today(&self, now: i64) -> Date {
        Date::from_unix_seconds(now.saturating_add(self.site.utc_offset.seconds()))
    }

    /// The instant (seconds since the Unix epoch) of 12:00 at the site on `date`: what
    /// `medlink policy check --date` decides at.
    pub fn midday_on(&self, date: Date) -> i64 {
        date.unix_seconds_at_midnight_utc() + 12 * 3600 - self.site.utc_offset.seconds()
    }

    /// Things that are allowed but probably not meant: a surgeon no recognised licence could
    /// ever admit, a site that does not recognise its own licences, no surgeon at all.
    pub fn warnings(&self) -> Vec<String> {
        let recognised = self.site.recognised();
        let mut warnings = Vec::new();
        if self.surgeons.is_empty() {
            warnings.push(
                "no [[surgeon]]: only bedside and observer roles are admitted, to watch".into(),
            );
        }
        if !recognised.contains(&self.site.jurisdiction) {
            warnings.push(format!(
                "site.recognised_licences does not include the site's own jurisdiction {}",
                self.site.jurisdiction
            ));
        }
        for surgeon in &self.surgeons {
            if !surgeon
                .licences
                .iter()
                .any(|licence| recognised.contains(&licence.jurisdiction))
            {
                warnings.push(format!(
                    "surgeon {:?}: no licence from a recognised jurisdiction ({}); refused by {}",
                    surgeon.name,
                    validate::join(&recognised),
                    Rule::LicenceNotRecognised
                ));
            }
        }
        warnings
    }
}
