//! HIFU ablation core: focused-bowl acoustic field (O'Neil, Rayleigh–Sommerfeld), voxel tissue models,
//! Pennes bioheat with CEM43 dose, a sonication planner and a simulated device. Pure: no clocks, no IO.

pub mod beam_path;
pub mod bioheat;
pub mod closed_loop;
pub mod device;
pub mod device_script;
pub mod dose;
mod error;
pub mod field;
pub mod grid;
pub mod heating;
pub mod lesion_volume;
pub mod medium;
pub mod plan;
pub mod rayleigh;
pub mod scenario;
pub mod simulate;
pub mod study;
#[cfg(test)]
mod testing;
pub mod tissue;
pub mod transducer;
pub mod treatment;
pub mod volume_file;

pub use error::HifuError;
