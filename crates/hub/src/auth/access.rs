//! Who may call which route: the routes anyone may call (nothing about patients), the ones any
//! signed-in person or token may call, and the scopes every other route needs. A route that is
//! served but not listed here is refused to everyone (403): access is never granted by omission.

use super::scopes::{Access, Need};

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in person or valid token.
    SignedIn,
    /// A caller granted every one of these.
    Scopes(&'static [Need]),
    /// No one: a served route missing from [`RULES`].
    Nobody,
}

/// One route: its method, its path as the router writes it, and what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub method: &'static str,
    pub path: &'static str,
    pub requirement: Requirement,
}

const fn read(resource: &'static str) -> Need {
    Need {
        resource,
        access: Access::Read,
    }
}

const fn write(resource: &'static str) -> Need {
    Need {
        resource,
        access: Access::Write,
    }
}

const fn rule(method: &'static str, path: &'static str, needs: &'static [Need]) -> Rule {
    Rule {
        method,
        path,
        requirement: Requirement::Scopes(needs),
    }
}

const fn open(method: &'static str, path: &'static str, requirement: Requirement) -> Rule {
    Rule {
        method,
        path,
        requirement,
    }
}

/// Every route the hub serves, and what it needs.
pub const RULES: &[Rule] = &[
    open("GET", "/health", Requirement::Public),
    open("GET", "/login", Requirement::Public),
    open("GET", "/login.js", Requirement::Public),
    open("GET", "/login.css", Requirement::Public),
    open("POST", "/auth/login", Requirement::Public),
    open("GET", "/auth/me", Requirement::SignedIn),
    open("POST", "/auth/logout", Requirement::SignedIn),
    // The CapabilityStatement says what is served and how to authenticate, nothing else.
    open("GET", "/fhir/metadata", Requirement::Public),
    rule("GET", "/metrics", &[read("metrics")]),
    rule("GET", "/api/alerts", &[read("Alert")]),
    rule("POST", "/api/alerts/:id/ack", &[write("Alert")]),
    rule("POST", "/api/alerts/:id/snooze", &[write("Alert")]),
    rule("POST", "/api/alerts/:id/escalate", &[write("Alert")]),
    rule("GET", "/api/patients", &[read("Patient")]),
    rule("PUT", "/api/patients/:id/spo2-scale", &[write("Patient")]),
    rule("GET", "/api/devices", &[read("Device")]),
    rule("GET", "/api/incoming", &[read("Incoming")]),
    rule("GET", "/api/events", &[read("Alert"), read("Observation")]),
    rule("GET", "/api/audit", &[read("AuditEvent")]),
    rule(
        "GET",
        "/api/dashboard/ward",
        &[read("Patient"), read("Observation"), read("Alert")],
    ),
    rule(
        "GET",
        "/api/dashboard/patients/:id/chart",
        &[read("Patient"), read("Observation")],
    ),
    rule(
        "GET",
        "/api/dashboard/events",
        &[read("Alert"), read("Observation")],
    ),
    rule("POST", "/fhir", &[write("Observation")]),
    rule("GET", "/fhir/Patient", &[read("Patient")]),
    rule("GET", "/fhir/Patient/:id", &[read("Patient")]),
    rule("PUT", "/fhir/Patient/:id", &[write("Patient")]),
    rule("GET", "/fhir/Device", &[read("Device")]),
    rule("GET", "/fhir/Device/:id", &[read("Device")]),
    rule("GET", "/fhir/Observation", &[read("Observation")]),
    rule("GET", "/fhir/Observation/:id", &[read("Observation")]),
    rule("GET", "/fhir/AuditEvent", &[read("AuditEvent")]),
    rule("GET", "/fhir/AuditEvent/:id", &[read("AuditEvent")]),
];

/// What calling `method` on the route `path` (as the router matched it) needs: `None` if the
/// path is listed for other methods only (the router answers 405), a refusal to everyone if
/// the path is not listed at all.
pub fn requirement(method: &str, path: &str) -> Option<Requirement> {
    if is_static_page(method, path) {
        return Some(Requirement::Public);
    }
    let mut listed = false;
    for rule in RULES.iter().filter(|r| r.path == path) {
        listed = true;
        // HEAD is GET without the body.
        if rule.method == method || (method == "HEAD" && rule.method == "GET") {
            return Some(rule.requirement);
        }
    }
    if listed {
        None
    } else {
        Some(Requirement::Nobody)
    }
}

/// The dashboard's page and its script and style files (`/`, `/dashboard/...`): the same for
/// everyone, no patient data in them (the data comes from the guarded `/api/dashboard/...`).
fn is_static_page(method: &str, path: &str) -> bool {
    matches!(method, "GET" | "HEAD") && (path == "/" || path.starts_with("/dashboard/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::scopes::RESOURCES;

    #[test]
    fn unlisted_routes_are_refused_even_to_everything() {
        assert_eq!(requirement("GET", "/api/secret"), Some(Requirement::Nobody));
        assert_eq!(requirement("DELETE", "/api/alerts"), None);
        assert_eq!(requirement("HEAD", "/health"), Some(Requirement::Public));
        assert_eq!(
            requirement("GET", "/dashboard/app.js"),
            Some(Requirement::Public)
        );
        assert_ne!(
            requirement("POST", "/dashboard/app.js"),
            Some(Requirement::Public)
        );
        assert_ne!(
            requirement("GET", "/api/dashboard/ward"),
            Some(Requirement::Public)
        );
    }

    #[test]
    fn every_need_names_a_known_resource() {
        for rule in RULES {
            if let Requirement::Scopes(needs) = rule.requirement {
                for need in needs {
                    assert!(RESOURCES.contains(&need.resource), "{rule:?}");
                }
            }
        }
    }
}
