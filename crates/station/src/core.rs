//! The station's servo-side core, free of clocks and IO: it takes decoded commands and requests
//! with their times, resolves each target by inverse kinematics, lets the supervisor decide, steps
//! the simulated arm, and keeps the statistics of the session.

use crate::report::{StationReport, TransitionRecord};
use link::LatencyRecorder;
use link::wire::{pose_from_wire, pose_to_wire};
use proto::{ControlCommand, StateReport};
use robot::arm::SimulatedArm;
use robot::kinematics::{JAW_MAX_RAD, JAW_MIN_RAD};
use robot::{Joints, Psm};
use safety::{
    Auditor, Command, CommandVerdict, DropReason, Request, SafetyState, Supervisor,
    SupervisorConfig, Transition,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// Ten minutes of samples at 1 kHz; later samples are counted, not kept.
const LATENCY_CAPACITY: usize = 600_000;

/// Something for the servo thread to act on.
#[derive(Debug, Clone, Copy)]
pub enum Inbound {
    /// A control command; `issued_at` is its issue time on the station clock (None before clock
    /// sync), `received_at` when the network thread decoded it.
    Command {
        cmd: ControlCommand,
        issued_at: Option<Duration>,
        received_at: Duration,
    },
    Request(Request),
}

/// Running sums for the tool-tip tracking error.
#[derive(Debug, Default, Clone, Copy)]
struct TrackingError {
    sum_sq_m2: f64,
    max_m: f64,
    samples: u64,
}

pub struct StationCore {
    psm: Psm,
    arm: SimulatedArm,
    supervisor: Supervisor,
    auditor: Auditor,
    ik_seed: Joints,
    /// Tool-tip position of the newest applied command.
    target_tip: Option<[f64; 3]>,
    commands_received: u64,
    ik_unreachable: u64,
    arrival_latency: LatencyRecorder,
    age_at_apply: LatencyRecorder,
    tracking: TrackingError,
    transitions: Vec<TransitionRecord>,
    pending_transitions: Vec<Transition>,
    refusals: u64,
    state_seq: u64,
    last_tick: Option<Duration>,
}

impl StationCore {
    pub fn new(
        config: SupervisorConfig,
        start: Joints,
        now: Duration,
    ) -> Result<Self, robot::arm::ArmError> {
        Ok(Self {
            psm: Psm::dvrk_classic(),
            arm: SimulatedArm::new(start)?,
            auditor: Auditor::new(config.clone()),
            supervisor: Supervisor::new(config, start, now),
            ik_seed: start,
            target_tip: None,
            commands_received: 0,
            ik_unreachable: 0,
            arrival_latency: LatencyRecorder::with_capacity(LATENCY_CAPACITY),
            age_at_apply: LatencyRecorder::with_capacity(LATENCY_CAPACITY),
            tracking: TrackingError::default(),
            transitions: Vec::with_capacity(64),
            pending_transitions: Vec::with_capacity(16),
            refusals: 0,
            state_seq: 0,
            last_tick: None,
        })
    }

    pub fn state(&self) -> SafetyState {
        self.supervisor.state()
    }

    /// Acts on one inbound item. A refused request returns its reason, for the console.
    pub fn handle(&mut self, inbound: Inbound, now: Duration) -> Result<(), &'static str> {
        match inbound {
            Inbound::Command {
                cmd,
                issued_at,
                received_at,
            } => {
                self.handle_command(&cmd, issued_at, received_at, now);
                Ok(())
            }
            Inbound::Request(request) => {
                let result = self.supervisor.handle_request(request, now);
                if result.is_err() {
                    self.refusals += 1;
                }
                self.collect_transitions();
                result
            }
        }
    }

    fn handle_command(
        &mut self,
        cmd: &ControlCommand,
        issued_at: Option<Duration>,
        received_at: Duration,
        now: Duration,
    ) {
        self.commands_received += 1;
        if let Some(issued) = issued_at {
            self.arrival_latency
                .record_ns(received_at.saturating_sub(issued).as_nanos() as u64);
        }
        let Some(target) = pose_from_wire(&cmd.target) else {
            self.ik_unreachable += 1;
            return;
        };
        let Ok(joints) = self.psm.inverse(&target, &self.ik_seed) else {
            self.ik_unreachable += 1;
            return;
        };
        let command = Command {
            seq: cmd.seq,
            issued_at,
            joints,
            tip_position_m: target.position,
        };
        let state_before = self.supervisor.state();
        if self.supervisor.handle_command(&command, now) == CommandVerdict::Applied {
            let age = issued_at.map(|at| now.saturating_sub(at));
            self.auditor
                .on_applied(cmd.seq, age, state_before, &joints, &target.position);
            if let Some(age) = age {
                self.age_at_apply.record_ns(age.as_nanos() as u64);
            }
            self.ik_seed = joints;
            self.target_tip = Some(target.position);
            // The jaw is not part of the supervised joints; it is kept inside its limits.
            let _ = self
                .arm
                .set_jaw_setpoint(cmd.jaw_rad.clamp(JAW_MIN_RAD, JAW_MAX_RAD));
        }
    }

    /// One servo tick: watchdogs, setpoint, arm dynamics, tracking error; returns the state report.
    pub fn tick(&mut self, now: Duration) -> StateReport {
        let dt_s = self
            .last_tick
            .map_or(0.0, |t| now.saturating_sub(t).as_secs_f64());
        self.last_tick = Some(now);
        // Transitions from requests since the last tick reach the auditor before this setpoint.
        self.collect_transitions();
        let setpoint = self.supervisor.tick(now, &self.arm.measured());
        let state = self.supervisor.state();
        self.auditor.on_setpoint(now, &setpoint, state);
        if state != SafetyState::Engaged {
            self.target_tip = None;
        }
        // The supervisor's setpoint is finite by construction; a failure here would leave the arm
        // holding its previous setpoint, which is the safe outcome.
        let _ = self.arm.set_setpoint(setpoint);
        self.arm.step(dt_s);
        self.collect_transitions();
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
            if self.transitions.len() < self.transitions.capacity() {
                self.transitions.push(TransitionRecord::from(&t));
            }
            self.pending_transitions.push(t);
        }
    }

    /// Transitions since the last call, oldest first, for logging and the event stream.
    pub fn drain_transitions(&mut self) -> std::vec::Drain<'_, Transition> {
        self.pending_transitions.drain(..)
    }

    pub fn report(&self, now: Duration) -> StationReport {
        let mut dropped: BTreeMap<String, u64> = DropReason::ALL
            .iter()
            .map(|r| (r.name().to_string(), self.supervisor.drop_count(*r)))
            .filter(|(_, n)| *n > 0)
            .collect();
        if self.ik_unreachable > 0 {
            dropped.insert("ik_unreachable".into(), self.ik_unreachable);
        }
        let times = self.supervisor.time_in_states(now);
        let state_time_ms = SafetyState::ALL
            .iter()
            .map(|s| (s.name().to_string(), times[s.index()].as_secs_f64() * 1e3))
            .collect();
        let rms_m = if self.tracking.samples > 0 {
            (self.tracking.sum_sq_m2 / self.tracking.samples as f64).sqrt()
        } else {
            0.0
        };
        StationReport {
            commands_received: self.commands_received,
            commands_applied: self.supervisor.applied_count(),
            commands_dropped: dropped,
            unsafe_applied: self.auditor.violations(),
            first_unsafe: self.auditor.first_violation().map(str::to_string),
            tracking_rms_mm: rms_m * 1e3,
            tracking_max_mm: self.tracking.max_m * 1e3,
            latency_us: self.arrival_latency.percentiles(),
            age_at_apply_us: self.age_at_apply.percentiles(),
            state_time_ms,
            transitions: self.transitions.clone(),
            refused_requests: self.refusals,
            ..StationReport::default()
        }
    }
}
