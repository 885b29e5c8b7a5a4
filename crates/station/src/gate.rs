//! Who gets in, decided at the station's edge: the revocation list (re-read while the station
//! runs; a console whose certificate is revoked after it connected is dropped) and the site's
//! admission policy (or none, which admits every CA-signed console for what its role allows and
//! says so at start). The decision goes to the session core with the connection.

use link::Revocations;
use std::time::SystemTime;
use teleop::station::peers::Admission;
use trust::Identity;
use trust::policy::Device;

/// The site's admission policy as the gate asks it.
pub trait PolicySource: Send {
    /// What the policy allows this identity on this station's devices.
    fn admit(&mut self, identity: &Identity) -> Admission;
    /// Re-reads the policy if it changed: what happened, if anything did.
    fn reload(&mut self) -> Option<PolicyReload>;
}

/// A policy file that changed on disk.
pub enum PolicyReload {
    /// The new policy is in force.
    Changed(String),
    /// The new file did not validate; the policy in force is kept.
    Kept(String),
}

/// What a reload changed: each change for the log and the audit log ("subject", "outcome"), and
/// whether the policy changed (connected consoles are then decided again).
#[derive(Debug, Default)]
pub struct Reloaded {
    pub changes: Vec<(String, String)>,
    pub policy_changed: bool,
}

/// What the network thread asks when a console connects and once a second.
pub trait Gate: Send {
    fn admit(&mut self, identity: &Identity) -> Admission;
    /// Re-reads the revocation list and the policy where they changed.
    fn reload(&mut self) -> Reloaded;
    /// Why a connected console's certificate no longer holds (revoked, expired), if it does not.
    fn check(&self, identity: &Identity) -> Result<(), String>;
}

pub struct StationGate {
    revocations: Revocations,
    policy: Option<Box<dyn PolicySource>>,
    /// Why the revocation list on disk was last refused, if it was.
    crl_refused: Option<String>,
}

impl StationGate {
    pub fn new(revocations: Revocations, policy: Option<Box<dyn PolicySource>>) -> Self {
        if policy.is_none() {
            tracing::warn!(
                "no admission policy: every console certificate of the CA is admitted for what its role allows (docs/policy.md)"
            );
        }
        Self {
            revocations,
            policy,
            crl_refused: None,
        }
    }
}

impl Gate for StationGate {
    fn admit(&mut self, identity: &Identity) -> Admission {
        match self.policy.as_mut() {
            Some(policy) => policy.admit(identity),
            None => Admission::without_policy(identity),
        }
    }

    fn reload(&mut self) -> Reloaded {
        let mut reloaded = Reloaded::default();
        let crl = format!("revocation list {}", self.revocations.path().display());
        match self.revocations.reload() {
            Ok(true) => {
                self.crl_refused = None;
                let outcome = format!("reloaded: CRL number {}", self.revocations.number());
                tracing::info!("{crl} {outcome}");
                reloaded.changes.push((crl, outcome));
            }
            Ok(false) => {}
            Err(e) => {
                let outcome = format!("refused, the list in force is kept: {e}");
                // A bad file stays bad until someone fixes it: said once, not every second.
                if self.crl_refused.as_ref() != Some(&outcome) {
                    tracing::warn!("{crl}: {outcome}");
                    self.crl_refused = Some(outcome.clone());
                    reloaded.changes.push((crl, outcome));
                }
            }
        }
        match self.policy.as_mut().and_then(|p| p.reload()) {
            Some(PolicyReload::Changed(message)) => {
                tracing::info!("{message}");
                reloaded.changes.push(("admission policy".into(), message));
                reloaded.policy_changed = true;
            }
            Some(PolicyReload::Kept(message)) => {
                tracing::warn!("{message}");
                reloaded.changes.push(("admission policy".into(), message));
            }
            None => {}
        }
        reloaded
    }

    fn check(&self, identity: &Identity) -> Result<(), String> {
        self.revocations
            .check(identity, link::pki::now_unix())
            .map_err(|refusal| format!("certificate {refusal}"))
    }
}

/// The site's policy file: this station hosts the arm, so a console asks for the arm.
impl PolicySource for crate::admission::Admission {
    fn admit(&mut self, identity: &Identity) -> Admission {
        let decision = self.decide(identity, Device::Arm, SystemTime::now());
        Admission {
            admitted: decision.admitted(),
            may_operate: decision.may_operate(),
            bedside_confirmation: decision.bedside_confirmation_required,
            rule: decision
                .rule
                .map_or("policy.admitted", |rule| rule.name())
                .to_string(),
            explanation: decision.explanation,
        }
    }

    fn reload(&mut self) -> Option<PolicyReload> {
        let path = self.path().display().to_string();
        match self.reload_if_changed() {
            Ok(true) => Some(PolicyReload::Changed(format!(
                "admission policy {path} reloaded"
            ))),
            Ok(false) => None,
            Err(e) => Some(PolicyReload::Kept(format!(
                "the admission policy {path} could not be reloaded; the one in force is kept: {e}"
            ))),
        }
    }
}
