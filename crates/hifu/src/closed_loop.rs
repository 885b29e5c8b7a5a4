//! Closing the loop on the thermometry frames: when to stop a spot and when the next one may
//! start. Both are pure functions of the frames the device (or the station, over the link)
//! streams, with time passed in, so the same logic runs in the simulator and at the console:
//! - [`SpotController::on_frame`] stops a spot once its cell has the target dose (the lowest CEM43
//!   on the focal slice within the cell's radius of the focus, as volumetric feedback cells do), or
//!   when the focus nears the supervisor's ceiling, or when an organ
//!   at risk warms to a new high over its warning level during the spot, or when the planned
//!   on-time is up;
//! - [`CoolingGate::ready`] lets the next spot start once the hottest voxel of its neighbourhood
//!   on its slice has cooled below a threshold (or the longest wait has passed).

use crate::device::ThermometryFrame;
use serde::{Deserialize, Serialize};

/// The closed loop's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClosedLoopSettings {
    /// Stop a spot once every voxel of its cell has this dose (CEM43 minutes).
    pub target_cem43: f32,
    /// Radius of a spot's cell on the focal slice (mm): the planner's spot spacing over √3 covers
    /// its hexagonal lattice; 0 is the focal voxel alone.
    pub cell_radius_mm: f64,
    /// Stop a spot when the focus passes this (°C): a margin under the supervisor's ceiling, so the
    /// loop, not a safety stop, ends the spot.
    pub focal_stop_c: f32,
    /// Stop a spot when an organ at risk reaches a new high over this during it (°C): a margin
    /// under the supervisor's limit.
    pub oar_warning_c: f32,
    /// The next spot waits until its neighbourhood is below this (°C).
    pub cooled_below_c: f32,
    /// Radius of the neighbourhood the cooling gate reads (mm).
    pub neighbourhood_mm: f64,
    /// The gate opens after this long whatever the temperature (s).
    pub max_wait_s: f64,
}

impl Default for ClosedLoopSettings {
    fn default() -> Self {
        Self {
            target_cem43: 240.0,
            cell_radius_mm: 2.0,
            focal_stop_c: 85.0,
            oar_warning_c: 43.0,
            cooled_below_c: 42.0,
            neighbourhood_mm: 4.0,
            max_wait_s: 120.0,
        }
    }
}

/// Why the loop ends a spot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum StopReason {
    /// The spot's cell has its target dose (the lowest dose in it).
    TargetDose { cem43: f32 },
    /// The focus neared the ceiling.
    FocalTemperature { temp_c: f32 },
    /// An organ at risk warmed to a new high over its warning level during the spot.
    OarWarning { temp_c: f32 },
    /// The planned on-time is up.
    OnTimeElapsed { on_s: f64 },
}

/// What to do after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Continue,
    StopSpot { reason: StopReason },
}

/// The loop over one spot.
#[derive(Debug, Clone)]
pub struct SpotController {
    settings: ClosedLoopSettings,
    /// The focus in the frame's slice (x, y) and the slice's depth index.
    focus: [usize; 3],
    spacing_mm: f64,
    started_s: f64,
    planned_on_s: f64,
    /// The organs-at-risk peak the frames showed when the spot started.
    oar_at_start_c: Option<f32>,
}

impl SpotController {
    /// The loop for a spot at voxel `focus` of a grid of `spacing_mm` that started at `now_s` and
    /// may sonicate `planned_on_s`.
    pub fn start(
        settings: ClosedLoopSettings,
        focus: [usize; 3],
        spacing_mm: f64,
        planned_on_s: f64,
        now_s: f64,
    ) -> SpotController {
        SpotController {
            settings,
            focus,
            spacing_mm,
            started_s: now_s,
            planned_on_s,
            oar_at_start_c: None,
        }
    }

    /// Judges a frame at `now_s`. A frame of another slice only counts for its focal temperature
    /// and organs at risk (the focus's dose is not on it).
    pub fn on_frame(&mut self, frame: &ThermometryFrame, now_s: f64) -> Decision {
        let s = self.settings;
        let oar_at_start = *self.oar_at_start_c.get_or_insert(frame.oar_max_temp_c);
        let stop = |reason| Decision::StopSpot { reason };
        if let Some(cem43) = self.cell_dose(frame)
            && cem43 >= s.target_cem43
        {
            return stop(StopReason::TargetDose { cem43 });
        }
        // NaN (an unreadable focus or organ) stops the spot too.
        let focal = frame.focal_temperature_c;
        if focal.is_nan() || focal >= s.focal_stop_c {
            return stop(StopReason::FocalTemperature { temp_c: focal });
        }
        let oar = frame.oar_max_temp_c;
        if oar.is_nan() || (oar >= s.oar_warning_c && oar > oar_at_start) {
            return stop(StopReason::OarWarning { temp_c: oar });
        }
        if now_s - self.started_s >= self.planned_on_s {
            return stop(StopReason::OnTimeElapsed {
                on_s: self.planned_on_s,
            });
        }
        Decision::Continue
    }

    /// The lowest dose in the spot's cell, when the frame shows its slice.
    fn cell_dose(&self, frame: &ThermometryFrame) -> Option<f32> {
        if frame.slice_z != self.focus[2] {
            return None;
        }
        let cell = disc(
            frame,
            self.focus,
            self.settings.cell_radius_mm,
            self.spacing_mm,
        );
        cell.map(|i| frame.dose_cem43.get(i).copied())
            .try_fold(f32::INFINITY, |low, dose| dose.map(|d| low.min(d)))
            .filter(|low| low.is_finite())
    }
}

/// Whether the next spot may start.
#[derive(Debug, Clone)]
pub struct CoolingGate {
    settings: ClosedLoopSettings,
    next_focus: [usize; 3],
    spacing_mm: f64,
    since_s: f64,
}

impl CoolingGate {
    /// A gate for the spot at voxel `next_focus` on a grid of `spacing_mm`, waiting since `now_s`.
    pub fn new(
        settings: ClosedLoopSettings,
        next_focus: [usize; 3],
        spacing_mm: f64,
        now_s: f64,
    ) -> CoolingGate {
        CoolingGate {
            settings,
            next_focus,
            spacing_mm,
            since_s: now_s,
        }
    }

    /// The slice (depth index) the gate needs frames of.
    pub fn slice_z(&self) -> usize {
        self.next_focus[2]
    }

    /// Whether the next spot may start at `now_s`, given a frame of its slice. A frame of another
    /// slice tells nothing: only the longest wait opens the gate then.
    pub fn ready(&self, frame: &ThermometryFrame, now_s: f64) -> bool {
        if now_s - self.since_s >= self.settings.max_wait_s {
            return true;
        }
        if frame.slice_z != self.next_focus[2] {
            return false;
        }
        self.neighbourhood_max_c(frame)
            .is_some_and(|hottest| hottest < self.settings.cooled_below_c)
    }

    /// The hottest voxel of the frame within the neighbourhood of the next focus.
    fn neighbourhood_max_c(&self, frame: &ThermometryFrame) -> Option<f32> {
        let around = disc(
            frame,
            self.next_focus,
            self.settings.neighbourhood_mm,
            self.spacing_mm,
        );
        let mut hottest: Option<f32> = None;
        for i in around {
            let t = *frame.temperature_c.get(i)?;
            // NaN keeps the gate shut.
            hottest = Some(match hottest {
                Some(h) if t.is_nan() || h.is_nan() => f32::NAN,
                Some(h) => h.max(t),
                None => t,
            });
        }
        hottest.filter(|h| !h.is_nan())
    }
}

/// Indices into a frame's maps of the voxels within `radius_mm` of `centre` (x, y) on its slice.
fn disc(
    frame: &ThermometryFrame,
    centre: [usize; 3],
    radius_mm: f64,
    spacing_mm: f64,
) -> impl Iterator<Item = usize> {
    let [nx, ny] = frame.dims;
    let [fx, fy, _] = centre;
    let reach = (radius_mm.max(0.0) / spacing_mm).floor() as usize;
    let ys = fy.saturating_sub(reach)..(fy + reach + 1).min(ny);
    ys.flat_map(move |y| {
        (fx.saturating_sub(reach)..(fx + reach + 1).min(nx)).filter_map(move |x| {
            let (dx, dy) = (x.abs_diff(fx) as f64, y.abs_diff(fy) as f64);
            (dx.hypot(dy) * spacing_mm <= radius_mm + 1e-9).then_some(y * nx + x)
        })
    })
}

#[cfg(test)]
mod tests;
