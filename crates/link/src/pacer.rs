//! 1 kHz pacers: absolute deadlines (no drift), 1 ns timer slack, real-time priority where
//! permitted, and missed deadlines counted and skipped rather than caught up in a burst. `Pacer`
//! sleeps a dedicated thread; `AsyncPacer` waits on a timerfd inside a current-thread tokio
//! runtime, so the thread that paces also drives QUIC (no cross-thread wake per command). Tokio's
//! own timers are too coarse for this (1 ms wheel, reference/network.md §3).

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacerStats {
    pub ticks: u64,
    /// Ticks skipped because the thread woke more than one period late.
    pub missed: u64,
    pub max_lateness: Duration,
}

/// The deadline bookkeeping both pacers share.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    period: Duration,
    next: Instant,
    stats: PacerStats,
}

impl Schedule {
    fn new(period: Duration, now: Instant) -> Self {
        Self {
            period,
            next: now + period,
            stats: PacerStats::default(),
        }
    }

    /// Deadlines at `origin + k·period`, from the first one after `now` (or `origin` itself
    /// when it is still ahead): two loops on one clock paced from the same origin keep a known
    /// phase between them.
    fn aligned(period: Duration, now: Instant, origin: Instant) -> Self {
        let period_ns = period.as_nanos().max(1);
        let behind_ns = now.saturating_duration_since(origin).as_nanos();
        let periods = if now < origin {
            0
        } else {
            behind_ns / period_ns + 1
        };
        let ahead = u64::try_from(periods * period_ns).unwrap_or(u64::MAX);
        Self {
            period,
            next: origin + Duration::from_nanos(ahead),
            stats: PacerStats::default(),
        }
    }

    /// How long to sleep from `now` until the next deadline (none if it has passed).
    fn remaining(&self, now: Instant) -> Option<Duration> {
        (self.next > now).then(|| self.next - now)
    }

    /// Books a wake-up at `woke`; returns the deadline it served.
    fn woke(&mut self, woke: Instant) -> Instant {
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

pub struct Pacer {
    schedule: Schedule,
}

impl Pacer {
    /// Starts pacing from now. Call from the thread that will be paced: it sets that thread's
    /// timer slack to 1 ns and asks for real-time priority where permitted.
    pub fn new(period: Duration) -> Self {
        tune_current_thread();
        Self {
            schedule: Schedule::new(period, Instant::now()),
        }
    }

    /// Paces with deadlines at `origin + k·period` (see `new` for the thread it tunes).
    pub fn aligned(period: Duration, origin: Instant) -> Self {
        tune_current_thread();
        Self {
            schedule: Schedule::aligned(period, Instant::now(), origin),
        }
    }

    pub fn period(&self) -> Duration {
        self.schedule.period
    }

    pub fn stats(&self) -> PacerStats {
        self.schedule.stats
    }

    /// Sleeps until the next deadline and returns it.
    pub fn wait(&mut self) -> Instant {
        if let Some(sleep) = self.schedule.remaining(Instant::now()) {
            std::thread::sleep(sleep);
        }
        self.schedule.woke(Instant::now())
    }
}

/// A pacer for a task of a current-thread tokio runtime: the runtime's thread keeps serving
/// other tasks and IO between deadlines, and wakes on a high-resolution timerfd at each one.
#[cfg(target_os = "linux")]
pub struct AsyncPacer {
    timer: tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>,
    schedule: Schedule,
}

#[cfg(target_os = "linux")]
impl AsyncPacer {
    /// Starts pacing from now. Call inside the runtime (it panics outside one, like every tokio
    /// IO type), on its thread, which it tunes like `Pacer::new` does.
    pub fn new(period: Duration) -> std::io::Result<Self> {
        Self::starting(Schedule::new(period, Instant::now()))
    }

    /// Paces with deadlines at `origin + k·period` (as `new` otherwise).
    pub fn aligned(period: Duration, origin: Instant) -> std::io::Result<Self> {
        Self::starting(Schedule::aligned(period, Instant::now(), origin))
    }

    fn starting(schedule: Schedule) -> std::io::Result<Self> {
        use std::os::fd::FromRawFd;
        tune_current_thread();
        // SAFETY: timerfd_create takes plain flags and returns a new descriptor or -1.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        // SAFETY: the AsyncFd owns the OwnedFd, so the descriptor stays open and the same for
        // the AsyncFd's whole life.
        let timer = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(owned, tokio::io::Interest::READABLE)
        }
        .map_err(|e| e.into_parts().1)?;
        Ok(Self { timer, schedule })
    }

    pub fn stats(&self) -> PacerStats {
        self.schedule.stats
    }

    /// Waits until the next deadline and returns it.
    pub async fn wait(&mut self) -> std::io::Result<Instant> {
        if let Some(sleep) = self.schedule.remaining(Instant::now()) {
            self.arm(sleep)?;
            self.expired().await?;
        }
        Ok(self.schedule.woke(Instant::now()))
    }

    fn arm(&self, after: Duration) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as libc::time_t,
                // A zero it_value would disarm the timer: wait at least 1 ns.
                tv_nsec: libc::c_long::from(after.subsec_nanos().max(1) as i32),
            },
        };
        // SAFETY: the descriptor is a live timerfd and `spec` a valid itimerspec.
        let rc = unsafe {
            libc::timerfd_settime(
                self.timer.get_ref().as_raw_fd(),
                0,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    async fn expired(&self) -> std::io::Result<()> {
        crate::wake::read_counter(&self.timer).await
    }
}

/// Sets the calling thread's timer slack to 1 ns and asks for SCHED_FIFO priority 50 (granted to
/// root or with CAP_SYS_NICE; otherwise the thread keeps its normal priority). For the threads on
/// the control path: pacers, and the station's network thread.
#[cfg(target_os = "linux")]
pub fn tune_current_thread() {
    // SAFETY: prctl and sched_setscheduler only read their plain-value arguments.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        let param = libc::sched_param { sched_priority: 50 };
        // Fails without privilege; the loop then runs at normal priority.
        libc::sched_setscheduler(0, libc::SCHED_FIFO, &param);
    }
}

#[cfg(not(target_os = "linux"))]
pub fn tune_current_thread() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_wake_skips_the_missed_deadlines_instead_of_bursting() {
        let start = Instant::now();
        let period = Duration::from_millis(1);
        let mut schedule = Schedule::new(period, start);
        assert_eq!(schedule.remaining(start), Some(period));
        // Woken 3.5 periods after the first deadline: that deadline is served, three are skipped.
        let served = schedule.woke(start + period + period * 7 / 2);
        assert_eq!(served, start + period);
        assert_eq!(schedule.stats.missed, 3);
        assert_eq!(schedule.next, start + period * 5);
        assert_eq!(schedule.stats.ticks, 1);
    }

    #[test]
    fn aligned_deadlines_fall_on_the_origins_grid() {
        let origin = Instant::now();
        let period = Duration::from_millis(1);
        // 3.4 periods after the origin: the next grid point is the fourth.
        let schedule = Schedule::aligned(period, origin + period * 17 / 5, origin);
        assert_eq!(schedule.next, origin + period * 4);
        // Exactly on a grid point: the one after it.
        let schedule = Schedule::aligned(period, origin + period * 2, origin);
        assert_eq!(schedule.next, origin + period * 3);
        // An origin still ahead is the first deadline.
        let later = origin + Duration::from_micros(300);
        let schedule = Schedule::aligned(period, origin, later);
        assert_eq!(schedule.next, later);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_async_pacer_never_returns_before_its_deadline() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let period = Duration::from_micros(500);
            let mut pacer = AsyncPacer::new(period).expect("timerfd");
            let mut previous = None;
            for _ in 0..50 {
                let deadline = pacer.wait().await.expect("wait");
                assert!(Instant::now() >= deadline);
                if let Some(previous) = previous {
                    assert!(deadline >= previous + period);
                }
                previous = Some(deadline);
            }
            assert_eq!(pacer.stats().ticks, 50);
        });
    }
}
