//! Runs a whole plan through a [`Treatment`], spot by spot, reporting progress and the focal trace.

use crate::HifuError;
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
        // Step while the next step ends no later than half a step past the target.
        // Two steps per sweep while both fit (the same results as one by one, less memory traffic).
        while treatment.time_s() + 0.5 * treatment.dt_s() <= until_s {
            let after_one_s = treatment.time_s() + treatment.dt_s();
            if after_one_s + 0.5 * treatment.dt_s() <= until_s {
                let (first_s, first_focal_c) = treatment.step_pair();
                focal_trace.push((first_s as f32, first_focal_c));
            } else {
                treatment.step();
            }
            focal_trace.push((treatment.time_s() as f32, treatment.focal_temperature_c()));
        }
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
