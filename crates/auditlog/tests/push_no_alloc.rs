//! Pushing a record allocates nothing on the pushing thread (a servo or network thread may push):
//! counted by a global allocator that wraps the system's and counts per thread.

mod common;

use auditlog::{AuditLog, AuditOptions};
use common::{Pki, record};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: a thread being torn down has no slot left.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: forwards every call to the system allocator unchanged; only counts allocations.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_push_allocates_nothing_on_the_pushing_thread() {
    let pki = Pki::new("site CA");
    let options = AuditOptions {
        queue_capacity: 64,
        ..AuditOptions::default()
    };
    let log = AuditLog::create(&pki.log_path(), &pki.key, &pki.cert, "station", options).unwrap();
    let sender = log.sender();
    // More records than the queue holds: some pushes find it full, which allocates nothing either.
    let records: Vec<_> = (0..500).map(record).collect();
    let before = ALLOCATIONS.with(Cell::get);
    for record in records {
        sender.push(record);
    }
    let allocations = ALLOCATIONS.with(Cell::get) - before;
    assert_eq!(allocations, 0, "pushing allocated {allocations} times");
    // Nothing silently lost: every record is in the log or counted by a note.
    let summary = log.finish().unwrap();
    let bytes = std::fs::read(&summary.path).unwrap();
    let records = trust::chain::parse_lines(&bytes)
        .into_iter()
        .filter(|line| matches!(line.body, Ok(trust::chain::Body::Entry(_))))
        .count() as u64;
    assert_eq!(records + summary.lost, 500);
}
