//! The simulated HIFU device, ready for the station: it accepts "sonicate spot k at power P for t
//! seconds", advances the bioheat simulation in real or accelerated time as `now` is handed in, and
//! yields thermometry frames (temperature and dose on the axial slice through the focus).
//! Every solver step with the beam on is judged by the HIFU supervisor (`safety::hifu`), which
//! switches the beam off at the first broken rule, before the next step heats anything.
//! Sans-IO: `handle_command(cmd, now)`, `handle_timeout(now)`, `poll_output()`, `poll_timeout()`.

use crate::HifuError;
use crate::grid::Voxel;
use crate::treatment::Treatment;
use safety::hifu::{BeamReading, BeamState, BeamStop, HifuLimits, HifuSupervisor};
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
    /// The operator stops the beam.
    Stop,
    /// The operator has seen a safety stop and its reason; the beam may be asked for again.
    Acknowledge,
    /// The operator's console is alive (renews the dead-man's switch).
    Heartbeat,
}

/// Temperature and dose on the axial slice through the current focus depth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThermometryFrame {
    pub time_s: f64,
    pub slice_z: usize,
    /// Slice size (nx, ny); the maps are x fastest.
    pub dims: [usize; 2],
    /// The grid's isotropic spacing (m), so a viewer can place the slice (voxel (x, y, z) is at
    /// (x, y, z) × spacing in the grid's frame); 0 from a sender that predates the field.
    #[serde(default)]
    pub spacing_m: f64,
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
    SonicationDone {
        spot: usize,
        time_s: f64,
    },
    /// The beam went on or off (with the rule that switched it off), at this simulated time.
    Beam {
        time_s: f64,
        state: String,
        /// The rule's name (`oar_temperature`, `focal_ceiling`, ...), when a rule stopped it.
        rule: Option<String>,
        reason: Option<String>,
    },
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
    /// When the current spot started (simulated s) and how long its plan says.
    spot_started_s: f64,
    planned_s: f64,
    supervisor: HifuSupervisor,
    /// Why the beam was last switched off without a latch (operator stop, end of input).
    off_reason: Option<BeamStop>,
    outputs: VecDeque<DeviceOutput>,
}

impl HifuDevice {
    /// A device over `treatment` that can sonicate the given spot foci; `speed` 1 is real time.
    /// The HIFU supervisor enforces `limits` from time zero of `now`.
    pub fn new(
        treatment: Treatment,
        spots: Vec<Voxel>,
        speed: f64,
        frame_interval_s: f64,
        limits: HifuLimits,
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
            spot_started_s: 0.0,
            planned_s: 0.0,
            supervisor: HifuSupervisor::new(limits, Duration::ZERO),
            off_reason: None,
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
                if self.supervisor.beam_on() {
                    // A new spot replaces the one under way: that one ends here.
                    self.treatment.stop();
                    self.supervisor.spot_done(now);
                    self.finish_spot();
                }
                self.supervisor
                    .request_on(
                        self.treatment.energy_j(),
                        &self.treatment.oar_readings(),
                        now,
                    )
                    .map_err(HifuError::Refused)?;
                if let Err(e) = self.treatment.sonicate(focus, power_w, duration_s) {
                    self.supervisor.spot_done(now);
                    self.report_beam();
                    return Err(e);
                }
                self.current_spot = Some(spot);
                self.spot_started_s = self.treatment.time_s();
                self.planned_s = duration_s;
            }
            DeviceCommand::Stop => self.beam_off(BeamStop::OperatorStop, now),
            DeviceCommand::Acknowledge => {
                self.supervisor
                    .acknowledge(now)
                    .map_err(HifuError::Refused)?;
            }
            DeviceCommand::Heartbeat => self.supervisor.heartbeat(now),
        }
        self.report_beam();
        Ok(())
    }

    /// The device's input ended (the local operator is gone): the beam goes off.
    pub fn input_ended(&mut self, now: Duration) {
        self.handle_timeout(now);
        self.beam_off(BeamStop::InputEnded, now);
        self.report_beam();
    }

    /// The supervisor's state of the beam.
    pub fn beam(&self) -> BeamState {
        self.supervisor.state()
    }

    fn beam_off(&mut self, reason: BeamStop, now: Duration) {
        self.treatment.stop();
        self.off_reason = Some(reason);
        self.supervisor.stop(reason, now);
        self.finish_spot();
    }

    /// Judges the last step; a broken rule switches the beam off before the next step.
    fn supervise(&mut self, now: Duration) {
        if !self.supervisor.beam_on() {
            return;
        }
        if !self.treatment.is_sonicating() {
            // The spot ended as planned.
            self.supervisor.spot_done(now);
            return;
        }
        let oars = self.treatment.oar_readings();
        let reading = BeamReading {
            focal_temp_c: self.treatment.hottest_heated_c(),
            oars: &oars,
            sonicated_s: self.treatment.time_s() - self.spot_started_s,
            planned_s: self.planned_s,
            energy_j: self.treatment.energy_j(),
        };
        if !self.supervisor.check(&reading, now) {
            self.treatment.stop();
            self.finish_spot();
        }
    }

    /// Reports the beam's changes since the last call.
    fn report_beam(&mut self) {
        while let Some(event) = self.supervisor.poll_event() {
            let (state, rule, reason) = match event.state {
                BeamState::On => ("on", None, None),
                BeamState::Off => match self.off_reason.take() {
                    Some(why) => ("off", Some(why.name().to_string()), Some(why.to_string())),
                    None => ("off", None, None),
                },
                BeamState::Stopped(stop) => (
                    "stopped",
                    Some(stop.name().to_string()),
                    Some(stop.to_string()),
                ),
            };
            self.push(DeviceOutput::Beam {
                time_s: self.treatment.time_s(),
                state: state.to_string(),
                rule,
                reason,
            });
        }
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
        if !self.supervisor.tick(now) && self.treatment.is_sonicating() {
            // The operator's heartbeat ran out between two steps.
            self.treatment.stop();
            self.finish_spot();
        }
        self.report_beam();
        for _ in 0..MAX_STEPS_PER_CALL {
            if !behind(self) {
                return;
            }
            self.treatment.step();
            self.supervise(now);
            self.report_beam();
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
        let step = anchor_now + Duration::from_secs_f64(due_s.max(0.0) / self.speed);
        Some(match self.supervisor.poll_timeout() {
            Some(heartbeat) => step.min(heartbeat),
            None => step,
        })
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
        let nz = self.treatment.medium().grid.dims[2];
        let slice_z = self.treatment.latest_focus().map_or(nz / 2, |v| v[2]);
        thermometry_frame(&self.treatment, slice_z, self.current_spot)
    }
}

/// The thermometry frame of axial slice `slice_z` of a treatment now (clamped to the grid).
pub fn thermometry_frame(
    treatment: &Treatment,
    slice_z: usize,
    sonicating_spot: Option<usize>,
) -> ThermometryFrame {
    let grid = treatment.medium().grid;
    let [nx, ny, nz] = grid.dims;
    let slice_z = slice_z.min(nz - 1);
    let range = grid.index([0, 0, slice_z])..grid.index([0, 0, slice_z]) + nx * ny;
    let state = treatment.state();
    ThermometryFrame {
        time_s: treatment.time_s(),
        slice_z,
        dims: [nx, ny],
        spacing_m: grid.spacing_m,
        temperature_c: state.temperature[range.clone()].to_vec(),
        dose_cem43: state.dose[range].to_vec(),
        focal_temperature_c: treatment.focal_temperature_c(),
        oar_max_temp_c: treatment.oar_max_temp_c(),
        sonicating_spot,
    }
}

#[cfg(test)]
mod tests;
