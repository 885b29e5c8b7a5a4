//! The station core's steady state allocates nothing: an engaged session taking a command and a
//! servo tick every millisecond, answering and sending clock pings, goes through thousands of
//! ticks without one heap allocation (counted by a global allocator that wraps the system's).
//! What the servo thread runs per tick is exactly this: inputs, then a tick, outputs drained.

mod common;

use common::Bench;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use teleop::StationSessionConfig;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts allocations.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn an_engaged_session_runs_a_thousand_ticks_without_allocating() {
    let mut bench = Bench::engaged(StationSessionConfig::default());
    // Warm-up: every queue reaches its working size.
    for _ in 0..200 {
        bench.step(Duration::from_millis(1));
    }
    let applied_before = bench.applied();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..2_000 {
        bench.step(Duration::from_millis(1));
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(
        bench.applied() - applied_before,
        2_000,
        "every command is applied"
    );
    assert_eq!(
        allocations, 0,
        "the servo path allocated {allocations} times"
    );
}
