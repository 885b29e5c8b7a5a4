//! Kinematics of the dVRK Patient Side Manipulator (PSM): joint limits, forward kinematics from the
//! modified-DH table, the remote centre of motion (RCM) and the insertion safety gate.
//!
//! Source: dVRK `share/kinematic/PSM.json` + `share/tool/LARGE_NEEDLE_DRIVER_400006.json`
//! (see ../shared/reference/telesurgery.md §1). The base frame's origin is the RCM: the point on
//! the instrument shaft that never moves, where the shaft enters the patient. Lengths in metres,
//! angles in radians.

mod inverse;

use crate::geometry::{Mat3, Pose, Vec3, add, mat_mul, mat_vec, rot_x, rot_z};
use std::f64::consts::FRAC_PI_2;

pub use inverse::IkError;

/// The six PSM joints: outer yaw [rad], outer pitch [rad], insertion [m], tool roll [rad],
/// wrist pitch [rad], wrist yaw [rad].
pub type Joints = [f64; 6];

/// Index of the insertion joint (prismatic, metres) in [`Joints`].
pub const INSERTION_JOINT: usize = 2;

/// Human-readable joint names, in [`Joints`] order.
pub const JOINT_NAMES: [&str; 6] = [
    "outer yaw",
    "outer pitch",
    "insertion",
    "tool roll",
    "wrist pitch",
    "wrist yaw",
];

/// Closed interval of allowed values per joint (radians, metres for insertion).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointLimits {
    pub min: Joints,
    pub max: Joints,
}

/// The dVRK classic PSM limits with the large needle driver (telesurgery.md §1).
pub const PSM_JOINT_LIMITS: JointLimits = JointLimits {
    min: [-1.588, -0.925025, 0.0, -4.53786, -1.39626, -1.39626],
    max: [1.588, 0.925025, 0.24, 4.53786, 1.39626, 1.39626],
};

/// Jaw opening lower limit (−40°), radians.
pub const JAW_MIN_RAD: f64 = -0.698132;
/// Jaw opening upper limit (80°), radians.
pub const JAW_MAX_RAD: f64 = 1.39626;

/// dVRK `PSM::SafeDistanceFromRCM`: below this insertion (metres) no Cartesian control.
pub const SAFE_DISTANCE_FROM_RCM_M: f64 = 0.045;

/// A joint value outside its limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitViolation {
    /// Index into [`Joints`].
    pub joint: usize,
    pub value: f64,
    pub min: f64,
    pub max: f64,
}

impl JointLimits {
    /// True when every joint is finite and within [min, max].
    pub fn contains(&self, q: &Joints) -> bool {
        self.first_violation(q).is_none()
    }

    /// The first joint that is outside its limits or not finite, if any.
    pub fn first_violation(&self, q: &Joints) -> Option<LimitViolation> {
        (0..6)
            .find(|&j| !(q[j] >= self.min[j] && q[j] <= self.max[j]))
            .map(|j| LimitViolation {
                joint: j,
                value: q[j],
                min: self.min[j],
                max: self.max[j],
            })
    }

    /// Each joint clamped into its limits (a NaN joint becomes the middle of its range).
    pub fn clamp(&self, q: &Joints) -> Joints {
        std::array::from_fn(|j| {
            if q[j].is_nan() {
                (self.min[j] + self.max[j]) / 2.0
            } else {
                q[j].clamp(self.min[j], self.max[j])
            }
        })
    }
}

/// How far the instrument is inserted past the RCM, in metres: the insertion joint, as the dVRK
/// measures it for its `SafeDistanceFromRCM` check.
pub fn insertion_depth(q: &Joints) -> f64 {
    q[INSERTION_JOINT]
}

/// True when the instrument is inserted deep enough (≥ 45 mm) for Cartesian (teleoperated) control.
pub fn is_safe_for_cartesian_control(q: &Joints) -> bool {
    insertion_depth(q) >= SAFE_DISTANCE_FROM_RCM_M
}

/// Revolute joints add the joint value to θ, prismatic ones to d.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JointKind {
    Revolute,
    Prismatic,
}

/// One row of a modified (Craig) DH table: `T = Rx(alpha)·Tx(a)·Rz(theta)·Tz(d)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DhLink {
    pub kind: JointKind,
    pub alpha_rad: f64,
    pub a_m: f64,
    pub theta_rad: f64,
    pub d_m: f64,
    /// Added to the joint value (θ for revolute, d for prismatic).
    pub offset: f64,
}

impl DhLink {
    /// The rotation `Rx(alpha)` that comes before the joint's own motion.
    fn alpha_rotation(&self) -> Mat3 {
        rot_x(self.alpha_rad)
    }

    /// `(theta, d)` of this link for joint value `q`.
    fn theta_d(&self, q: f64) -> (f64, f64) {
        match self.kind {
            JointKind::Revolute => (self.theta_rad + q + self.offset, self.d_m),
            JointKind::Prismatic => (self.theta_rad, self.d_m + q + self.offset),
        }
    }

    /// Moves the frame `(rotation, position)` across this link for joint value `q`.
    fn advance(&self, frame: (Mat3, Vec3), q: f64) -> (Mat3, Vec3) {
        let (rotation, position) = frame;
        let (theta, d) = self.theta_d(q);
        let before_joint = mat_mul(&rotation, &self.alpha_rotation());
        let position = add(position, mat_vec(&before_joint, [self.a_m, 0.0, d]));
        (mat_mul(&before_joint, &rot_z(theta)), position)
    }
}

/// The kinematic model of a PSM: its DH table, the tool-tip rotation offset and joint limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Psm {
    links: [DhLink; 6],
    /// Rotation from the last DH frame to the tool-tip frame (`tooltip_offset`, no translation).
    tooltip_offset: Mat3,
    limits: JointLimits,
}

impl Psm {
    /// The dVRK classic PSM with the large needle driver (telesurgery.md §1).
    pub fn dvrk_classic() -> Psm {
        let link = |kind, alpha_rad, a_m, d_m, offset| DhLink {
            kind,
            alpha_rad,
            a_m,
            theta_rad: 0.0,
            d_m,
            offset,
        };
        use JointKind::{Prismatic, Revolute};
        Psm {
            links: [
                link(Revolute, FRAC_PI_2, 0.0, 0.0, FRAC_PI_2),
                link(Revolute, -FRAC_PI_2, 0.0, 0.0, -FRAC_PI_2),
                link(Prismatic, FRAC_PI_2, 0.0, 0.0, -0.4318),
                link(Revolute, 0.0, 0.0, 0.4162, 0.0),
                link(Revolute, -FRAC_PI_2, 0.0, 0.0, -FRAC_PI_2),
                link(Revolute, -FRAC_PI_2, 0.0091, 0.0, -FRAC_PI_2),
            ],
            tooltip_offset: [[0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]],
            limits: PSM_JOINT_LIMITS,
        }
    }

    pub fn links(&self) -> &[DhLink; 6] {
        &self.links
    }

    pub fn limits(&self) -> &JointLimits {
        &self.limits
    }

    pub fn tooltip_offset(&self) -> &Mat3 {
        &self.tooltip_offset
    }

    /// The frame after the first `count` links (0 = base frame), as (rotation, position).
    pub fn frame_after(&self, q: &Joints, count: usize) -> (Mat3, Vec3) {
        self.links.iter().zip(q).take(count).fold(
            (crate::geometry::IDENTITY, [0.0; 3]),
            |frame, (link, &qi)| link.advance(frame, qi),
        )
    }

    /// Forward kinematics: the tool-tip pose in the base (RCM) frame for joints `q`.
    pub fn forward(&self, q: &Joints) -> Pose {
        let (rotation, position) = self.frame_after(q, 6);
        Pose {
            position,
            rotation: mat_mul(&rotation, &self.tooltip_offset),
        }
    }
}

#[cfg(test)]
mod tests;
