//! `medlink bench hifu`'s treatment figure: simulated seconds per wall second of the fibroid plan on
//! the whole box at the fine spacings of the convergence study, with the ADI scheme and, in the same
//! run, the explicit scheme as the baseline. The spots are the plan's (the default plan, made at its
//! own spacing, or `--plan`), simulated on the finer grid in order from the first; the solver's cost
//! per simulated second does not depend on which spots, so a stretch of the plan gives the ratio
//! of the whole.

use crate::cmd::hifu::{PlanConfig, heat_pattern, load_medium, plan_with};
use anyhow::Context;
use hifu::bioheat::Scheme;
use hifu::heating::HeatPattern;
use hifu::medium::Medium;
use hifu::plan::{MediumSource, Plan};
use hifu::simulate::{run_plan, treatment_for};
use std::path::Path;
use std::time::Instant;

/// What to time: where the plan comes from, the spacings, how much of the plan, the ADI step.
pub struct ConvergedRun<'a> {
    pub plan: Option<&'a Path>,
    pub spacings_mm: &'a [f64],
    pub seconds: f64,
    pub adi_dt_s: f64,
}

/// One scheme's run at one spacing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SchemeRun {
    pub scheme: &'static str,
    pub dt_s: f64,
    pub simulated_s: f64,
    pub wall_s: f64,
    pub realtime_ratio: f64,
    pub peak_temperature_c: f32,
}

/// Both schemes at one spacing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SpacingRun {
    pub spacing_mm: f64,
    pub grid: [usize; 3],
    pub spots: usize,
    pub adi: SchemeRun,
    pub explicit: SchemeRun,
    /// ADI's realtime ratio over the explicit one.
    pub speedup: f64,
}

/// Runs both schemes at every spacing, the finest last.
pub fn measure(run: &ConvergedRun) -> anyhow::Result<Vec<SpacingRun>> {
    anyhow::ensure!(
        run.seconds.is_finite() && run.seconds > 0.0,
        "--converged-seconds must be positive"
    );
    let plan = base_plan(run.plan)?;
    let mut out = Vec::new();
    for &spacing_mm in run.spacings_mm {
        anyhow::ensure!(
            spacing_mm.is_finite() && spacing_mm > 0.0,
            "spacing {spacing_mm} mm is not positive"
        );
        let plan = stretch_at(&plan, spacing_mm, run.seconds)?;
        let medium = load_medium(&plan.medium)?;
        let pattern = heat_pattern(&plan.field, &plan.transducer, &medium)?;
        let grid = medium.grid.dims;
        let on_grid = (&medium, &pattern);
        let adi = time_plan(&plan, on_grid, Scheme::Adi { dt_s: run.adi_dt_s })?;
        let explicit = time_plan(&plan, on_grid, Scheme::Explicit)?;
        out.push(SpacingRun {
            spacing_mm,
            grid,
            spots: plan.spots.len(),
            speedup: adi.realtime_ratio / explicit.realtime_ratio,
            adi,
            explicit,
        });
    }
    Ok(out)
}

/// The plan to time: `--plan`, or the default configuration planned as `medlink hifu plan` does.
fn base_plan(path: Option<&Path>) -> anyhow::Result<Plan> {
    if let Some(path) = path {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        return Plan::from_json(&bytes).with_context(|| format!("checking {}", path.display()));
    }
    let config = PlanConfig::default();
    let source = MediumSource::Fibroid(config.scenario);
    Ok(plan_with(&config, source)?.0)
}

/// The first spots of `plan` that fill `seconds` (at least one), on the scenario at `spacing_mm`,
/// without the final cooling.
fn stretch_at(plan: &Plan, spacing_mm: f64, seconds: f64) -> anyhow::Result<Plan> {
    let MediumSource::Fibroid(mut scenario) = plan.medium.clone() else {
        anyhow::bail!("the plan's medium is a label volume: its spacing cannot be changed");
    };
    scenario.spacing_mm = spacing_mm;
    let mut elapsed = 0.0;
    let spots = plan
        .spots
        .iter()
        .take_while(|spot| {
            let starts = elapsed;
            elapsed += spot.on_s + spot.cool_s;
            starts < seconds
        })
        .copied()
        .collect();
    let mut stretch = Plan {
        medium: MediumSource::Fibroid(scenario),
        spots,
        ..plan.clone()
    };
    stretch.planner.final_cooling_s = 0.0;
    Ok(stretch)
}

/// Simulates `plan` on its medium and heat pattern with `scheme` and times the solver (the set-up
/// is not timed).
fn time_plan(
    plan: &Plan,
    (medium, pattern): (&Medium, &HeatPattern),
    scheme: Scheme,
) -> anyhow::Result<SchemeRun> {
    let plan = Plan {
        thermal: hifu::bioheat::ThermalSettings {
            scheme,
            ..plan.thermal
        },
        ..plan.clone()
    };
    let mut treatment = treatment_for(&plan, medium.clone(), pattern.clone())?;
    let started = Instant::now();
    let record = run_plan(&mut treatment, &plan, &mut |_| {})?;
    let wall_s = started.elapsed().as_secs_f64();
    let simulated_s = treatment.time_s();
    Ok(SchemeRun {
        scheme: match scheme {
            Scheme::Adi { .. } => "adi",
            Scheme::Explicit => "explicit",
        },
        dt_s: treatment.dt_s(),
        simulated_s,
        wall_s,
        realtime_ratio: simulated_s / wall_s,
        peak_temperature_c: record.summary.peak_temperature_c,
    })
}
