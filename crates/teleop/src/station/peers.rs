//! The consoles connected to a station: who each is (its certificate's identity), what the site's
//! admission policy let it do, and its own session state (hello, clock sync, pings). Capacity is
//! fixed at start, so connecting never grows a collection the servo thread walks.

use super::control::PeerId;
use proto::ClockSync;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use trust::Identity;

/// The most consoles (one in control, the others watching) a station serves at once.
pub const MAX_CONSOLES: usize = 8;

/// The most events a console may send in one second. A person presses a few buttons a second;
/// a console far beyond this is flooding the station (and its audit log) and is disconnected.
pub const MAX_EVENTS_PER_SECOND: u32 = 100;

/// What the site's admission policy decided for a console, computed by the edge (which reads the
/// policy file and the consent record) and handed to the core with the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admission {
    /// Whether the console may join at all (to watch at least).
    pub admitted: bool,
    /// Whether it may operate the arm, its role permitting.
    pub may_operate: bool,
    /// Whether a bedside team member must confirm before its first engage.
    pub bedside_confirmation: bool,
    /// The rule that decided ("surgeon.credentialed", "licence.expired", ...).
    pub rule: String,
    /// The decision in a sentence naming the person and the rule.
    pub explanation: String,
}

impl Admission {
    /// A station with no admission policy: any console certificate of the CA is admitted for what
    /// its role allows (the edge warns about it at start).
    pub fn without_policy(identity: &Identity) -> Self {
        Self {
            admitted: true,
            may_operate: identity.role.may_operate(),
            bedside_confirmation: false,
            rule: "no_policy".to_string(),
            explanation: format!(
                "{identity}: no admission policy at this station; the certificate's role decides"
            ),
        }
    }

    /// A refusal by `rule`.
    pub fn refused(rule: &str, explanation: String) -> Self {
        Self {
            admitted: false,
            may_operate: false,
            bedside_confirmation: false,
            rule: rule.to_string(),
            explanation,
        }
    }
}

/// One connected console.
#[derive(Debug, Clone)]
pub struct Peer {
    pub id: PeerId,
    pub identity: Identity,
    /// The certificate (serial and name) that holds control across reconnects.
    pub key: String,
    /// Its role and the policy let it operate.
    pub operator: bool,
    pub bedside_confirmation: bool,
    pub session_id: u64,
    pub clock: ClockSync,
    pub hello: bool,
    pub ping_id: u64,
    pub next_ping: Duration,
    /// Events in the current one-second window, and when it began.
    events_in_window: u32,
    window_start: Duration,
}

impl Peer {
    pub fn new(
        id: PeerId,
        identity: Identity,
        admission: &Admission,
        session_id: u64,
        max_drift_ppm: f64,
        now: Duration,
    ) -> Self {
        let key = certificate_key(&identity);
        let operator = admission.may_operate && identity.role.may_operate();
        Self {
            id,
            identity,
            key,
            operator,
            bedside_confirmation: admission.bedside_confirmation,
            session_id,
            clock: ClockSync::with_max_drift_ppm(max_drift_ppm),
            hello: false,
            ping_id: 0,
            next_ping: now,
            events_in_window: 0,
            window_start: now,
        }
    }

    /// Counts an event at `now`; false when the console has sent more than
    /// `MAX_EVENTS_PER_SECOND` within a second.
    pub fn within_event_rate(&mut self, now: Duration) -> bool {
        if now.saturating_sub(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.events_in_window = 0;
        }
        self.events_in_window += 1;
        self.events_in_window <= MAX_EVENTS_PER_SECOND
    }

    /// "Dr Li Wei (surgeon)".
    pub fn label(&self) -> String {
        label(&self.identity)
    }
}

/// "name (role)", as consoles show a person.
pub fn label(identity: &Identity) -> String {
    format!("{} ({})", identity.name, identity.role)
}

/// A certificate's key: serial and name (a reissued certificate is another key).
pub fn certificate_key(identity: &Identity) -> String {
    format!("{}/{}", identity.serial, identity.name)
}
