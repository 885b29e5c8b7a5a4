//! HIFU ablation core: focused-bowl acoustic field (O'Neil, Rayleigh–Sommerfeld), voxel tissue models,
//! Pennes bioheat with CEM43 dose, a sonication planner and a simulated device. Pure: no clocks, no IO.

pub mod bioheat;
pub mod dose;
mod error;
pub mod grid;
pub mod medium;
pub mod rayleigh;
pub mod tissue;
pub mod transducer;
pub mod volume_file;

pub use error::HifuError;
