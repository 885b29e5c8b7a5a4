//! Runs a whole plan through a [`Treatment`], spot by spot, reporting progress and the focal trace:
//! open loop (every spot its planned on and off time) or closed on the thermometry frames
//! (`closed_loop.rs`: each spot waits until its neighbourhood has cooled, then sonicates until its
//! focus has the target dose).

use crate::HifuError;
use crate::closed_loop::{ClosedLoopSettings, CoolingGate, Decision, SpotController};
use crate::device::thermometry_frame;
use crate::heating::HeatPattern;
use crate::medium::Medium;
use crate::plan::Plan;
use crate::treatment::{Treatment, TreatmentSummary};

/// The treatment a plan describes, on its medium and heat pattern.
pub fn treatment_for(
    plan: &Plan,
    medium: Medium,
    pattern: HeatPattern,
) -> Result<Treatment, HifuError> {
    Treatment::new(medium, plan.transducer, pattern, &plan.thermal, plan.limits)
}

/// The plan's treatment with the solver's time step capped at `max_dt_s` (the device's, so that
/// its supervisor judges the heating at least that often).
pub fn treatment_with_step(
    plan: &Plan,
    medium: Medium,
    pattern: HeatPattern,
    max_dt_s: f64,
) -> Result<Treatment, HifuError> {
    let thermal = crate::bioheat::ThermalSettings {
        max_dt_s: Some(max_dt_s),
        ..plan.thermal
    };
    Treatment::new(medium, plan.transducer, pattern, &thermal, plan.limits)
}

/// What a finished run leaves besides the treatment itself.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// (simulated time s, temperature at the latest focus °C) after every step.
    pub focal_trace: Vec<(f32, f32)>,
    pub summary: TreatmentSummary,
}

/// What a closed-loop run adds: why each spot ended and how long the spots waited to cool.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct LoopCounts {
    pub target_dose: usize,
    pub focal_temperature: usize,
    pub oar_warning: usize,
    pub on_time_elapsed: usize,
    /// Simulated seconds spent waiting behind the cooling gate beyond the planned off time.
    pub waited_s: f64,
    /// Beam-on seconds over all spots.
    pub beam_on_s: f64,
}

/// Progress of a run, in simulated seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub simulated_s: f64,
    pub total_s: f64,
    pub spots_done: usize,
}

/// Sonicates every spot of `plan` in order (on, then cooling), then the final cooling.
pub fn run_plan(
    treatment: &mut Treatment,
    plan: &Plan,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<RunRecord, HifuError> {
    let grid = treatment.medium().grid;
    let total_s = plan.duration_s();
    let mut focal_trace = Vec::new();
    let mut advance = |treatment: &mut Treatment, until_s: f64, spots_done: usize| {
        // Step while the next step ends no later than half a step past the target, two steps per
        // sweep while both fit (the same results as one by one, less memory traffic), long steps
        // while the beam is off when the thermal settings ask for multi-rate stepping.
        treatment.advance_to(until_s, &mut |time_s, focal_c| {
            focal_trace.push((time_s as f32, focal_c));
        });
        on_progress(Progress {
            simulated_s: treatment.time_s(),
            total_s,
            spots_done,
        });
    };
    let mut scheduled_s = treatment.time_s();
    for (k, spot) in plan.spots.iter().enumerate() {
        treatment.sonicate(Plan::focus_voxel(&grid, spot)?, spot.power_w, spot.on_s)?;
        scheduled_s += spot.on_s + spot.cool_s;
        advance(treatment, scheduled_s, k);
    }
    advance(
        treatment,
        scheduled_s + plan.planner.final_cooling_s,
        plan.spots.len(),
    );
    Ok(RunRecord {
        focal_trace,
        summary: treatment.summary(),
    })
}

/// Sonicates every spot of `plan` under the closed loop: before each spot its planned off time,
/// then the cooling gate (frames of its slice after every step); the spot then sonicates at its
/// planned power until the spot controller stops it (frames of its slice after every step), at
/// most its planned on time. The final cooling follows.
pub fn run_plan_closed_loop(
    treatment: &mut Treatment,
    plan: &Plan,
    settings: ClosedLoopSettings,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<(RunRecord, LoopCounts), HifuError> {
    let grid = treatment.medium().grid;
    let spacing_mm = grid.spacing_m * 1e3;
    let total_s = plan.duration_s();
    let mut focal_trace = Vec::new();
    let mut counts = LoopCounts::default();
    let step = |treatment: &mut Treatment, trace: &mut Vec<(f32, f32)>| {
        treatment.step();
        trace.push((treatment.time_s() as f32, treatment.focal_temperature_c()));
    };
    for (k, spot) in plan.spots.iter().enumerate() {
        let focus = Plan::focus_voxel(&grid, spot)?;
        if k > 0 {
            let cool_until = treatment.time_s() + spot.cool_s;
            treatment.advance_to(cool_until, &mut |time_s, focal_c| {
                focal_trace.push((time_s as f32, focal_c));
            });
            let gate = CoolingGate::new(settings, focus, spacing_mm, treatment.time_s());
            let waiting_from = treatment.time_s();
            while !gate.ready(
                &thermometry_frame(treatment, gate.slice_z(), None),
                treatment.time_s(),
            ) {
                step(treatment, &mut focal_trace);
            }
            counts.waited_s += treatment.time_s() - waiting_from;
        }
        treatment.sonicate(focus, spot.power_w, spot.on_s)?;
        let started_s = treatment.time_s();
        let mut controller =
            SpotController::start(settings, focus, spacing_mm, spot.on_s, started_s);
        let mut stopped = false;
        while treatment.is_sonicating() {
            step(treatment, &mut focal_trace);
            let frame = thermometry_frame(treatment, focus[2], Some(k));
            if let Decision::StopSpot { reason } = controller.on_frame(&frame, treatment.time_s()) {
                treatment.stop();
                count_stop(&mut counts, reason);
                stopped = true;
            }
        }
        if !stopped {
            // The sonication ran its planned on time within the last step.
            counts.on_time_elapsed += 1;
        }
        counts.beam_on_s += (treatment.time_s() - started_s).min(spot.on_s);
        on_progress(Progress {
            simulated_s: treatment.time_s(),
            total_s,
            spots_done: k + 1,
        });
    }
    let final_until = treatment.time_s() + plan.planner.final_cooling_s;
    treatment.advance_to(final_until, &mut |time_s, focal_c| {
        focal_trace.push((time_s as f32, focal_c));
    });
    let record = RunRecord {
        focal_trace,
        summary: treatment.summary(),
    };
    Ok((record, counts))
}

fn count_stop(counts: &mut LoopCounts, reason: crate::closed_loop::StopReason) {
    use crate::closed_loop::StopReason;
    match reason {
        StopReason::TargetDose { .. } => counts.target_dose += 1,
        StopReason::FocalTemperature { .. } => counts.focal_temperature += 1,
        StopReason::OarWarning { .. } => counts.oar_warning += 1,
        StopReason::OnTimeElapsed { .. } => counts.on_time_elapsed += 1,
    }
}
