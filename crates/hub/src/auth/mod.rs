//! People and programs: local accounts with roles, dashboard sessions (cookie + CSRF token,
//! idle and absolute expiry, lock-out after failed sign-ins), bearer tokens with
//! SMART-on-FHIR-style scopes, and the table of what each route needs. The rules are pure
//! (time passed in); [`service::Auth`] applies them to the accounts in the alert journal.

pub mod access;
pub mod admin;
pub mod password;
pub mod policy;
pub mod presented;
pub mod principal;
pub mod roles;
pub mod scopes;
pub mod secrets;
pub mod service;

pub use policy::AuthConfig;
pub use principal::{Credential, Principal};
pub use roles::Role;
pub use service::{Auth, SignInError, SignedIn};
