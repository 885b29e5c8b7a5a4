//! Limit checks on command targets (refuse) and the setpoint slew limiter (clamp) that keeps
//! per-tick velocity and acceleration within bounds.

use crate::{INSERTION_JOINT, Joints, SupervisorConfig};

/// True when every joint is inside `[min, max]`.
pub fn within_joint_limits(config: &SupervisorConfig, q: &Joints) -> bool {
    q.iter()
        .enumerate()
        .all(|(i, v)| *v >= config.joint_min[i] && *v <= config.joint_max[i])
}

/// True when the insertion is past the RCM safety gate and the tip is inside the workspace sphere.
pub fn within_workspace(config: &SupervisorConfig, q: &Joints, tip_position_m: &[f64; 3]) -> bool {
    let radius = tip_position_m.iter().map(|c| c * c).sum::<f64>().sqrt();
    q[INSERTION_JOINT] >= config.min_insertion_m && radius <= config.workspace_radius_m
}

/// Moves a setpoint toward a target without exceeding per-joint speed and acceleration,
/// braking early so it does not overshoot a target it is approaching. Allocation-free; one call per servo tick.
#[derive(Debug, Clone, Copy)]
pub struct SlewLimiter {
    velocity: Joints,
}

impl SlewLimiter {
    pub fn new() -> Self {
        Self { velocity: [0.0; 6] }
    }

    /// Stops the modelled motion (used when the setpoint is frozen).
    pub fn stop(&mut self) {
        self.velocity = [0.0; 6];
    }

    /// Advances `setpoint` toward `target` over `dt_s` seconds, but never more than
    /// `max_servo_gap`: after a long gap the motion resumes, it does not catch up.
    pub fn step(
        &mut self,
        config: &SupervisorConfig,
        setpoint: &mut Joints,
        target: &Joints,
        dt_s: f64,
    ) {
        let dt_s = dt_s.min(config.max_servo_gap.as_secs_f64());
        if dt_s <= 0.0 {
            return;
        }
        for i in 0..6 {
            let error = target[i] - setpoint[i];
            let accel = config.max_acceleration[i];
            let speed_cap = config.max_velocity[i].min(braking_speed(error.abs(), accel, dt_s));
            let wanted = (error / dt_s).clamp(-speed_cap, speed_cap);
            let dv = accel * dt_s;
            let v = wanted.clamp(self.velocity[i] - dv, self.velocity[i] + dv);
            // The speed cap brakes ahead of the target; the acceleration limit wins over landing
            // exactly, so a target that stops abruptly is overshot by at most v²/2a, then regained.
            setpoint[i] += v * dt_s;
            self.velocity[i] = v;
        }
    }
}

impl Default for SlewLimiter {
    fn default() -> Self {
        Self::new()
    }
}

/// The highest speed from which a discrete-time motion decelerating by `accel·dt` each tick still
/// stops within `distance`: v such that v·dt + (v − a·dt)·dt + … ≤ distance.
fn braking_speed(distance: f64, accel: f64, dt_s: f64) -> f64 {
    let a_dt = accel * dt_s;
    a_dt * (-0.5 + (0.25 + 2.0 * distance / (a_dt * dt_s)).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One step integrates at most `max_servo_gap`, however long the gap it is given.
    #[test]
    fn one_step_never_integrates_more_than_the_servo_gap() {
        let config = SupervisorConfig::default();
        let cap = config.max_servo_gap.as_secs_f64();
        for dt_s in [cap, 0.04, 1.0, 3600.0, f64::INFINITY] {
            let mut limiter = SlewLimiter::new();
            let mut setpoint = [0.0; 6];
            let target = [1.0; 6];
            // Already moving at full speed, so only the time step limits the motion.
            limiter.velocity = config.max_velocity;
            limiter.step(&config, &mut setpoint, &target, dt_s);
            for (i, moved) in setpoint.iter().enumerate() {
                let cap_motion = config.max_velocity[i] * cap;
                assert!(
                    *moved > 0.0 && *moved <= cap_motion + 1e-12,
                    "joint {i} moved {moved} in a step of {dt_s} s"
                );
            }
        }
    }
}
