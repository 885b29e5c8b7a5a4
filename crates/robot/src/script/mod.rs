//! Sources of master (surgeon-side) poses for the console: scripted surgical motions and the
//! replay of recorded CSV files. Every source answers "where is the master at time `t_s`".
//!
//! Master poses are in the PSM base frame (registration already applied), metres and radians.
//! Time `t_s` is in seconds from the start of the source.

mod csv_replay;
mod surgical;

pub use csv_replay::{CSV_HEADER, CsvError, CsvReplay, QUATERNION_NORM_TOLERANCE, write_csv};
pub use surgical::{MotionKind, SurgicalScript};

use crate::geometry::Pose;
use crate::kinematics::Joints;

/// A good PSM start for teleoperation: yaw and pitch centred, 120 mm inserted (well past the
/// 45 mm RCM safety distance, half-way along the 240 mm stroke), wrist straight. Radians, metres.
pub const PSM_START_JOINTS: Joints = [0.0, 0.0, 0.12, 0.0, 0.0, 0.0];

/// A source of master poses over time.
pub trait MasterInput {
    /// The master pose at `t_s` seconds from the start; `None` before 0, past the end or for a
    /// non-finite time.
    fn pose_at(&self, t_s: f64) -> Option<Pose>;

    /// The master gripper (jaw) opening at `t_s`, radians; `None` where `pose_at` is `None` or the
    /// source has no jaw.
    fn jaw_at(&self, t_s: f64) -> Option<f64>;

    /// Length of the motion, seconds.
    fn duration_s(&self) -> f64;
}
