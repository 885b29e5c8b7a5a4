//! Thread priorities: the alert path above everything else in the hub, storage below.
//!
//! Scoring is latency work (an alert should be raised within milliseconds of its reading);
//! committing is throughput work that may lag by milliseconds without harm. On a busy machine the
//! scheduler otherwise shares the cores evenly and the alert thread waits its turn behind the
//! commits, the broker and every other client (measured: docs/benchmarks.md).

/// Lowers the calling thread's priority to `nice` (0-19; 0 leaves it as is). Linux nice values
/// are per thread.
pub fn lower(nice: i32) {
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its arguments; `who` 0 is the calling thread.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice.clamp(0, 19)) } != 0 {
        tracing::warn!(
            "thread keeps its priority: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Puts the calling thread under the real-time FIFO policy at `priority` (1-99; 0 leaves it
/// as is). Needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO allowance; without them the thread
/// keeps normal scheduling and a warning says so. The kernel's real-time throttling (by
/// default 95 % of each second) keeps even a flooded alert thread from starving the rest.
pub fn realtime(priority: i32) {
    if priority == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param {
            sched_priority: priority.clamp(1, 99),
        };
        // SAFETY: pthread_self is always valid; the parameter outlives the call.
        let rc =
            unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) };
        if rc == 0 {
            tracing::info!(
                priority,
                thread = std::thread::current().name().unwrap_or("?"),
                "alert path scheduled as real-time (SCHED_FIFO)"
            );
        } else {
            tracing::warn!(
                "alert path keeps normal scheduling (SCHED_FIFO refused: {}); \
                 give the hub CAP_SYS_NICE for the lowest alert latency under load",
                std::io::Error::from_raw_os_error(rc)
            );
        }
    }
}

/// Puts the calling thread back under normal (SCHED_OTHER) scheduling: for helper threads
/// started by a real-time thread, which would otherwise inherit its policy.
pub fn normal() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pthread_self is always valid; the parameter outlives the call.
        let rc =
            unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_OTHER, &param) };
        if rc != 0 {
            tracing::warn!(
                "thread keeps the real-time policy it inherited: {}",
                std::io::Error::from_raw_os_error(rc)
            );
        }
    }
}
