//! Trust for medlink: who a peer is (identity and role, as its certificate says), whether the
//! site admits them (the admission policy), and what they did (audit records, hash-chained).
//! A pure core: no files, no clocks; the edges read certificates and store the log.

pub mod audit;
pub mod chain;
pub mod identity;
pub mod policy;

pub use audit::{AuditAction, AuditRecord, AuditSink};
pub use identity::{Identity, Role};
