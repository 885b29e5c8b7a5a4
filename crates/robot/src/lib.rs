//! The surgical arm as a pure core: dVRK PSM kinematics, a simulated servo arm, the console's
//! teleoperation mapping, a tremor filter and the master-pose input sources (scripts, CSV replay).
//!
//! No clocks, no IO: time always comes in as an argument in seconds. Units everywhere are SI:
//! metres for lengths, radians for angles, seconds for time.

pub mod arm;
pub mod filter;
pub mod geometry;
pub mod kinematics;
pub mod script;
pub mod teleop;

pub use arm::SimulatedArm;
pub use filter::{FilterConfig, TremorFilter};
pub use geometry::{Pose, Quaternion};
pub use kinematics::{IkError, JointLimits, Joints, PSM_JOINT_LIMITS, Psm};
pub use script::{CsvReplay, MasterInput, PSM_START_JOINTS, SurgicalScript};
pub use teleop::{TeleopConfig, TeleopMapper};
