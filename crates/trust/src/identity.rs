//! A peer's identity as its certificate states it: a name, a role, the certificate's serial and
//! validity. Roles are carried in the certificate as a SAN URI `urn:medlink:role:<role>`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The SAN URI prefix that carries a role in a medlink certificate.
pub const ROLE_URI_PREFIX: &str = "urn:medlink:role:";

/// What a certificate holder may be. Unknown roles are kept by name (the set is extensible) and
/// are granted nothing by the station.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A remote surgeon: may operate when the site's policy admits them.
    Surgeon,
    /// A member of the bedside team.
    Bedside,
    /// Watches the session; never engages or commands.
    Observer,
    /// A patient-side station (a server certificate; never a console).
    Station,
    /// A HIFU device attached to a station.
    HifuDevice,
    /// A role this version does not know.
    #[serde(untagged)]
    Other(String),
}

impl Role {
    pub const KNOWN: [Role; 5] = [
        Role::Surgeon,
        Role::Bedside,
        Role::Observer,
        Role::Station,
        Role::HifuDevice,
    ];

    pub fn name(&self) -> &str {
        match self {
            Role::Surgeon => "surgeon",
            Role::Bedside => "bedside",
            Role::Observer => "observer",
            Role::Station => "station",
            Role::HifuDevice => "hifu-device",
            Role::Other(name) => name,
        }
    }

    /// Parses a role name; anything that is not a known role is `Other`.
    pub fn parse(name: &str) -> Role {
        Role::KNOWN
            .into_iter()
            .find(|role| role.name() == name)
            .unwrap_or_else(|| Role::Other(name.to_string()))
    }

    /// The SAN URI that carries this role.
    pub fn uri(&self) -> String {
        format!("{ROLE_URI_PREFIX}{}", self.name())
    }

    /// The role a SAN URI carries, if it is a medlink role URI.
    pub fn from_uri(uri: &str) -> Option<Role> {
        uri.strip_prefix(ROLE_URI_PREFIX).map(Role::parse)
    }

    /// May a holder of this role connect to a station as a console (to watch at least)?
    pub fn is_console(&self) -> bool {
        matches!(self, Role::Surgeon | Role::Bedside | Role::Observer)
    }

    /// May a holder of this role ask for motion (enable, engage, command), policy permitting?
    pub fn may_operate(&self) -> bool {
        matches!(self, Role::Surgeon)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who a peer is, from its verified certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The certificate's common name: a person ("Dr Li Wei") or a device.
    pub name: String,
    pub role: Role,
    /// The certificate's serial number, hex.
    pub serial: String,
    /// Validity, seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
}

impl Identity {
    /// An identity for simulations and tests, where no certificate exists.
    pub fn simulated(name: &str, role: Role) -> Self {
        Self {
            name: name.to_string(),
            role,
            serial: "00".to_string(),
            not_before: 0,
            not_after: i64::MAX,
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, serial {})", self.name, self.role, self.serial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_uri() {
        for role in Role::KNOWN {
            assert_eq!(Role::from_uri(&role.uri()), Some(role.clone()));
        }
        assert_eq!(
            Role::from_uri("urn:medlink:role:anaesthetist"),
            Some(Role::Other("anaesthetist".into()))
        );
        assert_eq!(Role::from_uri("https://example.org"), None);
    }

    #[test]
    fn only_surgeons_operate_and_stations_are_never_consoles() {
        assert!(Role::Surgeon.may_operate());
        for role in [
            Role::Bedside,
            Role::Observer,
            Role::Station,
            Role::HifuDevice,
        ] {
            assert!(!role.may_operate(), "{role}");
        }
        assert!(!Role::Station.is_console());
        assert!(!Role::HifuDevice.is_console());
        assert!(!Role::Other("x".into()).is_console());
    }
}
