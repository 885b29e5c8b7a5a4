//! The admission rules, in the fixed order they are checked, each with the stable name a
//! refusal carries (in the station's answer, the audit log and `medlink policy check`).

use serde::{Serialize, Serializer};
use std::fmt;

/// One admission rule. A decision stops at the first rule that fails; its name is the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Only surgeon, bedside and observer certificates connect as consoles.
    RoleNotConsole,
    /// The certificate's validity has begun.
    CertificateNotYetValid,
    /// The certificate's validity has not ended.
    CertificateExpired,
    /// Only surgeons operate; bedside and observer roles are admitted to watch and stop here.
    RoleMayNotOperate,
    /// The requested device is one this station hosts.
    DeviceNotHosted,
    /// The surgeon (the certificate's name) is listed in the policy.
    SurgeonNotCredentialed,
    /// When the policy pins a certificate serial, this is that certificate.
    PinnedSerialMismatch,
    /// The site's credentialing of the surgeon has not ended.
    CredentialExpired,
    /// The surgeon may operate the requested device here.
    DeviceNotPermitted,
    /// The surgeon holds a licence from a jurisdiction the site recognises.
    LicenceNotRecognised,
    /// One of those recognised licences is still valid.
    LicenceExpired,
    /// A required consent record exists.
    ConsentMissing,
    /// The consent record matches the checksum in the policy (when one is set).
    ConsentRecordMismatch,
}

impl Rule {
    /// Every rule in the order `Policy::decide` checks them.
    pub const ORDER: [Rule; 13] = [
        Rule::RoleNotConsole,
        Rule::CertificateNotYetValid,
        Rule::CertificateExpired,
        Rule::RoleMayNotOperate,
        Rule::DeviceNotHosted,
        Rule::SurgeonNotCredentialed,
        Rule::PinnedSerialMismatch,
        Rule::CredentialExpired,
        Rule::DeviceNotPermitted,
        Rule::LicenceNotRecognised,
        Rule::LicenceExpired,
        Rule::ConsentMissing,
        Rule::ConsentRecordMismatch,
    ];

    /// The stable name, `area.what_failed`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::RoleNotConsole => "role.not_console",
            Rule::CertificateNotYetValid => "certificate.not_yet_valid",
            Rule::CertificateExpired => "certificate.expired",
            Rule::RoleMayNotOperate => "role.may_not_operate",
            Rule::DeviceNotHosted => "device.not_hosted",
            Rule::SurgeonNotCredentialed => "surgeon.not_credentialed",
            Rule::PinnedSerialMismatch => "certificate.pinned_serial_mismatch",
            Rule::CredentialExpired => "surgeon.credential_expired",
            Rule::DeviceNotPermitted => "device.not_permitted",
            Rule::LicenceNotRecognised => "licence.not_recognised",
            Rule::LicenceExpired => "licence.expired",
            Rule::ConsentMissing => "consent.missing",
            Rule::ConsentRecordMismatch => "consent.record_mismatch",
        }
    }

    /// The rule with this name.
    pub fn parse(name: &str) -> Option<Rule> {
        Rule::ORDER.into_iter().find(|rule| rule.name() == name)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}
