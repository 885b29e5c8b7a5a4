//! The simulated HIFU device, ready for the station: it accepts "sonicate spot k at power P for t
//! seconds", advances the bioheat simulation in real or accelerated time as `now` is handed in, and
//! yields thermometry frames (temperature and dose on the axial slice through the focus).
//! Sans-IO: `handle_command(cmd, now)`, `handle_timeout(now)`, `poll_output()`, `poll_timeout()`.

use crate::HifuError;
use crate::grid::Voxel;
use crate::treatment::Treatment;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// Frames kept for a consumer that polls late; older ones are dropped (the latest wins).
const MAX_QUEUED_FRAMES: usize = 32;

/// Solver steps one call may take. When the simulation cannot keep the pace asked for, it runs as
/// fast as it can in slices of this many steps and lets the lag go instead of owing it, so that a
/// command is taken between two slices and applies at the simulated time reached.
const MAX_STEPS_PER_CALL: usize = 16;

/// What the device can be asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceCommand {
    Sonicate {
        spot: usize,
        power_w: f64,
        duration_s: f64,
    },
    Stop,
}

/// Temperature and dose on the axial slice through the current focus depth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThermometryFrame {
    pub time_s: f64,
    pub slice_z: usize,
    /// Slice size (nx, ny); the maps are x fastest.
    pub dims: [usize; 2],
    pub temperature_c: Vec<f32>,
    pub dose_cem43: Vec<f32>,
    pub focal_temperature_c: f32,
    pub oar_max_temp_c: f32,
    pub sonicating_spot: Option<usize>,
}

/// What the device reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceOutput {
    Frame(ThermometryFrame),
    SonicationDone { spot: usize, time_s: f64 },
}

/// A simulated transducer and patient; `speed` simulated seconds pass per second of `now`.
pub struct HifuDevice {
    treatment: Treatment,
    spots: Vec<Voxel>,
    speed: f64,
    frame_interval_s: f64,
    /// (now, simulated time) when the pace was last anchored.
    anchor: Option<(Duration, f64)>,
    next_frame_s: f64,
    current_spot: Option<usize>,
    outputs: VecDeque<DeviceOutput>,
}

impl HifuDevice {
    /// A device over `treatment` that can sonicate the given spot foci; `speed` 1 is real time.
    pub fn new(
        treatment: Treatment,
        spots: Vec<Voxel>,
        speed: f64,
        frame_interval_s: f64,
    ) -> Result<HifuDevice, HifuError> {
        if !(speed.is_finite()
            && speed > 0.0
            && frame_interval_s.is_finite()
            && frame_interval_s > 0.0)
        {
            return Err(HifuError::Plan(format!(
                "speed {speed} and frame interval {frame_interval_s} s must be positive"
            )));
        }
        let next_frame_s = treatment.time_s();
        Ok(HifuDevice {
            treatment,
            spots,
            speed,
            frame_interval_s,
            anchor: None,
            next_frame_s,
            current_spot: None,
            outputs: VecDeque::new(),
        })
    }

    /// Applies a command at `now` (after catching the simulation up to `now`).
    pub fn handle_command(
        &mut self,
        command: DeviceCommand,
        now: Duration,
    ) -> Result<(), HifuError> {
        self.handle_timeout(now);
        match command {
            DeviceCommand::Sonicate {
                spot,
                power_w,
                duration_s,
            } => {
                let focus = *self.spots.get(spot).ok_or(HifuError::NoSuchSpot {
                    spot,
                    count: self.spots.len(),
                })?;
                self.treatment.sonicate(focus, power_w, duration_s)?;
                self.current_spot = Some(spot);
            }
            DeviceCommand::Stop => {
                self.treatment.stop();
                self.finish_spot();
            }
        }
        Ok(())
    }

    /// Advances the simulation to the simulated time that corresponds to `now`, by at most
    /// `MAX_STEPS_PER_CALL` steps; a device still behind then keeps its pace from where it got to.
    pub fn handle_timeout(&mut self, now: Duration) {
        let (anchor_now, anchor_sim) = *self.anchor.get_or_insert((now, self.treatment.time_s()));
        let Some(elapsed) = now.checked_sub(anchor_now) else {
            return;
        };
        let target_s = anchor_sim + elapsed.as_secs_f64() * self.speed;
        let behind = |device: &HifuDevice| {
            device.treatment.time_s() + device.treatment.dt_s() <= target_s + 1e-9
        };
        for _ in 0..MAX_STEPS_PER_CALL {
            if !behind(self) {
                return;
            }
            self.treatment.step();
            if self.current_spot.is_some() && !self.treatment.is_sonicating() {
                self.finish_spot();
            }
            if self.treatment.time_s() >= self.next_frame_s {
                self.push(DeviceOutput::Frame(self.frame()));
                self.next_frame_s += self.frame_interval_s;
            }
        }
        if behind(self) {
            self.anchor = Some((now, self.treatment.time_s()));
        }
    }

    /// When the next solver step is due, as a `now` value.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let (anchor_now, anchor_sim) = self.anchor?;
        let due_s = self.treatment.time_s() + self.treatment.dt_s() - anchor_sim;
        Some(anchor_now + Duration::from_secs_f64(due_s.max(0.0) / self.speed))
    }

    pub fn poll_output(&mut self) -> Option<DeviceOutput> {
        self.outputs.pop_front()
    }

    pub fn treatment(&self) -> &Treatment {
        &self.treatment
    }

    fn finish_spot(&mut self) {
        if let Some(spot) = self.current_spot.take() {
            self.push(DeviceOutput::SonicationDone {
                spot,
                time_s: self.treatment.time_s(),
            });
        }
    }

    fn push(&mut self, output: DeviceOutput) {
        let full = self.outputs.len() >= MAX_QUEUED_FRAMES;
        if let Some(oldest) = self
            .outputs
            .iter()
            .position(|o| matches!(o, DeviceOutput::Frame(_)))
            .filter(|_| full)
        {
            self.outputs.remove(oldest);
        }
        self.outputs.push_back(output);
    }

    /// The thermometry frame of the axial slice through the current (or latest) focus; the middle
    /// slice before any sonication.
    fn frame(&self) -> ThermometryFrame {
        let grid = self.treatment.medium().grid;
        let [nx, ny, nz] = grid.dims;
        let slice_z = self.treatment.latest_focus().map_or(nz / 2, |v| v[2]);
        let range = grid.index([0, 0, slice_z])..grid.index([0, 0, slice_z]) + nx * ny;
        let state = self.treatment.state();
        ThermometryFrame {
            time_s: self.treatment.time_s(),
            slice_z,
            dims: [nx, ny],
            temperature_c: state.temperature[range.clone()].to_vec(),
            dose_cem43: state.dose[range].to_vec(),
            focal_temperature_c: self.treatment.focal_temperature_c(),
            oar_max_temp_c: self.treatment.oar_max_temp_c(),
            sonicating_spot: self.current_spot,
        }
    }
}

#[cfg(test)]
mod tests;
