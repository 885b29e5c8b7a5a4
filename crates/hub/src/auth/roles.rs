//! The roles a person's account has, and the scopes each role grants (docs/hub.md, "People,
//! sign-in and tokens", has the same table for people to read).

use super::scopes::{Scope, parse_scopes};
use std::fmt;
use std::str::FromStr;

/// A person's role on the ward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Nurse,
    ChargeNurse,
    Doctor,
    RapidResponse,
    Admin,
    Viewer,
}

/// Everything a viewer may read: the ward's patients, their vitals, alerts, devices, ambulances.
const WARD_READ: &str = "user/Alert.read user/Patient.read user/Device.read \
    user/Observation.read user/Incoming.read";

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Nurse,
        Role::ChargeNurse,
        Role::Doctor,
        Role::RapidResponse,
        Role::Admin,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Nurse => "nurse",
            Role::ChargeNurse => "charge_nurse",
            Role::Doctor => "doctor",
            Role::RapidResponse => "rapid_response",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    /// What the role grants beyond [`WARD_READ`] (admin: nothing of it).
    fn extra_scopes(self) -> &'static str {
        match self {
            // Act on alerts (acknowledge, snooze) and record vitals by hand.
            Role::Nurse | Role::RapidResponse => "user/Alert.write user/Observation.write",
            // And change a patient's record (SpO2 scale 2, demographics); read the audit trail.
            Role::ChargeNurse | Role::Doctor => {
                "user/Alert.write user/Observation.write user/Patient.write user/AuditEvent.read"
            }
            // Runs the hub: devices, the audit trail, metrics; no patient data, no clinical acts.
            Role::Admin => "user/Device.* user/AuditEvent.read user/metrics.read",
            Role::Viewer => "",
        }
    }

    /// The scopes the role grants.
    pub fn scopes(self) -> String {
        match self {
            Role::Admin => self.extra_scopes().to_string(),
            _ => format!("{WARD_READ} {}", self.extra_scopes()),
        }
    }

    /// The role's scopes, parsed.
    pub fn grants(self) -> Vec<Scope> {
        // The tables above are constants that the tests parse: an error here is a bug.
        parse_scopes(&self.scopes()).unwrap_or_default()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown role {text:?} (one of {})", known.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::scopes::{Access, Need, allows};

    fn may(role: Role, resource: &'static str, access: Access) -> bool {
        allows(&role.grants(), &[Need { resource, access }])
    }

    #[test]
    fn every_role_parses_and_round_trips() {
        for role in Role::ALL {
            assert!(parse_scopes(&role.scopes()).is_ok(), "{role}");
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!(
            "surgeon"
                .parse::<Role>()
                .unwrap_err()
                .contains("charge_nurse")
        );
    }

    #[test]
    fn roles_grant_what_the_table_says() {
        use Access::{Read, Write};
        assert!(may(Role::Viewer, "Alert", Read) && !may(Role::Viewer, "Alert", Write));
        assert!(may(Role::Nurse, "Alert", Write) && !may(Role::Nurse, "Patient", Write));
        assert!(may(Role::RapidResponse, "Alert", Write));
        assert!(may(Role::ChargeNurse, "Patient", Write) && may(Role::Doctor, "Patient", Write));
        assert!(may(Role::Doctor, "AuditEvent", Read) && !may(Role::Nurse, "AuditEvent", Read));
        assert!(may(Role::Admin, "Device", Write) && may(Role::Admin, "metrics", Read));
        assert!(!may(Role::Admin, "Observation", Read) && !may(Role::Admin, "Alert", Write));
        assert!(!may(Role::Doctor, "metrics", Read));
    }
}
