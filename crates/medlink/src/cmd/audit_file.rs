//! Opens a role's tamper-evident audit log for a run (a new file under its audit directory,
//! signed with the role's own TLS key; docs/audit.md) and closes it with a line saying where it
//! is and how to verify it.

use anyhow::Context;
use auditlog::{AuditLog, AuditOptions};
use link::PkiPaths;
use std::path::Path;

/// `DIR/<role>-<UTC time>-<pid>.jsonl`, signed with the key of `pki`.
pub fn open(dir: &Path, pki: &PkiPaths, role: &str) -> anyhow::Result<AuditLog> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the audit directory {}", dir.display()))?;
    let stamp = link::pki::utc(link::pki::now_unix())
        .replace([' ', ':'], "-")
        .replace("-UTC", "Z");
    let path = dir.join(format!("{role}-{stamp}-{}.jsonl", std::process::id()));
    AuditLog::create(&path, &pki.key, &pki.cert, role, AuditOptions::default())
        .with_context(|| format!("opening the audit log {}", path.display()))
}

/// Drains and signs the log; says where it is.
pub fn finish(log: AuditLog) -> anyhow::Result<()> {
    let summary = log.finish().context("closing the audit log")?;
    eprintln!(
        "audit log {}: {} entries, {} signed checkpoints{}; check it with `medlink audit verify {}`",
        summary.path.display(),
        summary.entries,
        summary.checkpoints,
        if summary.lost > 0 {
            format!(", {} records lost (counted in the log)", summary.lost)
        } else {
            String::new()
        },
        summary.path.display()
    );
    Ok(())
}
