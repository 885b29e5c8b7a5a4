//! What a rehearsal records tick by tick for the invariant checks: the supervisor state each
//! millisecond, when commands and engage requests reached the station, and how far the tool tip
//! moved while the arm was not following.

use proto::SupervisorStateCode;
use std::time::Duration;

/// The tip may still settle onto the frozen setpoint this long after the station stops following.
pub const SETTLE: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Default)]
pub struct Observations {
    /// The supervisor state after each 1 ms tick; index = tick number (tick 1 at 1 ms).
    pub states: Vec<SupervisorStateCode>,
    /// When control commands reached the station.
    pub command_arrivals: Vec<Duration>,
    /// When engage requests reached the station.
    pub engage_arrivals: Vec<Duration>,
    /// Ticks at which the station entered ENGAGED without an engage request in that tick.
    pub engaged_unasked: Vec<Duration>,
    /// Largest tool-tip motion (mm) while not ENGAGED, after the first `SETTLE` of that stretch.
    pub max_motion_at_rest_mm: f64,
    rest_since: Option<(Duration, [f64; 3])>,
}

impl Observations {
    pub fn with_capacity(ticks: usize) -> Self {
        Self {
            states: Vec::with_capacity(ticks),
            ..Self::default()
        }
    }

    /// Records one tick's outcome.
    pub fn on_tick(
        &mut self,
        now: Duration,
        state: SupervisorStateCode,
        tip: [f64; 3],
        engage_this_tick: bool,
    ) {
        let previous = self.states.last().copied();
        if state == SupervisorStateCode::Engaged
            && previous != Some(SupervisorStateCode::Engaged)
            && !engage_this_tick
        {
            self.engaged_unasked.push(now);
        }
        self.states.push(state);
        if state == SupervisorStateCode::Engaged {
            self.rest_since = None;
            return;
        }
        match self.rest_since {
            None => self.rest_since = Some((now, tip)),
            Some((since, _)) if now.saturating_sub(since) <= SETTLE => {
                // Still settling: the reference is where the tip is when settling ends.
                self.rest_since = Some((since, tip));
            }
            Some((_, reference)) => {
                let moved = robot::geometry::norm(robot::geometry::sub(tip, reference)) * 1e3;
                self.max_motion_at_rest_mm = self.max_motion_at_rest_mm.max(moved);
            }
        }
    }

    /// The state after the tick at `t` (the last one at or before it).
    pub fn state_at(&self, t: Duration) -> Option<SupervisorStateCode> {
        let tick = t.as_millis() as usize;
        let index = tick.checked_sub(1)?;
        self.states
            .get(index.min(self.states.len().checked_sub(1)?))
            .copied()
    }

    /// Ticks in `[from, to)` (1 ms each) with their states.
    pub fn states_between(
        &self,
        from: Duration,
        to: Duration,
    ) -> impl Iterator<Item = (Duration, SupervisorStateCode)> + '_ {
        let first = (from.as_millis() as usize).max(1);
        let last = (to.as_millis() as usize).min(self.states.len());
        (first..last).map(|tick| (Duration::from_millis(tick as u64), self.states[tick - 1]))
    }
}
