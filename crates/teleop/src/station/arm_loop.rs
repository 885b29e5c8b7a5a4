//! The station's servo-side work on one arm, free of clocks and IO: it resolves each command's
//! target by inverse kinematics, lets the supervisor decide, steps the simulated arm by at most
//! one servo period per tick (a stall is not replayed after the fact), checks every applied command
//! and setpoint with the independent auditor, and keeps the statistics. Nothing here allocates
//! after construction.

use crate::report::{StationReport, TransitionRecord};
use crate::stats::LatencyRecorder;
use crate::wire::{pose_from_wire, pose_to_wire};
use proto::{ControlCommand, StateReport};
use robot::arm::SimulatedArm;
use robot::kinematics::{JAW_MAX_RAD, JAW_MIN_RAD};
use robot::{Joints, Psm};
use safety::{
    Auditor, Command, CommandVerdict, DropReason, Request, SafetyState, Supervisor,
    SupervisorConfig, Transition, TransitionReason,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// Ten minutes of samples at 1 kHz; later samples are counted, not kept.
const LATENCY_CAPACITY: usize = 600_000;
/// Transitions kept for the report of one session, and of the station's whole life.
const TRANSITION_CAPACITY: usize = 256;
const LIFETIME_TRANSITION_CAPACITY: usize = 4096;

/// A control command with what the session knows of its issue time on the station clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedCommand {
    pub cmd: ControlCommand,
    /// The earliest moment it can have been issued (clock-sync upper bound of its age); `None`
    /// before clock sync.
    pub earliest_issue: Option<Duration>,
    /// The clock-sync estimate of its issue time.
    pub estimated_issue: Option<Duration>,
    /// The true issue time, where the station knows it (one clock: demo, rehearsal).
    pub true_issue: Option<Duration>,
    /// When the network edge received it.
    pub received_at: Duration,
}

/// Running sums for the tool-tip tracking error.
#[derive(Debug, Default, Clone, Copy)]
struct TrackingError {
    sum_sq_m2: f64,
    max_m: f64,
    samples: u64,
}

/// Counters at the start of the current session, so its report shows only its own.
#[derive(Debug, Clone, Copy, Default)]
struct Baseline {
    received: u64,
    ik_unreachable: u64,
    refusals: u64,
    stalls: u64,
    applied: u64,
    drops: [u64; DropReason::ALL.len()],
    time_in_state: [Duration; 6],
}

pub struct ArmLoop {
    psm: Psm,
    arm: SimulatedArm,
    supervisor: Supervisor,
    auditor: Auditor,
    servo_period: Duration,
    ik_seed: Joints,
    /// Tool-tip position of the newest applied command.
    target_tip: Option<[f64; 3]>,
    commands_received: u64,
    ik_unreachable: u64,
    arrival_latency: LatencyRecorder,
    age_bound_at_apply: LatencyRecorder,
    estimated_age_at_apply: LatencyRecorder,
    true_age_at_apply: LatencyRecorder,
    tracking: TrackingError,
    transitions: Vec<TransitionRecord>,
    lifetime_transitions: Vec<TransitionRecord>,
    pending: [Option<Transition>; 16],
    pending_len: usize,
    refusals: u64,
    stalls: u64,
    state_seq: u64,
    ticks: u64,
    last_tick: Option<Duration>,
    baseline: Baseline,
}

impl ArmLoop {
    pub fn new(
        config: SupervisorConfig,
        servo_period: Duration,
        start: Joints,
        now: Duration,
    ) -> Result<Self, robot::arm::ArmError> {
        Ok(Self {
            psm: Psm::dvrk_classic(),
            arm: SimulatedArm::new(start)?,
            auditor: Auditor::new(config.clone()),
            supervisor: Supervisor::new(config, start, now),
            servo_period,
            ik_seed: start,
            target_tip: None,
            commands_received: 0,
            ik_unreachable: 0,
            arrival_latency: LatencyRecorder::with_capacity(LATENCY_CAPACITY),
            age_bound_at_apply: LatencyRecorder::with_capacity(LATENCY_CAPACITY),
            estimated_age_at_apply: LatencyRecorder::with_capacity(LATENCY_CAPACITY),
            true_age_at_apply: LatencyRecorder::with_capacity(LATENCY_CAPACITY),
            tracking: TrackingError::default(),
            transitions: Vec::with_capacity(TRANSITION_CAPACITY),
            lifetime_transitions: Vec::with_capacity(LIFETIME_TRANSITION_CAPACITY),
            pending: [None; 16],
            pending_len: 0,
            refusals: 0,
            stalls: 0,
            state_seq: 0,
            ticks: 0,
            last_tick: None,
            baseline: Baseline::default(),
        })
    }

    pub fn state(&self) -> SafetyState {
        self.supervisor.state()
    }

    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// A new console session: the supervisor starts its sequence window and engagement afresh
    /// (an engaged arm holds), and the session's statistics start from zero.
    pub fn begin_session(&mut self, now: Duration) {
        self.supervisor.begin_session(now);
        self.collect_transitions();
        self.arrival_latency.clear();
        self.age_bound_at_apply.clear();
        self.estimated_age_at_apply.clear();
        self.true_age_at_apply.clear();
        self.tracking = TrackingError::default();
        self.transitions.clear();
        self.baseline = Baseline {
            received: self.commands_received,
            ik_unreachable: self.ik_unreachable,
            refusals: self.refusals,
            stalls: self.stalls,
            applied: self.supervisor.applied_count(),
            drops: DropReason::ALL.map(|r| self.supervisor.drop_count(r)),
            time_in_state: self.supervisor.time_in_states(now),
        };
    }

    /// The session's link is gone: an engaged arm holds at once.
    pub fn end_session(&mut self, now: Duration) {
        self.supervisor.end_session(now);
        self.collect_transitions();
    }

    /// An engaged arm holds, for `reason` (control being handed over).
    pub fn hold(&mut self, reason: safety::TransitionReason, now: Duration) {
        self.supervisor.hold(reason, now);
        self.collect_transitions();
    }

    /// The bedside team takes control (the arm holds and no remote command acts) or hands it back
    /// (nothing moves until the remote surgeon engages).
    pub fn set_bedside_control(&mut self, bedside: bool, now: Duration) {
        self.supervisor.set_bedside_control(bedside, now);
        self.collect_transitions();
    }

    /// A request from the console or the station itself; a refusal returns its reason.
    pub fn request(&mut self, request: Request, now: Duration) -> Result<(), &'static str> {
        let result = self.supervisor.handle_request(request, now);
        if result.is_err() {
            self.refusals += 1;
        }
        self.collect_transitions();
        result
    }

    /// Judges one command; returns the supervisor's verdict, or `None` when its target has no
    /// inverse kinematics solution (counted as `ik_unreachable`).
    pub fn command(&mut self, timed: &TimedCommand, now: Duration) -> Option<CommandVerdict> {
        self.commands_received += 1;
        if let Some(issued) = timed.estimated_issue {
            self.arrival_latency
                .record_ns(timed.received_at.saturating_sub(issued).as_nanos() as u64);
        }
        let cmd = &timed.cmd;
        let Some(joints) = pose_from_wire(&cmd.target)
            .and_then(|target| Some((self.psm.inverse(&target, &self.ik_seed).ok()?, target)))
        else {
            self.ik_unreachable += 1;
            return None;
        };
        let (joints, target) = joints;
        let command = Command {
            seq: cmd.seq,
            issued_at: timed.earliest_issue,
            joints,
            tip_position_m: target.position,
        };
        let state_before = self.supervisor.state();
        let verdict = self.supervisor.handle_command(&command, now);
        // A stall noticed by this command is a transition the auditor must see first.
        self.collect_transitions();
        if verdict == CommandVerdict::Applied {
            let age = |at: Option<Duration>| at.map(|at| now.saturating_sub(at));
            let (bound, estimate, truth) = (
                age(timed.earliest_issue),
                age(timed.estimated_issue),
                age(timed.true_issue),
            );
            self.auditor.on_applied(
                cmd.seq,
                truth.or(bound),
                judged_in(state_before, self.supervisor.state()),
                &joints,
                &target.position,
            );
            for (recorder, age) in [
                (&mut self.age_bound_at_apply, bound),
                (&mut self.estimated_age_at_apply, estimate),
                (&mut self.true_age_at_apply, truth),
            ] {
                if let Some(age) = age {
                    recorder.record_ns(age.as_nanos() as u64);
                }
            }
            self.ik_seed = joints;
            self.target_tip = Some(target.position);
            // The jaw is not part of the supervised joints; it is kept inside its limits.
            let _ = self
                .arm
                .set_jaw_setpoint(cmd.jaw_rad.clamp(JAW_MIN_RAD, JAW_MAX_RAD));
        }
        Some(verdict)
    }

    /// One servo tick: watchdogs, setpoint, arm dynamics (at most one servo period of them: a
    /// stall is not replayed), tracking error; returns the state report.
    pub fn tick(&mut self, now: Duration) -> StateReport {
        let dt_s = self.last_tick.map_or(0.0, |t| {
            now.saturating_sub(t).min(self.servo_period).as_secs_f64()
        });
        self.last_tick = Some(now);
        self.ticks += 1;
        // Transitions from requests since the last tick reach the auditor before this setpoint.
        self.collect_transitions();
        let setpoint = self.supervisor.tick(now, &self.arm.measured());
        self.collect_transitions();
        let state = self.supervisor.state();
        self.auditor.on_setpoint(now, &setpoint, state);
        if state != SafetyState::Engaged {
            self.target_tip = None;
        }
        // The supervisor's setpoint is finite by construction; a failure here would leave the arm
        // holding its previous setpoint, which is the safe outcome.
        let _ = self.arm.set_setpoint(setpoint);
        self.arm.step(dt_s);
        let measured = self.arm.measured();
        let tip = self.psm.forward(&measured);
        if let (SafetyState::Engaged, Some(target)) = (state, self.target_tip) {
            let error = robot::geometry::norm(robot::geometry::sub(tip.position, target));
            self.tracking.sum_sq_m2 += error * error;
            self.tracking.max_m = self.tracking.max_m.max(error);
            self.tracking.samples += 1;
        }
        self.state_seq += 1;
        StateReport {
            seq: self.state_seq,
            station_time_us: now.as_micros() as i64,
            last_applied_seq: self.supervisor.last_applied_seq().unwrap_or(0),
            supervisor_state: state as u8,
            joints: measured,
            tip: pose_to_wire(&tip),
        }
    }

    fn collect_transitions(&mut self) {
        while let Some(t) = self.supervisor.poll_transition() {
            self.auditor.on_transition(t.to);
            if t.reason == TransitionReason::ServoStall {
                self.stalls += 1;
            }
            for log in [&mut self.transitions, &mut self.lifetime_transitions] {
                if log.len() < log.capacity() {
                    log.push(TransitionRecord::from(&t));
                }
            }
            if self.pending_len < self.pending.len() {
                self.pending[self.pending_len] = Some(t);
                self.pending_len += 1;
            }
        }
    }

    /// The oldest transition not yet taken, for the event stream and the log.
    pub fn take_transition(&mut self) -> Option<Transition> {
        if self.pending_len == 0 {
            return None;
        }
        let first = self.pending[0].take();
        self.pending.rotate_left(1);
        self.pending_len -= 1;
        first
    }

    /// The statistics of the current session, or of the station's whole life (counts, times and
    /// transitions; latencies and tracking always cover the latest session).
    pub fn report(&self, now: Duration, whole_life: bool) -> StationReport {
        let base = if whole_life {
            Baseline::default()
        } else {
            self.baseline
        };
        let mut dropped: BTreeMap<String, u64> = DropReason::ALL
            .iter()
            .map(|r| {
                let n = self.supervisor.drop_count(*r) - base.drops[r.index()];
                (r.name().to_string(), n)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        let ik_unreachable = self.ik_unreachable - base.ik_unreachable;
        if ik_unreachable > 0 {
            dropped.insert("ik_unreachable".into(), ik_unreachable);
        }
        let times = self.supervisor.time_in_states(now);
        let state_time_ms = SafetyState::ALL
            .iter()
            .map(|s| {
                let t = times[s.index()].saturating_sub(base.time_in_state[s.index()]);
                (s.name().to_string(), t.as_secs_f64() * 1e3)
            })
            .collect();
        let rms_m = if self.tracking.samples > 0 {
            (self.tracking.sum_sq_m2 / self.tracking.samples as f64).sqrt()
        } else {
            0.0
        };
        StationReport {
            commands_received: self.commands_received - base.received,
            commands_applied: self.supervisor.applied_count() - base.applied,
            commands_dropped: dropped,
            unsafe_applied: self.auditor.violations(),
            first_unsafe: self.auditor.first_violation().map(str::to_string),
            tracking_rms_mm: rms_m * 1e3,
            tracking_max_mm: self.tracking.max_m * 1e3,
            latency_us: self.arrival_latency.percentiles(),
            age_at_apply_us: self.age_bound_at_apply.percentiles(),
            estimated_age_at_apply_us: self.estimated_age_at_apply.percentiles(),
            true_age_at_apply_us: (!self.true_age_at_apply.is_empty())
                .then(|| self.true_age_at_apply.percentiles()),
            state_time_ms,
            transitions: if whole_life {
                self.lifetime_transitions.clone()
            } else {
                self.transitions.clone()
            },
            refused_requests: self.refusals - base.refusals,
            servo_ticks: self.ticks,
            servo_stalls: self.stalls - base.stalls,
            ..StationReport::default()
        }
    }
}

/// The state an applied command counts as applied in: ENGAGED only when the supervisor was
/// engaged both before and after its verdict, so the auditor catches anything else.
fn judged_in(before: SafetyState, after: SafetyState) -> SafetyState {
    if before == SafetyState::Engaged {
        after
    } else {
        before
    }
}
