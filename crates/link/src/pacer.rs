//! A 1 kHz pacer for dedicated threads: absolute deadlines (no drift), 1 ns timer slack, and
//! missed deadlines counted and skipped rather than caught up in a burst. Tokio timers are too
//! coarse for this (reference/network.md §3).

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacerStats {
    pub ticks: u64,
    /// Ticks skipped because the thread woke more than one period late.
    pub missed: u64,
    pub max_lateness: Duration,
}

pub struct Pacer {
    period: Duration,
    next: Instant,
    stats: PacerStats,
}

impl Pacer {
    /// Starts pacing from now. Call from the thread that will be paced: it sets that thread's
    /// timer slack to 1 ns and asks for real-time priority where permitted.
    pub fn new(period: Duration) -> Self {
        tune_current_thread();
        Self {
            period,
            next: Instant::now() + period,
            stats: PacerStats::default(),
        }
    }

    pub fn period(&self) -> Duration {
        self.period
    }

    pub fn stats(&self) -> PacerStats {
        self.stats
    }

    /// Sleeps until the next deadline and returns it.
    pub fn wait(&mut self) -> Instant {
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        }
        let woke = Instant::now();
        let lateness = woke.saturating_duration_since(self.next);
        self.stats.max_lateness = self.stats.max_lateness.max(lateness);
        let deadline = self.next;
        self.next += self.period;
        if lateness > self.period {
            let skipped = (lateness.as_nanos() / self.period.as_nanos()) as u32;
            self.stats.missed += u64::from(skipped);
            self.next += self.period * skipped;
        }
        self.stats.ticks += 1;
        deadline
    }
}

#[cfg(target_os = "linux")]
fn tune_current_thread() {
    // SAFETY: prctl and sched_setscheduler only read their plain-value arguments.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        let param = libc::sched_param { sched_priority: 50 };
        // Fails without privilege; the loop then runs at normal priority.
        libc::sched_setscheduler(0, libc::SCHED_FIFO, &param);
    }
}

#[cfg(not(target_os = "linux"))]
fn tune_current_thread() {}
