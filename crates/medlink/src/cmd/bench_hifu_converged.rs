//! `medlink bench hifu`'s treatment figure: simulated seconds per wall second of the plan study's
//! treatment (the clinically shaped 3 cm fibroid plan of `medlink hifu converge --only plan`: 415
//! one-second shots, 3 s off between them, 1720 s) at the converged spacing, with multi-rate
//! stepping (ours: the 0.1 s cap of the studies while the beam is on, the explicit stability step
//! while it is off) against the uniform solver the studies use (0.1 s throughout) in the same run,
//! and how far the two results differ (lesion volume, focal peak, bowel).

use hifu::study::{
    StudyCase, StudyFigures, case_treatment, plan_case, relative_change, run_spots, study_table,
};
use hifu::transducer::Bowl;
use std::time::Instant;

/// The spacing whose plan figures (lesion volume, focal peak) are within the 5 % of every
/// finer grid's (mm; the plan study in docs/hifu.md).
pub const CONVERGED_SPACING_MM: f64 = 1.0;

/// What to time: the spacings (the first is the converged one) and how much of the plan.
pub struct ConvergedRun<'a> {
    pub spacings_mm: &'a [f64],
    /// Simulated seconds of the plan (whole spots from the first); `None`: the whole plan.
    pub seconds: Option<f64>,
}

/// One way of stepping at one spacing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SteppingRun {
    pub stepping: &'static str,
    pub dt_beam_on_s: f64,
    /// The step while the beam is off (the beam-on step for uniform stepping).
    pub dt_beam_off_s: f64,
    pub simulated_s: f64,
    pub wall_s: f64,
    pub realtime_ratio: f64,
    pub lesion_volume_mm3: f64,
    pub peak_temperature_c: f32,
    pub bowel_max_c: f32,
}

/// Both ways at one spacing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SpacingRun {
    pub spacing_mm: f64,
    pub grid_cells: usize,
    pub spots: usize,
    pub multi_rate: SteppingRun,
    pub uniform: SteppingRun,
    /// Multi-rate's realtime ratio over the uniform one.
    pub speedup: f64,
    /// |multi-rate − uniform| / uniform.
    pub lesion_volume_change: f64,
    pub peak_temperature_change: f64,
}

/// Runs both ways of stepping at every spacing, in the order given.
pub fn measure(run: &ConvergedRun) -> anyhow::Result<Vec<SpacingRun>> {
    if let Some(seconds) = run.seconds {
        anyhow::ensure!(
            seconds.is_finite() && seconds > 0.0,
            "--converged-seconds must be positive"
        );
    }
    for &spacing_mm in run.spacings_mm {
        anyhow::ensure!(
            spacing_mm.is_finite() && spacing_mm > 0.0,
            "spacing {spacing_mm} mm is not positive"
        );
    }
    let coarsest = run.spacings_mm.iter().copied().fold(1.5, f64::max) * 1e-3;
    let field = hifu::field::FieldSettings::default();
    let table = study_table(&field, &Bowl::default(), coarsest, &|_, _| {});
    let mut out = Vec::new();
    for &spacing_mm in run.spacings_mm {
        let case = stretch(plan_case(spacing_mm, &table)?, run.seconds);
        let uniform = time_case(&case, &table, false)?;
        let multi_rate = time_case(&case, &table, true)?;
        out.push(SpacingRun {
            spacing_mm,
            grid_cells: uniform.1,
            spots: case.spots.len(),
            speedup: multi_rate.0.realtime_ratio / uniform.0.realtime_ratio,
            lesion_volume_change: relative_change(
                multi_rate.0.lesion_volume_mm3,
                uniform.0.lesion_volume_mm3,
            ),
            peak_temperature_change: relative_change(
                f64::from(multi_rate.0.peak_temperature_c),
                f64::from(uniform.0.peak_temperature_c),
            ),
            multi_rate: multi_rate.0,
            uniform: uniform.0,
        });
    }
    Ok(out)
}

/// The first spots of `case` that start within `seconds` (all of them for `None`).
fn stretch(mut case: StudyCase, seconds: Option<f64>) -> StudyCase {
    if let Some(seconds) = seconds {
        let mut elapsed = 0.0;
        case.spots.retain(|spot| {
            let starts = elapsed;
            elapsed += spot.on_s + spot.cool_s;
            starts < seconds
        });
    }
    case
}

/// Runs `case` with or without multi-rate stepping, timing the stepping alone (not the set-up);
/// also the grid's cell count.
fn time_case(
    case: &StudyCase,
    table: &hifu::rayleigh::IntensityTable,
    multi_rate: bool,
) -> anyhow::Result<(SteppingRun, usize)> {
    let mut case = case.clone();
    case.thermal.multi_rate = multi_rate;
    let (mut treatment, foci) = case_treatment(&case, table)?;
    let started = Instant::now();
    let figures: StudyFigures = run_spots(&mut treatment, &case, &foci, &mut |_, _| {})?;
    let wall_s = started.elapsed().as_secs_f64();
    let dt_beam_on_s = treatment.dt_s();
    Ok((
        SteppingRun {
            stepping: if multi_rate { "multi_rate" } else { "uniform" },
            dt_beam_on_s,
            dt_beam_off_s: treatment.off_beam_dt_s().unwrap_or(dt_beam_on_s),
            simulated_s: figures.simulated_s,
            wall_s,
            realtime_ratio: figures.simulated_s / wall_s,
            lesion_volume_mm3: figures.lesion_volume_mm3,
            peak_temperature_c: figures.peak_temperature_c,
            bowel_max_c: figures.bowel_max_c,
        },
        figures.cells,
    ))
}
