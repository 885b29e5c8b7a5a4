//! An independent check of the supervisor's output: it watches what was applied and where the
//! setpoint went, re-checks every rule from scratch, and counts violations (`unsafe_applied`).
//! It shares no code with the supervisor's decisions, so a broken rule shows up here.
//!
//! Sequence numbers must increase within one engagement (a new console session restarts them,
//! and it can only be followed after an engage). More than `max_servo_gap` between two setpoints
//! is a servo stall: the arm must not be ENGAGED at the tick that ends it (neither staying engaged
//! through it nor engaged during it), so no step while ENGAGED spans more than that.

use crate::{INSERTION_JOINT, Joints, SafetyState, SupervisorConfig};
use std::time::Duration;

/// Numerical slack for floating-point comparisons of per-tick motion.
const EPS: f64 = 1e-9;

pub struct Auditor {
    config: SupervisorConfig,
    last_seq: Option<u64>,
    last_setpoint: Option<(Duration, Joints, Joints, SafetyState)>,
    violations: u64,
    first_violation: Option<String>,
}

impl Auditor {
    pub fn new(config: SupervisorConfig) -> Self {
        Self {
            config,
            last_seq: None,
            last_setpoint: None,
            violations: 0,
            first_violation: None,
        }
    }

    /// Commands applied that broke a rule, plus setpoint moves that broke one.
    pub fn violations(&self) -> u64 {
        self.violations
    }

    pub fn first_violation(&self) -> Option<&str> {
        self.first_violation.as_deref()
    }

    fn flag(&mut self, what: String) {
        self.violations += 1;
        self.first_violation.get_or_insert(what);
    }

    /// Call for every command the supervisor applied, with the state it was judged in and its
    /// age: the true age where the caller knows it, else the supervisor's upper bound of it.
    pub fn on_applied(
        &mut self,
        seq: u64,
        age: Option<Duration>,
        state: SafetyState,
        joints: &Joints,
        tip: &[f64; 3],
    ) {
        if state != SafetyState::Engaged {
            self.flag(format!("seq {seq} applied in {state:?}"));
        }
        if self.last_seq.is_some_and(|last| seq <= last) {
            self.flag(format!("seq {seq} applied after {:?}", self.last_seq));
        }
        self.last_seq = Some(seq);
        match age {
            Some(age) if age < self.config.max_command_age => {}
            _ => self.flag(format!("seq {seq} applied with age {age:?}")),
        }
        let c = &self.config;
        let outside_limits =
            (0..6).any(|i| joints[i] < c.joint_min[i] || joints[i] > c.joint_max[i]);
        let radius = tip.iter().map(|v| v * v).sum::<f64>().sqrt();
        let outside_workspace =
            joints[INSERTION_JOINT] < c.min_insertion_m || radius > c.workspace_radius_m;
        if outside_limits {
            self.flag(format!("seq {seq} outside joint limits"));
        }
        if outside_workspace {
            self.flag(format!("seq {seq} outside the workspace"));
        }
    }

    /// Call with every supervisor transition, before the next tick's setpoint. Leaving ENGAGED stops
    /// the setpoint at once (hold, by design), so velocity and acceleration are audited within one
    /// engagement: a re-engage, even with no tick in between, starts from rest.
    /// A new engagement may follow a new console session, whose sequence numbers start afresh.
    pub fn on_transition(&mut self, to: SafetyState) {
        if to == SafetyState::Engaged {
            self.last_seq = None;
        } else if let Some((_, _, velocity, state)) = self.last_setpoint.as_mut() {
            *velocity = [0.0; 6];
            *state = to;
        }
    }

    /// Call after every tick with the setpoint handed to the arm and the state after the tick.
    pub fn on_setpoint(&mut self, now: Duration, setpoint: &Joints, state: SafetyState) {
        let previous = self.last_setpoint;
        let mut velocity = [0.0; 6];
        if let Some((t, last, last_velocity, last_state)) = previous {
            let both_engaged = last_state == SafetyState::Engaged && state == SafetyState::Engaged;
            let gap = now.saturating_sub(t);
            if state == SafetyState::Engaged && gap > self.config.max_servo_gap {
                self.flag(format!(
                    "ENGAGED at the tick after a servo stall of {gap:?} at {now:?}"
                ));
            }
            let dt = gap.as_secs_f64();
            for i in 0..6 {
                let step = setpoint[i] - last[i];
                if state != SafetyState::Engaged && step != 0.0 {
                    self.flag(format!("setpoint moved in {state:?}"));
                }
                if dt <= 0.0 {
                    // No time passed: the setpoint may not move, and its velocity is unchanged.
                    velocity[i] = last_velocity[i];
                    if step != 0.0 {
                        self.flag(format!("joint {i} moved in no time at {now:?}"));
                    }
                } else {
                    velocity[i] = step / dt;
                    if step.abs() > self.config.max_velocity[i] * dt + EPS {
                        self.flag(format!("joint {i} too fast at {now:?}"));
                    }
                    if both_engaged
                        && (velocity[i] - last_velocity[i]).abs()
                            > self.config.max_acceleration[i] * dt + 1e-6
                    {
                        self.flag(format!(
                            "joint {i} accelerated too hard at {now:?}: {:.6} -> {:.6} rad/s in {dt:.6} s",
                            last_velocity[i], velocity[i]
                        ));
                    }
                }
            }
        }
        self.last_setpoint = Some((now, *setpoint, velocity, state));
    }
}
