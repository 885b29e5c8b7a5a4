//! `medlink hifu simulate PLAN`: runs a plan through the bioheat and dose engine with a progress bar,
//! writes PNG slices (peak temperature and dose with the lesion outline), the focal temperature trace
//! and a JSON summary.

use crate::cmd::hifu::{heat_pattern, load_medium, progress_bar};
use crate::cmd::hifu_images::{SliceImage, plot};
use anyhow::Context;
use clap::Args;
use hifu::plan::Plan;
use hifu::simulate::{RunRecord, run_plan, run_plan_closed_loop, treatment_for};
use hifu::tissue::Tissue;
use hifu::treatment::Treatment;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args)]
pub struct SimulateArgs {
    /// The plan JSON written by `medlink hifu plan`.
    plan: PathBuf,
    /// Output folder for the images and summary.json.
    #[arg(long, default_value = "hifu-out")]
    out: PathBuf,
    /// Solver threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Accumulate Arrhenius damage too (Henriques–Moritz, unless the plan names its own law).
    #[arg(long)]
    arrhenius: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("starting the solver threads")?;
    }
    let bytes =
        std::fs::read(&args.plan).with_context(|| format!("reading {}", args.plan.display()))?;
    let mut plan =
        Plan::from_json(&bytes).with_context(|| format!("checking {}", args.plan.display()))?;
    if args.arrhenius && plan.thermal.arrhenius.is_none() {
        plan.thermal.arrhenius = Some(hifu::dose::HENRIQUES_MORITZ);
    }
    let medium = load_medium(&plan.medium)?;
    let pattern = heat_pattern(&plan.field, &plan.transducer, &medium)?;
    let mut treatment = treatment_for(&plan, medium, pattern)?;
    let bar = progress_bar(plan.duration_s().ceil() as u64, "simulated s");
    let started = Instant::now();
    let mut on_progress = |p: hifu::simulate::Progress| {
        bar.set_position(p.simulated_s as u64);
        bar.set_prefix(format!("spot {}/{}", p.spots_done, plan.spots.len()));
    };
    let (record, loop_counts) = match plan.planner.closed_loop {
        Some(settings) => {
            let (record, counts) =
                run_plan_closed_loop(&mut treatment, &plan, settings, &mut on_progress)?;
            (record, Some(counts))
        }
        None => (run_plan(&mut treatment, &plan, &mut on_progress)?, None),
    };
    let sim_wall_s = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    draw(&treatment, &record, &args.out)?;
    let s = &record.summary;
    let summary = serde_json::json!({
        "ablated_fraction": s.ablated_fraction,
        "oar_max_temp_c": s.oar_max_temp_c,
        "oar_max_cem43": s.oar_max_cem43,
        "oar_within_limits": s.oar_within_limits,
        "organs": s.organs,
        "closed_loop": loop_counts,
        "oar_limits": plan.limits,
        "energy_j": s.energy_j,
        "eef_j_per_mm3": s.eef_j_per_mm3,
        "treatment_time_s": s.treatment_time_s,
        "sim_wall_s": sim_wall_s,
        "realtime_ratio": s.treatment_time_s / sim_wall_s,
        "lesion_volume_mm3": s.lesion_volume_mm3,
        "ablated_volume_mm3": s.ablated_volume_mm3,
        "ablated_voxel_count_mm3": s.ablated_voxel_count_mm3,
        "peak_temperature_c": s.peak_temperature_c,
        "arrhenius_damaged_fraction": s.arrhenius_damaged_fraction,
        "arrhenius_damaged_volume_mm3": s.arrhenius_damaged_volume_mm3,
        "spots": plan.spots.len(),
        "grid": treatment.medium().grid.dims,
        "spacing_mm": treatment.medium().grid.spacing_m * 1e3,
        "dt_s": treatment.dt_s(),
        "cell_updates_per_s": treatment.cells_per_step() as f64 * (s.treatment_time_s / treatment.dt_s()) / sim_wall_s,
        "threads": rayon::current_num_threads(),
    });
    std::fs::write(
        args.out.join("summary.json"),
        serde_json::to_vec_pretty(&summary)?,
    )?;
    if args.json {
        println!("{summary}");
    } else {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        println!("images and summary.json in {}", args.out.display());
    }
    Ok(())
}

/// Writes the four slice images and the focal temperature trace.
fn draw(treatment: &Treatment, record: &RunRecord, out: &Path) -> anyhow::Result<()> {
    let grid = treatment.medium().grid;
    let [nx, ny, nz] = grid.dims;
    let peaks = treatment.slice_peaks();
    let labels = treatment.medium().labels();
    let dose = &treatment.state().dose;
    let axial_cells: Vec<usize> = (0..nx * ny)
        .map(|i| grid.index([i % nx, i / nx, peaks.axial_z]))
        .collect();
    let sagittal_cells: Vec<usize> = (0..nx * nz)
        .map(|i| grid.index([i % nx, peaks.sagittal_y, i / nx]))
        .collect();
    let log_of = |field: &[f32], cells: &[usize]| {
        cells
            .iter()
            .map(|&i| field[i].max(1e-6).log10())
            .collect::<Vec<f32>>()
    };
    let lesion = |cells: &[usize]| {
        cells
            .iter()
            .map(|&i| labels[i] == Tissue::Fibroid)
            .collect::<Vec<bool>>()
    };
    let scale = (600 / nx.max(ny)).max(1);
    let temperature_range = (37.0, 90.0);
    let dose_range = (-1.0, f64::from(hifu::dose::NECROSIS_CEM43).log10() + 1.0);
    let mut images = vec![
        (
            "axial_temperature.png",
            nx,
            ny,
            peaks.axial.clone(),
            &axial_cells,
            temperature_range,
        ),
        (
            "sagittal_temperature.png",
            nx,
            nz,
            peaks.sagittal.clone(),
            &sagittal_cells,
            temperature_range,
        ),
        (
            "axial_dose.png",
            nx,
            ny,
            log_of(dose, &axial_cells),
            &axial_cells,
            dose_range,
        ),
        (
            "sagittal_dose.png",
            nx,
            nz,
            log_of(dose, &sagittal_cells),
            &sagittal_cells,
            dose_range,
        ),
    ];
    if let Some(damage) = &treatment.state().damage {
        // log10 of the Arrhenius damage integral from 0.001 to 10; Omega = 1 sits at 3/4 of the scale.
        let damage_range = (-3.0, 1.0);
        images.push((
            "axial_damage.png",
            nx,
            ny,
            log_of(damage, &axial_cells),
            &axial_cells,
            damage_range,
        ));
        images.push((
            "sagittal_damage.png",
            nx,
            nz,
            log_of(damage, &sagittal_cells),
            &sagittal_cells,
            damage_range,
        ));
    }
    for (name, width, height, values, cells, range) in images {
        let mask = lesion(cells);
        SliceImage {
            width,
            height,
            values: &values,
            mask: &mask,
            range,
            scale,
        }
        .draw()
        .save(&out.join(name))?;
    }
    plot(
        &record.focal_trace,
        (30.0, 100.0),
        &[37.0, 43.0, 57.0, 65.0],
    )
    .save(&out.join("focal_temperature.png"))
}
