//! The supervisor state machine. The station feeds it commands and requests as they arrive and
//! calls `tick` every servo period; it returns the setpoint the arm may follow. It never reads a
//! clock: `now` is the station's monotonic time since its epoch.
//!
//! The sequence window and the engagement belong to a console session (`begin_session`,
//! `end_session`). A servo stall (more than `max_servo_gap` since the last tick) is noticed by
//! whichever call comes first after it, before that call does anything else: an ENGAGED arm
//! holds, and no engage is granted until the servo ticks again.

use crate::limits::{SlewLimiter, within_joint_limits, within_workspace};
use crate::{
    DropReason, Joints, Request, SafetyState, SupervisorConfig, Transition, TransitionReason,
};
use proto::{SequenceVerdict, SequenceWindow};
use std::collections::VecDeque;
use std::time::Duration;

/// A decoded, inverse-kinematics-resolved surgeon command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Command {
    pub seq: u64,
    /// The earliest time the console can have issued it, on the station clock (so that
    /// `now − issued_at` bounds its age from above); `None` before clock sync.
    pub issued_at: Option<Duration>,
    /// Joint target resolved from the Cartesian target.
    pub joints: Joints,
    /// The Cartesian tool-tip target (m, RCM frame), for the workspace check.
    pub tip_position_m: [f64; 3],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandVerdict {
    /// Became the new target.
    Applied,
    Dropped(DropReason),
}

pub struct Supervisor {
    config: SupervisorConfig,
    state: SafetyState,
    entered_state_at: Duration,
    time_in_state: [Duration; 6],
    setpoint: Joints,
    target: Joints,
    limiter: SlewLimiter,
    last_applied_seq: Option<u64>,
    seen: SequenceWindow,
    engaged_from_seq: u64,
    /// Last time a command arrived that would have been valid (fresh, in limits), in any state.
    last_valid_at: Duration,
    last_tick_at: Option<Duration>,
    drops: [u64; DropReason::ALL.len()],
    applied: u64,
    events: VecDeque<Transition>,
    /// The bedside team has taken control: remote commands and requests are refused.
    bedside_control: bool,
}

impl Supervisor {
    /// Starts DISABLED, holding the arm where it is.
    pub fn new(config: SupervisorConfig, measured: Joints, now: Duration) -> Self {
        Self {
            config,
            state: SafetyState::Disabled,
            entered_state_at: now,
            time_in_state: [Duration::ZERO; 6],
            setpoint: measured,
            target: measured,
            limiter: SlewLimiter::new(),
            last_applied_seq: None,
            seen: SequenceWindow::new(),
            engaged_from_seq: 0,
            last_valid_at: now,
            last_tick_at: None,
            drops: [0; DropReason::ALL.len()],
            applied: 0,
            events: VecDeque::with_capacity(16),
            bedside_control: false,
        }
    }

    pub fn state(&self) -> SafetyState {
        self.state
    }

    pub fn config(&self) -> &SupervisorConfig {
        &self.config
    }

    /// The setpoint the arm is told to follow.
    pub fn setpoint(&self) -> &Joints {
        &self.setpoint
    }

    pub fn last_applied_seq(&self) -> Option<u64> {
        self.last_applied_seq
    }

    pub fn applied_count(&self) -> u64 {
        self.applied
    }

    pub fn drop_count(&self, reason: DropReason) -> u64 {
        self.drops[reason.index()]
    }

    /// Time spent in each state up to `now`, indexed by `SafetyState::index`.
    pub fn time_in_states(&self, now: Duration) -> [Duration; 6] {
        let mut times = self.time_in_state;
        times[self.state.index()] += now.saturating_sub(self.entered_state_at);
        times
    }

    /// The next transition to report, oldest first.
    pub fn poll_transition(&mut self) -> Option<Transition> {
        self.events.pop_front()
    }

    /// When the supervisor must next be ticked at the latest for its watchdogs to fire on time.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let survival = self.last_valid_at.saturating_add(self.config.survival_time);
        match self.state {
            SafetyState::Engaged => Some(match self.last_tick_at {
                Some(t) => survival.min(t.saturating_add(self.config.max_servo_gap)),
                None => survival,
            }),
            SafetyState::Hold => Some(
                self.last_valid_at
                    .saturating_add(self.config.disengage_after),
            ),
            _ => None,
        }
    }

    /// A new console session (another console, or the same one after a reconnect): the sequence
    /// window and the engagement start afresh. An ENGAGED arm holds; nothing engages by itself.
    pub fn begin_session(&mut self, now: Duration) {
        self.notice_stall(now);
        self.seen = SequenceWindow::new();
        self.engaged_from_seq = 0;
        self.last_applied_seq = None;
        if self.state == SafetyState::Engaged {
            self.transition(SafetyState::Hold, TransitionReason::SessionChanged, now);
        }
    }

    /// The console session ended (link lost, or the console said bye): an ENGAGED arm holds.
    pub fn end_session(&mut self, now: Duration) {
        self.hold(TransitionReason::SessionEnded, now);
    }

    /// An ENGAGED arm holds, for `reason` (control being handed over, a session ending).
    pub fn hold(&mut self, reason: TransitionReason, now: Duration) {
        self.notice_stall(now);
        if self.state == SafetyState::Engaged {
            self.transition(SafetyState::Hold, reason, now);
        }
    }

    /// Whether the bedside team has control.
    pub fn bedside_control(&self) -> bool {
        self.bedside_control
    }

    /// The bedside team takes control (an ENGAGED arm holds; every remote command is dropped and
    /// every remote request but an e-stop refused) or hands it back (a fresh sequence window and
    /// engagement: nothing moves until the remote surgeon engages).
    pub fn set_bedside_control(&mut self, bedside: bool, now: Duration) {
        if bedside {
            self.hold(TransitionReason::BedsideTakeover, now);
        } else if self.bedside_control {
            self.begin_session(now);
        }
        self.bedside_control = bedside;
    }

    /// Judges a command. It becomes the target only if every rule holds. A servo stall since the
    /// last tick puts an ENGAGED arm in HOLD first, so the command is judged in HOLD.
    pub fn handle_command(&mut self, cmd: &Command, now: Duration) -> CommandVerdict {
        self.notice_stall(now);
        let verdict = self.judge(cmd, now);
        match verdict {
            CommandVerdict::Applied => {
                self.seen.accept(cmd.seq);
                self.last_applied_seq = Some(cmd.seq);
                self.target = cmd.joints;
                self.last_valid_at = now;
                self.applied += 1;
            }
            CommandVerdict::Dropped(reason) => self.drops[reason.index()] += 1,
        }
        verdict
    }

    fn judge(&mut self, cmd: &Command, now: Duration) -> CommandVerdict {
        use CommandVerdict::Dropped;
        if self.bedside_control {
            return Dropped(DropReason::BedsideControl);
        }
        let Some(issued_at) = cmd.issued_at else {
            return Dropped(DropReason::Unsynchronised);
        };
        // A limit past the end of time is no limit.
        if now
            .checked_add(self.config.max_future_skew)
            .is_some_and(|limit| issued_at > limit)
        {
            return Dropped(DropReason::Future);
        }
        if now.saturating_sub(issued_at) >= self.config.max_command_age {
            return Dropped(DropReason::Stale);
        }
        if !within_joint_limits(&self.config, &cmd.joints) {
            return Dropped(DropReason::JointLimit);
        }
        if !within_workspace(&self.config, &cmd.joints, &cmd.tip_position_m) {
            return Dropped(DropReason::Workspace);
        }
        if cmd.seq < self.engaged_from_seq {
            return Dropped(DropReason::BeforeEngage);
        }
        // Accepting a far-out sequence number would make every later command look old.
        let reference = self.seen.newest().map_or(self.engaged_from_seq, |newest| {
            newest.max(self.engaged_from_seq)
        });
        if cmd.seq > reference.saturating_add(self.config.max_sequence_jump) {
            return Dropped(DropReason::OutOfRange);
        }
        match self.seen.check(cmd.seq) {
            SequenceVerdict::Duplicate => return Dropped(DropReason::Duplicate),
            SequenceVerdict::Reordered => return Dropped(DropReason::Reordered),
            SequenceVerdict::Fresh => {}
        }
        // Fresh, young and in limits: the link is alive even if we may not follow it now.
        self.last_valid_at = now;
        if self.state != SafetyState::Engaged {
            return Dropped(DropReason::NotEngaged);
        }
        CommandVerdict::Applied
    }

    /// Handles a request; returns the refusal reason when the current state does not allow it.
    pub fn handle_request(&mut self, request: Request, now: Duration) -> Result<(), &'static str> {
        use SafetyState::*;
        self.notice_stall(now);
        let (to, reason) = match (request, self.state) {
            (Request::LocalEstop, _) => (Estop, TransitionReason::LocalEstop),
            (Request::RemoteEstop, _) => (Estop, TransitionReason::RemoteEstop),
            (
                Request::Enable | Request::Disable | Request::Engage { .. } | Request::Disengage,
                _,
            ) if self.bedside_control => {
                return Err("the bedside team has control");
            }
            (_, Estop) if request != Request::LocalEstopClear => {
                return Err("e-stop is latched; clear it at the station");
            }
            (Request::LocalEstopClear, Estop) => (Disabled, TransitionReason::EstopCleared),
            (Request::LocalFaultClear, Fault) => (Disabled, TransitionReason::FaultCleared),
            (_, Fault) => return Err("in FAULT; clear it at the station"),
            (Request::Enable, Disabled) => (Ready, TransitionReason::EnableRequested),
            (Request::Disable, Ready | Engaged | Hold) => {
                (Disabled, TransitionReason::DisableRequested)
            }
            (Request::Engage { from_seq }, Engaged) => {
                // Already following: only the engagement's first sequence number changes; the
                // motion continues within its limits rather than stopping abruptly.
                self.engaged_from_seq = from_seq;
                return Ok(());
            }
            (Request::Engage { .. }, Ready | Hold) if self.servo_stalled(now) => {
                return Err("the servo loop is stalled; engage again once it runs");
            }
            (Request::Engage { from_seq }, Ready | Hold) => {
                self.engaged_from_seq = from_seq;
                self.target = self.setpoint;
                self.limiter.stop();
                self.last_valid_at = now;
                (Engaged, TransitionReason::EngageRequested)
            }
            (Request::Disengage, Engaged | Hold) => (Ready, TransitionReason::DisengageRequested),
            _ => return Err("not allowed in the current state"),
        };
        self.transition(to, reason, now);
        Ok(())
    }

    /// One servo tick: runs the watchdogs and returns the setpoint the arm may follow.
    pub fn tick(&mut self, now: Duration, measured: &Joints) -> Joints {
        self.notice_stall(now);
        // The limiter caps this at `max_servo_gap`, should a long gap ever reach it ENGAGED.
        let dt_s = self
            .last_tick_at
            .map_or(0.0, |t| now.saturating_sub(t).as_secs_f64());
        self.last_tick_at = Some(now);
        self.check_measurement(now, measured);
        let silent_for = now.saturating_sub(self.last_valid_at);
        if self.state == SafetyState::Engaged && silent_for > self.config.survival_time {
            self.transition(
                SafetyState::Hold,
                TransitionReason::SurvivalTimeExpired,
                now,
            );
        }
        if self.state == SafetyState::Hold && silent_for > self.config.disengage_after {
            self.transition(
                SafetyState::Ready,
                TransitionReason::DisengageTimeExpired,
                now,
            );
        }
        if self.state == SafetyState::Engaged {
            let target = self.target;
            self.limiter
                .step(&self.config, &mut self.setpoint, &target, dt_s);
        }
        self.setpoint
    }

    /// More than `max_servo_gap` since the last tick (none yet counts as running).
    fn servo_stalled(&self, now: Duration) -> bool {
        self.last_tick_at
            .is_some_and(|t| now.saturating_sub(t) > self.config.max_servo_gap)
    }

    /// An ENGAGED arm holds as soon as anything happens during a servo stall.
    fn notice_stall(&mut self, now: Duration) {
        if self.state == SafetyState::Engaged && self.servo_stalled(now) {
            self.transition(SafetyState::Hold, TransitionReason::ServoStall, now);
        }
    }

    fn check_measurement(&mut self, now: Duration, measured: &Joints) {
        if matches!(self.state, SafetyState::Fault | SafetyState::Estop) {
            return;
        }
        if measured.iter().any(|v| !v.is_finite()) {
            self.transition(
                SafetyState::Fault,
                TransitionReason::BadMeasurementFault,
                now,
            );
        } else if measured
            .iter()
            .zip(&self.setpoint)
            .zip(&self.config.max_tracking_error)
            .any(|((m, s), limit)| (m - s).abs() > *limit)
        {
            self.transition(
                SafetyState::Fault,
                TransitionReason::TrackingErrorFault,
                now,
            );
        }
    }

    fn transition(&mut self, to: SafetyState, reason: TransitionReason, now: Duration) {
        let from = self.state;
        if to != SafetyState::Engaged {
            // Every state but ENGAGED freezes the setpoint where it is: nothing moves.
            self.target = self.setpoint;
            self.limiter.stop();
        }
        self.time_in_state[from.index()] += now.saturating_sub(self.entered_state_at);
        self.entered_state_at = now;
        self.state = to;
        if self.events.len() == self.events.capacity() {
            self.events.pop_front();
        }
        self.events.push_back(Transition {
            from,
            to,
            reason,
            at: now,
        });
    }
}
