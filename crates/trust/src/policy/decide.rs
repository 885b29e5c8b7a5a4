//! The decision: a peer's identity, the device it asks for, the time and the consent record's
//! state go in; the rules are checked in their fixed order and the first that fails decides.

use super::Policy;
use super::date::Date;
use super::decision::{Access, ConsentState, Decision, Step};
use super::file::{Device, Licence, Surgeon};
use super::rule::Rule;
use super::validate::join;
use crate::identity::Identity;

/// Why evaluation stopped before admitting to operate.
enum Stop {
    Refused(Rule, String),
    Watch(Rule, String),
}

/// Evaluation of one request: the steps so far.
struct Trail {
    steps: Vec<Step>,
}

impl Trail {
    /// Records `rule` with its outcome; a failure stops the evaluation with a refusal.
    fn check(&mut self, rule: Rule, outcome: Result<String, String>) -> Result<(), Stop> {
        match outcome {
            Ok(detail) => {
                self.record(rule, true, detail);
                Ok(())
            }
            Err(detail) => Err(self.fail(rule, detail)),
        }
    }

    /// Records `rule` as failed; the refusal to return.
    fn fail(&mut self, rule: Rule, detail: String) -> Stop {
        self.record(rule, false, detail.clone());
        Stop::Refused(rule, detail)
    }

    fn record(&mut self, rule: Rule, passed: bool, detail: String) {
        self.steps.push(Step {
            rule,
            passed,
            detail,
        });
    }
}

/// What an admission to operate rests on, for its explanation.
struct Grounds<'a> {
    surgeon: &'a Surgeon,
    licence: &'a Licence,
    consent: String,
}

impl Policy {
    /// Decides whether `identity` may join this station's session and operate `device`, at
    /// `now` (seconds since the Unix epoch; expiries are judged on today's date at the site),
    /// given what the edge found of the consent record. The rules are checked in `Rule::ORDER`;
    /// the first that fails decides.
    pub fn decide(
        &self,
        identity: &Identity,
        device: Device,
        now: i64,
        consent: &ConsentState,
    ) -> Decision {
        let today = self.today(now);
        let mut trail = Trail { steps: Vec::new() };
        let outcome = self.evaluate(&mut trail, identity, device, now, today, consent);
        let (access, rule, explanation) = match outcome {
            Ok(grounds) => (
                Access::Operate,
                None,
                self.admission_sentence(identity, device, &grounds),
            ),
            Err(Stop::Watch(rule, why)) => (Access::Watch, Some(rule), why),
            Err(Stop::Refused(rule, why)) => (Access::Refused, Some(rule), why),
        };
        Decision {
            access,
            device,
            rule,
            explanation,
            bedside_confirmation_required: access == Access::Operate
                && self.bedside.confirm_first_engage,
            today,
            steps: trail.steps,
        }
    }

    fn evaluate<'a>(
        &'a self,
        trail: &mut Trail,
        identity: &Identity,
        device: Device,
        now: i64,
        today: Date,
        consent: &ConsentState,
    ) -> Result<Grounds<'a>, Stop> {
        let who = &identity.name;
        let role = &identity.role;
        trail.check(
            Rule::RoleNotConsole,
            if role.is_console() {
                Ok(format!("{who} holds a {role} certificate, a console role"))
            } else {
                Err(format!(
                    "{who} holds a {role} certificate, which is not a console role (only \
                     surgeon, bedside and observer certificates connect as consoles)"
                ))
            },
        )?;
        self.check_certificate(trail, identity, now)?;
        if role.may_operate() {
            trail.check(
                Rule::RoleMayNotOperate,
                Ok(format!("role {role} may operate, policy permitting")),
            )?;
        } else {
            let why = format!("watch only: role {role} does not operate");
            trail.record(Rule::RoleMayNotOperate, false, why.clone());
            return Err(Stop::Watch(Rule::RoleMayNotOperate, why));
        }
        let site = &self.site;
        trail.check(
            Rule::DeviceNotHosted,
            if site.devices.contains(&device) {
                Ok(format!("this station hosts the {device}"))
            } else {
                Err(format!(
                    "this station at {} hosts {} only; the {device} was requested",
                    site.name,
                    join(&site.devices)
                ))
            },
        )?;
        let Some(surgeon) = self.surgeon(who) else {
            return Err(trail.fail(
                Rule::SurgeonNotCredentialed,
                format!(
                    "{who} is not credentialed at {}: no [[surgeon]] of that name in its policy",
                    site.name
                ),
            ));
        };
        trail.check(
            Rule::SurgeonNotCredentialed,
            Ok(format!("{who} is listed as credentialed at {}", site.name)),
        )?;
        self.check_surgeon(trail, surgeon, identity, device, today)?;
        let licence = self.check_licences(trail, surgeon, today)?;
        let consent = self.check_consent(trail, consent)?;
        Ok(Grounds {
            surgeon,
            licence,
            consent,
        })
    }

    fn check_certificate(&self, trail: &mut Trail, id: &Identity, now: i64) -> Result<(), Stop> {
        let (who, serial) = (&id.name, &id.serial);
        let from = Date::from_unix_seconds(id.not_before);
        let until = Date::from_unix_seconds(id.not_after);
        trail.check(
            Rule::CertificateNotYetValid,
            if now >= id.not_before {
                Ok(format!(
                    "certificate serial {serial} valid from {from} (UTC)"
                ))
            } else {
                Err(format!(
                    "{who}'s certificate (serial {serial}) is not valid before {from} (UTC)"
                ))
            },
        )?;
        trail.check(
            Rule::CertificateExpired,
            if now <= id.not_after {
                Ok(format!("certificate valid until {until} (UTC)"))
            } else {
                Err(format!(
                    "{who}'s certificate (serial {serial}) expired on {until} (UTC)"
                ))
            },
        )
    }

    fn check_surgeon(
        &self,
        trail: &mut Trail,
        surgeon: &Surgeon,
        identity: &Identity,
        device: Device,
        today: Date,
    ) -> Result<(), Stop> {
        let who = &surgeon.name;
        let site = &self.site.name;
        let presented = super::codes::Serial::normalise(&identity.serial);
        trail.check(
            Rule::PinnedSerialMismatch,
            match &surgeon.serial {
                None => Ok("no certificate pinned; any valid certificate of that name".into()),
                Some(pinned) if presented.as_ref() == Some(pinned) => {
                    Ok(format!("certificate serial {pinned} is the pinned one"))
                }
                Some(pinned) => Err(format!(
                    "{who}'s credential at {site} is pinned to certificate serial {pinned}; this \
                     certificate's serial is {}",
                    identity.serial
                )),
            },
        )?;
        let until = surgeon.credentialed_until;
        trail.check(
            Rule::CredentialExpired,
            if today <= until {
                Ok(format!("credentialed at {site} until {until}"))
            } else {
                Err(format!(
                    "{who}'s credentialing at {site} ended on {until} (today at the site is {today})"
                ))
            },
        )?;
        trail.check(
            Rule::DeviceNotPermitted,
            if surgeon.devices.contains(&device) {
                Ok(format!("credentialed for the {device}"))
            } else {
                Err(format!(
                    "{who} is credentialed at {site} for {} only, not the {device}",
                    join(&surgeon.devices)
                ))
            },
        )
    }

    fn check_licences<'a>(
        &self,
        trail: &mut Trail,
        surgeon: &'a Surgeon,
        today: Date,
    ) -> Result<&'a Licence, Stop> {
        let who = &surgeon.name;
        let site = &self.site;
        let recognised = site.recognised();
        let mut usable: Vec<&Licence> = surgeon
            .licences
            .iter()
            .filter(|licence| recognised.contains(&licence.jurisdiction))
            .collect();
        usable.sort_by_key(|licence| std::cmp::Reverse(licence.expires));
        let held = surgeon
            .licences
            .iter()
            .map(|l| format!("{} {}", l.jurisdiction, l.number))
            .collect::<Vec<_>>();
        // The latest-expiring recognised licence: valid if any is.
        let Some(licence) = usable.first().copied() else {
            return Err(trail.fail(
                Rule::LicenceNotRecognised,
                format!(
                    "{who}'s licences ({}) are not recognised at {} in {}, which recognises {} only",
                    held.join(", "),
                    site.name,
                    site.jurisdiction,
                    join(&recognised)
                ),
            ));
        };
        trail.check(
            Rule::LicenceNotRecognised,
            Ok(format!(
                "{} licence {} is recognised at {} ({} recognises {})",
                licence.jurisdiction,
                licence.number,
                site.name,
                site.jurisdiction,
                join(&recognised)
            )),
        )?;
        trail.check(
            Rule::LicenceExpired,
            if today <= licence.expires {
                Ok(format!(
                    "{} licence {} valid until {}",
                    licence.jurisdiction, licence.number, licence.expires
                ))
            } else {
                Err(format!(
                    "{who}'s {} licence {} expired on {} (today at the site is {today})",
                    licence.jurisdiction, licence.number, licence.expires
                ))
            },
        )?;
        Ok(licence)
    }

    fn check_consent(&self, trail: &mut Trail, state: &ConsentState) -> Result<String, Stop> {
        let consent = &self.consent;
        if !consent.required {
            let why = "the site does not require a recorded consent".to_string();
            trail.check(Rule::ConsentMissing, Ok(why.clone()))?;
            trail.check(Rule::ConsentRecordMismatch, Ok("not required".into()))?;
            return Ok(why);
        }
        let record = consent.record.as_deref().unwrap_or("(no record named)");
        trail.check(
            Rule::ConsentMissing,
            match state {
                ConsentState::Present | ConsentState::Mismatch { .. } => {
                    Ok(format!("consent record {record} present"))
                }
                ConsentState::Missing { reason } => Err(format!(
                    "the patient's recorded consent is required and missing: {reason}"
                )),
                ConsentState::NotChecked => Err(format!(
                    "the patient's recorded consent is required and was not checked ({record})"
                )),
            },
        )?;
        trail.check(
            Rule::ConsentRecordMismatch,
            match (state, &consent.sha256) {
                (ConsentState::Mismatch { expected, found }, _) => Err(format!(
                    "the consent record {record} is not the one the policy names (sha256 \
                     {found}, the policy says {expected}): it may be another patient's"
                )),
                (_, Some(digest)) => Ok(format!("matches sha256 {}", digest.as_str())),
                (_, None) => Ok("no checksum set in the policy".into()),
            },
        )?;
        Ok(format!("consent record {record} present"))
    }

    fn admission_sentence(&self, identity: &Identity, device: Device, grounds: &Grounds) -> String {
        let site = &self.site;
        let licence = grounds.licence;
        let bedside = if self.bedside.confirm_first_engage {
            "a bedside team member must confirm before the first engage"
        } else {
            "no bedside confirmation required"
        };
        format!(
            "{} ({}, serial {}) may operate the {device} at {} ({}) under {} licence {} (valid \
             until {}), credentialed until {}; {}; {bedside}",
            identity.name,
            identity.role,
            identity.serial,
            site.name,
            site.jurisdiction,
            licence.jurisdiction,
            licence.number,
            licence.expires,
            grounds.surgeon.credentialed_until,
            grounds.consent,
        )
    }
}
