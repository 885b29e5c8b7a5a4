//! Small fixtures shared by the crate's tests: a reduced fibroid scenario and a coarse field.

use crate::field::FieldSettings;
use crate::heating::HeatPattern;
use crate::medium::Medium;
use crate::plan::{MediumSource, Plan, PlannerSettings, plan_spots};
use crate::scenario::FibroidScenario;
use crate::transducer::Bowl;

/// A 2 cm fibroid with bowel 15 mm behind it, on the default 1.5 mm grid, in a tight box (10 mm
/// lateral margin, nothing behind the bowel) that keeps debug-mode tests quick.
pub fn small_scenario() -> FibroidScenario {
    FibroidScenario {
        fibroid_semi_axes_mm: [10.0; 3],
        lateral_margin_mm: 10.0,
        posterior_mm: 0.0,
        ..FibroidScenario::default()
    }
}

/// A coarser field sampling that keeps debug-mode tests quick.
pub fn coarse_field() -> FieldSettings {
    FieldSettings {
        patches_per_wavelength: 2.0,
        table_dr_mm: 0.3,
        table_dz_mm: 0.75,
        subsamples: 3,
        ..FieldSettings::default()
    }
}

/// The small scenario's medium, heat pattern and plan.
pub fn small_plan() -> (Medium, HeatPattern, Plan) {
    let scenario = small_scenario();
    let medium = scenario.build().unwrap();
    let bowl = Bowl::default();
    let field = coarse_field();
    let pattern = field.heat_pattern(&bowl, medium.grid.spacing_m, &|_, _| {});
    let planner = PlannerSettings::default();
    let thermal = Default::default();
    let spots = plan_spots(&medium, &pattern, &bowl, &thermal, &planner).unwrap();
    let plan = Plan {
        medium: MediumSource::Fibroid(scenario),
        transducer: bowl,
        field,
        thermal,
        limits: Default::default(),
        planner,
        spots,
    };
    (medium, pattern, plan)
}
