//! SMART-on-FHIR-style scopes, `user/Observation.read`, `system/*.write`, `user/Alert.*`: what
//! a bearer token grants and what a role grants, and what a route needs (a [`Need`]).
//! `.write` does not include `.read` (as in SMART v1); `.*` is both.

use std::fmt;

/// What the hub's routes act on, besides `*` (all of them).
pub const RESOURCES: &[&str] = &[
    "Alert",
    "Patient",
    "Device",
    "Observation",
    "AuditEvent",
    "Incoming",
    "metrics",
];

/// Reading or changing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// What a route needs: `access` to `resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub resource: &'static str,
    pub access: Access,
}

/// Whose behalf a scope acts on: a signed-in person's (`user/`) or a program's own (`system/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    User,
    System,
}

/// One granted scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub context: Context,
    /// One of [`RESOURCES`], or `*`.
    pub resource: String,
    pub read: bool,
    pub write: bool,
}

/// Why a scope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("no scopes given (e.g. \"user/Observation.read user/Alert.write\")")]
    Empty,
    #[error(
        "scope {0:?}: expected user/<Resource>.<read|write|*> or system/<Resource>.<read|write|*>"
    )]
    Malformed(String),
    #[error("scope {scope:?}: unknown resource {resource:?} (known: *, {known})")]
    UnknownResource {
        scope: String,
        resource: String,
        known: String,
    },
}

impl Scope {
    /// Parses one scope.
    pub fn parse(text: &str) -> Result<Scope, ScopeError> {
        let malformed = || ScopeError::Malformed(text.to_string());
        let (context, rest) = text.split_once('/').ok_or_else(malformed)?;
        let context = match context {
            "user" => Context::User,
            "system" => Context::System,
            _ => return Err(malformed()),
        };
        let (resource, access) = rest.split_once('.').ok_or_else(malformed)?;
        let (read, write) = match access {
            "read" => (true, false),
            "write" => (false, true),
            "*" => (true, true),
            _ => return Err(malformed()),
        };
        if resource != "*" && !RESOURCES.contains(&resource) {
            return Err(ScopeError::UnknownResource {
                scope: text.to_string(),
                resource: resource.to_string(),
                known: RESOURCES.join(", "),
            });
        }
        Ok(Scope {
            context,
            resource: resource.to_string(),
            read,
            write,
        })
    }

    /// Whether this scope gives what `need` asks for.
    pub fn grants(&self, need: &Need) -> bool {
        let resource = self.resource == "*" || self.resource == need.resource;
        let access = match need.access {
            Access::Read => self.read,
            Access::Write => self.write,
        };
        resource && access
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let context = match self.context {
            Context::User => "user",
            Context::System => "system",
        };
        let access = match (self.read, self.write) {
            (true, true) => "*",
            (false, true) => "write",
            _ => "read",
        };
        write!(f, "{context}/{}.{access}", self.resource)
    }
}

/// Parses space-separated scopes (at least one).
pub fn parse_scopes(text: &str) -> Result<Vec<Scope>, ScopeError> {
    let scopes: Vec<Scope> = text
        .split_whitespace()
        .map(Scope::parse)
        .collect::<Result<_, _>>()?;
    if scopes.is_empty() {
        return Err(ScopeError::Empty);
    }
    Ok(scopes)
}

/// Whether `grants` together give every one of `needs`.
pub fn allows(grants: &[Scope], needs: &[Need]) -> bool {
    needs
        .iter()
        .all(|need| grants.iter().any(|g| g.grants(need)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBSERVATION_READ: Need = Need {
        resource: "Observation",
        access: Access::Read,
    };
    const ALERT_WRITE: Need = Need {
        resource: "Alert",
        access: Access::Write,
    };

    #[test]
    fn a_scope_grants_its_resource_and_access_only() {
        let read = Scope::parse("user/Observation.read").unwrap();
        assert!(read.grants(&OBSERVATION_READ));
        assert!(!read.grants(&ALERT_WRITE));
        let write = Scope::parse("system/Alert.write").unwrap();
        assert!(write.grants(&ALERT_WRITE));
        let alert_read = Need {
            resource: "Alert",
            access: Access::Read,
        };
        assert!(!write.grants(&alert_read), ".write does not include .read");
        let all = Scope::parse("system/*.*").unwrap();
        assert!(all.grants(&OBSERVATION_READ) && all.grants(&ALERT_WRITE));
        assert!(
            Scope::parse("user/*.read")
                .unwrap()
                .grants(&OBSERVATION_READ)
        );
    }

    #[test]
    fn scopes_round_trip_and_bad_ones_are_refused() {
        for text in ["user/Observation.read", "system/*.*", "user/Alert.write"] {
            assert_eq!(Scope::parse(text).unwrap().to_string(), text);
        }
        for bad in [
            "Observation.read",
            "patient/Observation.read",
            "user/Observation",
            "user/Observation.delete",
        ] {
            assert!(
                matches!(Scope::parse(bad), Err(ScopeError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Scope::parse("user/Observatoin.read"),
            Err(ScopeError::UnknownResource { .. })
        ));
        assert_eq!(parse_scopes("  "), Err(ScopeError::Empty));
        let two = parse_scopes("user/Observation.read user/Alert.write").unwrap();
        assert!(allows(&two, &[OBSERVATION_READ, ALERT_WRITE]));
        assert!(!allows(&two[..1], &[OBSERVATION_READ, ALERT_WRITE]));
    }
}
