//! A simulated PSM servo: each of the six joints and the jaw track their setpoint as a critically
//! damped second-order system with per-joint velocity saturation, stopping at the hard limits.
//!
//! Pure: time advances only through `step(dt_s)`. Nothing allocates.

use crate::kinematics::{JAW_MAX_RAD, JAW_MIN_RAD, JointLimits, Joints, PSM_JOINT_LIMITS};

/// Integration sub-step (seconds): a longer `step` is split into sub-steps no longer than this.
pub const MAX_SUBSTEP_S: f64 = 0.0005;

/// Servo dynamics of the arm. Units: rad/s (m/s for insertion) and rad/s for bandwidths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmConfig {
    /// Natural frequency ωn of each joint's critically damped loop, rad/s. The steady lag behind a
    /// setpoint moving at speed v is 2·v/ωn.
    pub natural_frequency_rad_s: Joints,
    /// Natural frequency of the jaw loop, rad/s.
    pub jaw_natural_frequency_rad_s: f64,
    /// Speed limit of each joint (rad/s, m/s for insertion).
    pub max_velocity: Joints,
    /// Speed limit of the jaw, rad/s (dVRK jaw catch-up: 720°/s).
    pub jaw_max_velocity_rad_s: f64,
    /// Hard stops of the joints.
    pub limits: JointLimits,
}

impl Default for ArmConfig {
    fn default() -> Self {
        ArmConfig {
            natural_frequency_rad_s: [150.0, 150.0, 150.0, 200.0, 200.0, 200.0],
            jaw_natural_frequency_rad_s: 200.0,
            max_velocity: [2.0, 2.0, 0.2, 6.0, 6.0, 6.0],
            jaw_max_velocity_rad_s: 12.566,
            limits: PSM_JOINT_LIMITS,
        }
    }
}

/// Why the arm refused an input.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ArmError {
    #[error("joint values must be finite (got NaN or infinity)")]
    NonFinite,
    #[error("initial joint {joint} = {value} is outside its limits")]
    InitialOutsideLimits { joint: usize, value: f64 },
}

/// One joint's state: position, velocity, setpoint and its loop parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ServoJoint {
    position: f64,
    velocity: f64,
    setpoint: f64,
    natural_frequency: f64,
    max_velocity: f64,
    min: f64,
    max: f64,
}

impl ServoJoint {
    /// Semi-implicit Euler step of `a = ωn²·(setpoint − x) − 2ωn·v`, velocity-saturated and
    /// stopped at the hard limits.
    fn step(&mut self, dt_s: f64) {
        let w = self.natural_frequency;
        let acceleration = w * w * (self.setpoint - self.position) - 2.0 * w * self.velocity;
        self.velocity =
            (self.velocity + acceleration * dt_s).clamp(-self.max_velocity, self.max_velocity);
        self.position += self.velocity * dt_s;
        if self.position <= self.min || self.position >= self.max {
            self.position = self.position.clamp(self.min, self.max);
            self.velocity = 0.0;
        }
    }
}

/// The simulated arm: six joints plus the jaw.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedArm {
    joints: [ServoJoint; 6],
    jaw: ServoJoint,
}

impl SimulatedArm {
    /// An arm at rest at `initial` (also its setpoint), jaw closed, with default dynamics.
    pub fn new(initial: Joints) -> Result<SimulatedArm, ArmError> {
        SimulatedArm::with_config(initial, ArmConfig::default())
    }

    /// An arm at rest at `initial` with the given dynamics.
    pub fn with_config(initial: Joints, config: ArmConfig) -> Result<SimulatedArm, ArmError> {
        if !initial.iter().all(|v| v.is_finite()) {
            return Err(ArmError::NonFinite);
        }
        if let Some(v) = config.limits.first_violation(&initial) {
            return Err(ArmError::InitialOutsideLimits {
                joint: v.joint,
                value: v.value,
            });
        }
        let joint = |j: usize| ServoJoint {
            position: initial[j],
            velocity: 0.0,
            setpoint: initial[j],
            natural_frequency: config.natural_frequency_rad_s[j],
            max_velocity: config.max_velocity[j],
            min: config.limits.min[j],
            max: config.limits.max[j],
        };
        Ok(SimulatedArm {
            joints: std::array::from_fn(joint),
            jaw: ServoJoint {
                position: 0.0,
                velocity: 0.0,
                setpoint: 0.0,
                natural_frequency: config.jaw_natural_frequency_rad_s,
                max_velocity: config.jaw_max_velocity_rad_s,
                min: JAW_MIN_RAD,
                max: JAW_MAX_RAD,
            },
        })
    }

    /// New joint setpoint. Refused (setpoint unchanged) if any value is not finite; values beyond
    /// the hard stops are accepted and the joint stops at the stop.
    pub fn set_setpoint(&mut self, q: Joints) -> Result<(), ArmError> {
        if !q.iter().all(|v| v.is_finite()) {
            return Err(ArmError::NonFinite);
        }
        for (joint, setpoint) in self.joints.iter_mut().zip(q) {
            joint.setpoint = setpoint;
        }
        Ok(())
    }

    /// New jaw opening setpoint in radians; refused if not finite.
    pub fn set_jaw_setpoint(&mut self, jaw_rad: f64) -> Result<(), ArmError> {
        if !jaw_rad.is_finite() {
            return Err(ArmError::NonFinite);
        }
        self.jaw.setpoint = jaw_rad;
        Ok(())
    }

    /// Advances the servo by `dt_s` seconds (no-op for a non-positive or non-finite `dt_s`).
    pub fn step(&mut self, dt_s: f64) {
        if !(dt_s > 0.0 && dt_s.is_finite()) {
            return;
        }
        let substeps = (dt_s / MAX_SUBSTEP_S).ceil().min(1e6) as u32;
        let h = dt_s / f64::from(substeps);
        for _ in 0..substeps {
            for joint in self.joints.iter_mut().chain(std::iter::once(&mut self.jaw)) {
                joint.step(h);
            }
        }
    }

    /// Measured joint positions (rad, m for insertion).
    pub fn measured(&self) -> Joints {
        self.joints.map(|j| j.position)
    }

    /// Measured joint velocities (rad/s, m/s for insertion).
    pub fn measured_velocity(&self) -> Joints {
        self.joints.map(|j| j.velocity)
    }

    /// The current joint setpoint.
    pub fn setpoint(&self) -> Joints {
        self.joints.map(|j| j.setpoint)
    }

    /// Measured jaw opening, radians.
    pub fn measured_jaw(&self) -> f64 {
        self.jaw.position
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{Pose, add};
    use crate::kinematics::Psm;

    const START: Joints = [0.1, -0.1, 0.12, 0.2, 0.1, -0.1];

    #[test]
    fn a_step_converges_without_overshoot() {
        let mut arm = SimulatedArm::new(START).unwrap();
        let mut target = START;
        target[0] += 0.01;
        arm.set_setpoint(target).unwrap();
        let mut peak = f64::MIN;
        for _ in 0..200 {
            arm.step(0.001);
            peak = peak.max(arm.measured()[0]);
        }
        assert!((arm.measured()[0] - target[0]).abs() < 1e-6);
        assert!(peak <= target[0] + 1e-9, "overshoot to {peak}");
    }

    #[test]
    fn velocity_saturates_at_the_joint_limit_speed() {
        let mut arm = SimulatedArm::new(START).unwrap();
        let mut target = START;
        target[2] = 0.24;
        arm.set_setpoint(target).unwrap();
        let mut fastest = 0.0f64;
        for _ in 0..100 {
            arm.step(0.001);
            fastest = fastest.max(arm.measured_velocity()[2].abs());
        }
        assert!((fastest - 0.2).abs() < 1e-12, "insertion speed {fastest}");
    }

    #[test]
    fn joints_stop_at_the_hard_limits() {
        let mut arm = SimulatedArm::new(START).unwrap();
        arm.set_setpoint([5.0, -5.0, 1.0, 9.0, 2.0, -2.0]).unwrap();
        arm.set_jaw_setpoint(3.0).unwrap();
        arm.step(5.0);
        assert_eq!(
            arm.measured(),
            PSM_JOINT_LIMITS.clamp(&[5.0, -5.0, 1.0, 9.0, 2.0, -2.0])
        );
        assert_eq!(arm.measured_jaw(), JAW_MAX_RAD);
    }

    #[test]
    fn non_finite_inputs_are_refused_and_change_nothing() {
        let mut arm = SimulatedArm::new(START).unwrap();
        let mut bad = START;
        bad[3] = f64::NAN;
        assert_eq!(arm.set_setpoint(bad), Err(ArmError::NonFinite));
        assert_eq!(
            arm.set_jaw_setpoint(f64::INFINITY),
            Err(ArmError::NonFinite)
        );
        arm.step(f64::NAN);
        arm.step(-1.0);
        arm.step(0.01);
        assert_eq!(arm.measured(), START);
        assert_eq!(SimulatedArm::new(bad), Err(ArmError::NonFinite));
        assert!(matches!(
            SimulatedArm::new([0.0, 0.0, -0.1, 0.0, 0.0, 0.0]),
            Err(ArmError::InitialOutsideLimits { joint: 2, .. })
        ));
    }

    /// At 1 kHz the tip follows a 20 mm/s circle (radius 5 mm, IK each tick) within 1 mm.
    #[test]
    fn tool_tip_tracks_a_20_mm_per_s_circle_within_a_fraction_of_a_millimetre() {
        let psm = Psm::dvrk_classic();
        let mut arm = SimulatedArm::new(START).unwrap();
        let centre = psm.forward(&START);
        let (radius_m, speed_m_s) = (0.005, 0.02);
        let omega = speed_m_s / radius_m;
        let target_at = |t: f64| Pose {
            position: add(
                centre.position,
                [
                    radius_m * ((omega * t).cos() - 1.0),
                    radius_m * (omega * t).sin(),
                    0.0,
                ],
            ),
            rotation: centre.rotation,
        };
        let mut seed = START;
        let mut worst_m = 0.0f64;
        let mut sum_squares = 0.0;
        let ticks = 4000;
        for tick in 1..=ticks {
            let t = f64::from(tick) * 0.001;
            let target = target_at(t);
            seed = psm.inverse(&target, &seed).unwrap();
            arm.set_setpoint(seed).unwrap();
            arm.step(0.001);
            let error = psm.forward(&arm.measured()).distance_m(&target);
            worst_m = worst_m.max(error);
            sum_squares += error * error;
        }
        let rms_mm = (sum_squares / f64::from(ticks)).sqrt() * 1e3;
        eprintln!(
            "arm tracking of a 20 mm/s circle: max {:.3} mm, rms {rms_mm:.3} mm",
            worst_m * 1e3
        );
        assert!(
            worst_m * 1e3 < 0.5,
            "max tracking error {} mm",
            worst_m * 1e3
        );
    }
}
