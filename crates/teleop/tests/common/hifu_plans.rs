//! HIFU plans for the core tests: the default fibroid scenario and spots the test chooses (the
//! station core checks numbers and the model's identity, never the anatomy).

use hifu::plan::{MediumSource, Plan, PlannerSettings, Spot};
use hifu::scenario::FibroidScenario;

/// A spot at a fixed focus.
pub fn spot(power_w: f64, on_s: f64) -> Spot {
    Spot {
        slice: 0,
        focus_mm: [30.0, 30.0, 60.0],
        power_w,
        on_s,
        cool_s: 2.0,
    }
}

/// A plan on the default fibroid scenario with these spots and planner settings.
pub fn plan_with(spots: Vec<Spot>, planner: PlannerSettings) -> Plan {
    Plan {
        medium: MediumSource::Fibroid(FibroidScenario::default()),
        transducer: Default::default(),
        field: Default::default(),
        thermal: Default::default(),
        limits: Default::default(),
        planner,
        spots,
    }
}

/// The same with the default planner settings.
pub fn plan(spots: Vec<Spot>) -> Plan {
    plan_with(spots, PlannerSettings::default())
}
