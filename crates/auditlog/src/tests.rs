//! The writer's rules, driven by hand without its thread: a full queue refuses at once and the
//! loss is written into the log; checkpoints come when entries have waited the interval, or when
//! asked, and only when something is unsigned.

#[path = "../tests/common/mod.rs"]
mod common;

use crate::keys::PemSigner;
use crate::log::{AuditSender, Shared};
use crate::worker::Worker;
use crate::{AuditOptions, verify_file};
use common::{Pki, record};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A worker on a fresh log, with its queue, and no thread: the test drives it.
fn hand_driven(pki: &Pki, options: AuditOptions) -> (Worker, AuditSender, Arc<Shared>) {
    let key = std::fs::read(&pki.key).unwrap();
    let cert = std::fs::read_to_string(&pki.cert).unwrap();
    let signer = PemSigner::from_pem(&key, &cert).unwrap();
    let opened = Worker::create(&pki.log_path(), "station", &signer, 0).unwrap();
    let shared = Arc::new(Shared::new(options.queue_capacity));
    let sender = AuditSender::new(shared.clone());
    (
        Worker::new(shared.clone(), signer, opened, options),
        sender,
        shared,
    )
}

fn checkpoints(pki: &Pki) -> u64 {
    verify_file(&pki.log_path(), None)
        .unwrap()
        .chain
        .checkpoints
}

#[test]
fn a_full_queue_refuses_at_once_and_the_loss_is_logged() {
    let pki = Pki::new("site CA");
    let options = AuditOptions {
        queue_capacity: 4,
        ..AuditOptions::default()
    };
    let (worker, sender, shared) = hand_driven(&pki, options);
    // Nobody drains: the fifth push and after are refused, not waited on.
    let queued: Vec<bool> = (0..10).map(|i| sender.push(record(i))).collect();
    assert_eq!(queued, [[true; 4].as_slice(), &[false; 6]].concat());
    assert_eq!(sender.refused(), 6);

    shared.closing.store(true, Ordering::SeqCst);
    let summary = worker.run().unwrap();
    assert_eq!((summary.entries, summary.lost), (5, 6));
    let report = verify_file(&pki.log_path(), None).unwrap();
    assert!(report.passed());
    assert_eq!((report.chain.entries, report.chain.lost), (5, 6));
    let text = std::fs::read_to_string(pki.log_path()).unwrap();
    assert!(text.contains("6 records lost: the audit queue was full"));
}

#[test]
fn entries_that_waited_the_interval_are_signed() {
    let pki = Pki::new("site CA");
    let options = AuditOptions {
        checkpoint_interval_ms: 3_600_000,
        ..AuditOptions::default()
    };
    let (mut worker, sender, _) = hand_driven(&pki, options);
    let start = Instant::now();
    sender.push(record(0));
    worker.pump(start);
    assert_eq!(checkpoints(&pki), 0);
    worker.pump(start + Duration::from_secs(3_599));
    assert_eq!(checkpoints(&pki), 0);
    worker.pump(start + Duration::from_secs(3_601));
    assert_eq!(checkpoints(&pki), 1);
    // Nothing new: no checkpoint however long it waits.
    worker.pump(start + Duration::from_secs(100_000));
    assert_eq!(checkpoints(&pki), 1);
}

#[test]
fn a_checkpoint_every_n_entries_and_when_asked() {
    let pki = Pki::new("site CA");
    let options = AuditOptions {
        checkpoint_every: 3,
        checkpoint_interval_ms: 3_600_000,
        ..AuditOptions::default()
    };
    let (mut worker, sender, _) = hand_driven(&pki, options);
    let now = Instant::now();
    for i in 0..7 {
        sender.push(record(i));
    }
    worker.pump(now);
    assert_eq!(checkpoints(&pki), 2, "after entries 3 and 6");
    sender.checkpoint_now();
    worker.pump(now);
    assert_eq!(checkpoints(&pki), 3, "entry 7, when asked");
    sender.checkpoint_now();
    worker.pump(now);
    assert_eq!(checkpoints(&pki), 3, "nothing unsigned: nothing to sign");
}

#[test]
fn the_handles_go_to_other_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<AuditSender>();
    shareable::<crate::AuditLog>();
}
