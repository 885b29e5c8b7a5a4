//! The CA's register of what it issued (`issued.tsv`: serial, role, not-before, not-after, name,
//! tab-separated, one certificate a line) and `pki list`, which joins it with the revocation list.

use super::ca::{CRL_FILE, ISSUED_LOG};
use super::crl::{RevokedEntry, read_crl};
use super::{PkiError, files};
use std::path::Path;
use trust::{Identity, Role};

/// A certificate the CA issued, and its revocation if it was revoked.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedCertificate {
    pub identity: Identity,
    pub revoked: Option<RevokedEntry>,
}

impl ListedCertificate {
    /// "valid", "expired", "not yet valid" or "revoked (reason)" at `now`.
    pub fn status(&self, now: i64) -> String {
        match &self.revoked {
            Some(entry) => format!("revoked ({})", entry.reason_name()),
            None if now > self.identity.not_after => "expired".into(),
            None if now < self.identity.not_before => "not yet valid".into(),
            None => "valid".into(),
        }
    }
}

pub(crate) fn record(ca_dir: &Path, identity: &Identity) -> Result<(), PkiError> {
    let line = format!(
        "{}\t{}\t{}\t{}\t{}",
        identity.serial, identity.role, identity.not_before, identity.not_after, identity.name
    );
    files::append_line(&ca_dir.join(ISSUED_LOG), &line)
}

/// Every certificate in `ca_dir`'s register, oldest first, with its revocation if any.
pub fn list(ca_dir: &Path) -> Result<Vec<ListedCertificate>, PkiError> {
    let path = ca_dir.join(ISSUED_LOG);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(PkiError::Io { path, source }),
    };
    let revoked = read_crl(&ca_dir.join(CRL_FILE))?
        .map(|crl| crl.entries)
        .unwrap_or_default();
    let mut listed = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let identity = parse_line(line).ok_or_else(|| PkiError::BadRegister {
            path: path.clone(),
            line: index + 1,
            detail: "expected serial, role, not-before, not-after and name, tab-separated".into(),
        })?;
        let revoked = revoked
            .iter()
            .find(|entry| entry.serial == identity.serial)
            .cloned();
        listed.push(ListedCertificate { identity, revoked });
    }
    Ok(listed)
}

fn parse_line(line: &str) -> Option<Identity> {
    let mut fields = line.splitn(5, '\t');
    let serial = fields.next()?.to_string();
    let role = Role::parse(fields.next()?);
    let not_before = fields.next()?.parse().ok()?;
    let not_after = fields.next()?.parse().ok()?;
    let name = fields.next()?.to_string();
    Some(Identity {
        name,
        role,
        serial,
        not_before,
        not_after,
    })
}
