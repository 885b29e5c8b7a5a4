//! Closed-form inverse kinematics of the PSM tool tip, after the SRC `psmKinematics.compute_IK`.
//!
//! Geometry used (all in the base/RCM frame):
//! - the tip sits on the wrist-yaw axis `z6`, a distance `a6` (pitch-to-yaw link) along `x5` from the
//!   wrist-pitch point; `x5 ⟂ z6`, and the shaft, `x5` and `z6` share the plane normal to the pitch
//!   axis `z5`. So the RCM, the wrist-pitch point and the tip are in that plane, and `x5` is ± the
//!   part of (RCM − tip) perpendicular to `z6`;
//! - the wrist-pitch point lies on the shaft through the RCM, at `q3 + offset3 + d4` along `z3`,
//!   which gives outer yaw, outer pitch and insertion;
//! - tool roll, wrist pitch and wrist yaw follow from `z5 = x5 × z6`, `x5` and the tip's `x6`.
//!
//! Every sign choice is tried, each candidate is checked by forward kinematics, and the one within
//! the joint limits closest to the seed wins. Nothing here panics, whatever the input.

use super::{DhLink, INSERTION_JOINT, Joints, LimitViolation, Psm};
use crate::geometry::{
    Mat3, Pose, Vec3, add, column, cross, dot, mat_mul, mat_vec, norm, rot_x, scale, sub,
    transpose, wrap_angle,
};
use std::f64::consts::TAU;

/// A candidate must reproduce the target to these tolerances (metres, radians) to count.
const POSITION_TOLERANCE_M: f64 = 1e-9;
const ANGLE_TOLERANCE_RAD: f64 = 1e-8;
/// Below this length (metres) a direction is undefined: the target is at a singularity.
const SINGULAR_LENGTH_M: f64 = 1e-9;
/// Insertion differences are divided by this (metres) to weigh them against radians.
const INSERTION_WEIGHT_M: f64 = 0.1;

/// Why a tool-tip pose has no joint solution.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum IkError {
    #[error("target pose has a NaN or infinite value")]
    NonFiniteTarget,
    #[error("seed joints have a NaN or infinite value")]
    NonFiniteSeed,
    #[error("target is at a kinematic singularity: {0}")]
    Singular(&'static str),
    #[error("no joint configuration reaches the target pose (not a rigid pose, or out of reach)")]
    Unreachable,
    #[error(
        "target needs {name} joint = {value:.5}, outside its limits [{min:.5}, {max:.5}]",
        name = super::JOINT_NAMES[*joint]
    )]
    OutsideJointLimits {
        joint: usize,
        value: f64,
        min: f64,
        max: f64,
    },
}

impl From<LimitViolation> for IkError {
    fn from(v: LimitViolation) -> Self {
        IkError::OutsideJointLimits {
            joint: v.joint,
            value: v.value,
            min: v.min,
            max: v.max,
        }
    }
}

/// The revolute joint value that turns the frame `before` (rotation before `link`) so that the new
/// x axis is `x_axis` (a unit vector in the base frame).
fn revolute_value(link: &DhLink, before: &Mat3, x_axis: Vec3) -> f64 {
    let local = mat_vec(&transpose(&mat_mul(before, &rot_x(link.alpha_rad))), x_axis);
    wrap_angle(local[1].atan2(local[0]) - link.theta_rad - link.offset)
}

/// Weighted squared distance between joint vectors, to pick the solution nearest the seed.
fn joint_distance(a: &Joints, b: &Joints) -> f64 {
    (0..6)
        .map(|j| {
            let d = a[j] - b[j];
            if j == INSERTION_JOINT {
                (d / INSERTION_WEIGHT_M).powi(2)
            } else {
                d * d
            }
        })
        .sum()
}

impl Psm {
    /// Inverse kinematics: joints that put the tool tip at `target` (base/RCM frame), choosing the
    /// solution nearest `seed` (use the current joints). Exact to ~1e-12 m / rad.
    pub fn inverse(&self, target: &Pose, seed: &Joints) -> Result<Joints, IkError> {
        if !target.is_finite() {
            return Err(IkError::NonFiniteTarget);
        }
        if !seed.iter().all(|v| v.is_finite()) {
            return Err(IkError::NonFiniteSeed);
        }
        let last_frame = mat_mul(&target.rotation, &transpose(&self.tooltip_offset));
        let yaw_axis = column(&last_frame, 2);
        let to_rcm = scale(target.position, -1.0);
        let in_plane = sub(to_rcm, scale(yaw_axis, dot(to_rcm, yaw_axis)));
        let in_plane_length = norm(in_plane);
        if in_plane_length < SINGULAR_LENGTH_M {
            return Err(IkError::Singular("wrist-yaw axis points at the RCM"));
        }
        let toward_rcm = scale(in_plane, 1.0 / in_plane_length);

        let mut best: Option<(f64, Joints)> = None;
        let mut nearest_violation: Option<(f64, LimitViolation)> = None;
        for pitch_link_sign in [1.0, -1.0] {
            for shaft_sign in [1.0, -1.0] {
                let Some(q) = self.candidate(
                    target,
                    &last_frame,
                    toward_rcm,
                    pitch_link_sign,
                    shaft_sign,
                    seed,
                ) else {
                    continue;
                };
                let cost = joint_distance(&q, seed);
                match self.limits.first_violation(&q) {
                    None if best.is_none_or(|(c, _)| cost < c) => best = Some((cost, q)),
                    None => {}
                    Some(v) if nearest_violation.is_none_or(|(c, _)| cost < c) => {
                        nearest_violation = Some((cost, v))
                    }
                    Some(_) => {}
                }
            }
        }
        match (best, nearest_violation) {
            (Some((_, q)), _) => Ok(q),
            (None, Some((_, violation))) => Err(violation.into()),
            (None, None) => Err(IkError::Unreachable),
        }
    }

    /// One sign choice of the closed form; `None` unless it reproduces `target`.
    fn candidate(
        &self,
        target: &Pose,
        last_frame: &Mat3,
        toward_rcm: Vec3,
        pitch_link_sign: f64,
        shaft_sign: f64,
        seed: &Joints,
    ) -> Option<Joints> {
        let links = &self.links;
        let pitch_to_yaw_m = links[5].a_m;
        let wrist_offset_m = links[2].d_m + links[2].offset + links[3].d_m;
        let yaw_axis = column(last_frame, 2);

        let wrist = add(
            target.position,
            scale(toward_rcm, pitch_link_sign * pitch_to_yaw_m),
        );
        let pitch_link = scale(toward_rcm, -pitch_link_sign);
        let wrist_distance = norm(wrist);
        if wrist_distance < SINGULAR_LENGTH_M {
            return None;
        }
        let shaft = scale(wrist, shaft_sign / wrist_distance);
        let mut q: Joints = [0.0; 6];
        q[0] = shaft[0].atan2(-shaft[2]);
        q[1] = -shaft[1].atan2(shaft[0].hypot(shaft[2]));
        q[2] = shaft_sign * wrist_distance - wrist_offset_m;

        let (after_insertion, _) = self.frame_after(&q, 3);
        let pitch_axis = cross(pitch_link, yaw_axis);
        let roll_x_axis = cross(pitch_axis, shaft);
        let roll = revolute_value(&links[3], &after_insertion, roll_x_axis);
        q[3] = self.nearest_turn(roll, 3, seed[3]);

        let (after_roll, _) = self.frame_after(&q, 4);
        q[4] = revolute_value(&links[4], &after_roll, pitch_link);
        let (after_pitch, _) = self.frame_after(&q, 5);
        q[5] = revolute_value(&links[5], &after_pitch, column(last_frame, 0));

        let reached = self.forward(&q);
        let matches = reached.distance_m(target) <= POSITION_TOLERANCE_M
            && reached.angle_to_rad(target) <= ANGLE_TOLERANCE_RAD;
        matches.then_some(q)
    }

    /// Of `angle`, `angle ± 2π`, the one within joint `joint`'s limits nearest `seed` (the wrapped
    /// angle itself when none is within limits).
    fn nearest_turn(&self, angle: f64, joint: usize, seed: f64) -> f64 {
        let (min, max) = (self.limits.min[joint], self.limits.max[joint]);
        [angle, angle + TAU, angle - TAU]
            .into_iter()
            .filter(|a| (min..=max).contains(a))
            .min_by(|a, b| (a - seed).abs().total_cmp(&(b - seed).abs()))
            .unwrap_or(angle)
    }
}
