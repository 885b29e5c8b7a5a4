//! `medlink bench hifu`: bioheat cell updates per second of the solver `hifu simulate` uses (two steps
//! per sweep) against this machine's memory bandwidth (a STREAM-triad loop in the same run) and
//! against a NumPy implementation of the same update; the one-step-per-sweep solver is shown too.
//! The bandwidth bound is the update's: triad bytes per second over the 28 bytes one Pennes + CEM43
//! update streams. Temporal blocking (two steps per sweep, 14 bytes per update) can pass it; the share
//! of the triad bandwidth the two-step sweep itself moves is reported beside it.
//! The triad and both solvers take turns, round by round, so that a slow spell on a shared machine
//! reaches all three alike instead of deciding the ratio. Then the plan study's treatment is timed
//! at the converged spacing with multi-rate stepping against uniform steps
//! (`bench_hifu_converged.rs`).

use crate::cmd::python::venv_python;
use anyhow::Context;
use clap::Args;
use hifu::bioheat::{BioheatModel, BioheatState, Probes, ThermalSettings};
use hifu::grid::Grid;
use hifu::medium::Medium;
use hifu::tissue::Tissue;
use rayon::prelude::*;
use std::time::Instant;

/// The NumPy baseline, run by the project's Python environment.
const NUMPY_BASELINE: &str = include_str!("bench_hifu.py");

/// The smallest triad that takes long enough to time.
const MIN_TRIAD_ELEMENTS: usize = 1 << 12;

#[derive(Args)]
pub struct BenchHifuArgs {
    /// Cube edge of the bioheat grid (cells).
    #[arg(long, default_value_t = 256)]
    size: usize,
    /// Timed rounds: a triad pass, a two-step sweep and a one-step sweep each (the best of each is
    /// reported, as STREAM does).
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Elements per triad array (f32).
    #[arg(long, default_value_t = 1 << 25)]
    triad_elements: usize,
    /// Timed NumPy steps.
    #[arg(long, default_value_t = 3)]
    numpy_steps: usize,
    /// Print the figures as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Grid spacings (mm) at which the plan study's treatment is timed with multi-rate stepping
    /// and with the uniform solver; `converged_realtime_ratio` is multi-rate's at the first one
    /// (default: the converged spacing, 1.0 mm).
    #[arg(long, value_delimiter = ',', default_values_t = vec![crate::cmd::bench_hifu_converged::CONVERGED_SPACING_MM])]
    converged_spacing_mm: Vec<f64>,
    /// Simulated seconds of the plan timed per spacing and way of stepping (whole spots from the
    /// first; default: the whole plan, 1720 s).
    #[arg(long)]
    converged_seconds: Option<f64>,
    /// Skip the treatment timing at the converged spacings.
    #[arg(long)]
    no_converged: bool,
}

pub fn run(args: BenchHifuArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.triad_elements >= MIN_TRIAD_ELEMENTS,
        "--triad-elements {}: the triad needs at least {MIN_TRIAD_ELEMENTS} elements to be timed",
        args.triad_elements
    );
    let [triad_bytes_per_s, cells_per_s, single_step_cells_per_s] =
        interleaved(&args, args.steps.max(1))?;
    let bound = triad_bytes_per_s / BioheatModel::BYTES_PER_CELL as f64;
    let paired_traffic = cells_per_s * BioheatModel::BYTES_PER_CELL_PAIRED as f64;
    let numpy = numpy_cells_per_s(args.size, args.numpy_steps.max(1))?;
    let converged = if args.no_converged {
        Vec::new()
    } else {
        crate::cmd::bench_hifu_converged::measure(
            &crate::cmd::bench_hifu_converged::ConvergedRun {
                spacings_mm: &args.converged_spacing_mm,
                seconds: args.converged_seconds,
            },
        )?
    };
    let converged_run = converged.first();
    let mut figures = serde_json::json!({
        "cells_per_s": cells_per_s,
        "triad_bytes_per_s": triad_bytes_per_s,
        "bytes_per_cell": BioheatModel::BYTES_PER_CELL,
        "bandwidth_bound_cells_per_s": bound,
        "bandwidth_fraction": cells_per_s / bound,
        "single_step_cells_per_s": single_step_cells_per_s,
        "single_step_bandwidth_fraction": single_step_cells_per_s / bound,
        "paired_bytes_per_cell": BioheatModel::BYTES_PER_CELL_PAIRED,
        "paired_traffic_fraction": paired_traffic / triad_bytes_per_s,
        "numpy_cells_per_s": numpy,
        "numpy_ratio": cells_per_s / numpy,
        "grid": args.size,
        "threads": rayon::current_num_threads(),
    });
    if let Some(run) = converged_run {
        figures["converged_realtime_ratio"] = run.multi_rate.realtime_ratio.into();
        figures["converged_baseline_realtime_ratio"] = run.uniform.realtime_ratio.into();
        figures["converged_speedup"] = run.speedup.into();
        figures["converged_spacing_mm"] = run.spacing_mm.into();
        figures["converged"] = serde_json::to_value(&converged)?;
    }
    if args.json {
        println!("{figures}");
    } else {
        for run in &converged {
            println!(
                "plan study treatment at {} mm ({} cells, {} spots, {:.0} s): multi-rate (dt {:.3} s on, {:.3} s off) {:.1}x real time, uniform (dt {:.3} s) {:.1}x -> {:.2}x faster; lesion {:.1} vs {:.1} mm³, peak {:.1} vs {:.1} °C",
                run.spacing_mm,
                run.grid_cells,
                run.spots,
                run.uniform.simulated_s,
                run.multi_rate.dt_beam_on_s,
                run.multi_rate.dt_beam_off_s,
                run.multi_rate.realtime_ratio,
                run.uniform.dt_beam_on_s,
                run.uniform.realtime_ratio,
                run.speedup,
                run.multi_rate.lesion_volume_mm3,
                run.uniform.lesion_volume_mm3,
                run.multi_rate.peak_temperature_c,
                run.uniform.peak_temperature_c,
            );
        }
        println!(
            "bioheat (ours, 2 steps/sweep): {:>8.3} Gcell/s",
            cells_per_s / 1e9
        );
        println!(
            "bioheat (1 step/sweep):        {:>8.3} Gcell/s",
            single_step_cells_per_s / 1e9
        );
        println!(
            "triad bandwidth:  {:>8.2} GB/s -> bound {:.3} Gcell/s at {} B per cell update",
            triad_bytes_per_s / 1e9,
            bound / 1e9,
            BioheatModel::BYTES_PER_CELL,
        );
        println!(
            "fraction of bound: {:>7.1} % (1 step/sweep {:.1} %)",
            100.0 * cells_per_s / bound,
            100.0 * single_step_cells_per_s / bound
        );
        println!(
            "2 steps/sweep stream {} B per update: {:.1} % of the triad bandwidth",
            BioheatModel::BYTES_PER_CELL_PAIRED,
            100.0 * paired_traffic / triad_bytes_per_s
        );
        println!(
            "numpy baseline:   {:>8.4} Gcell/s -> ours is {:.1}x faster",
            numpy / 1e9,
            cells_per_s / numpy
        );
    }
    Ok(())
}

/// Best triad bytes per second and best two-step and one-step cell updates per second over `rounds`
/// rounds, each of which runs one of each.
fn interleaved(args: &BenchHifuArgs, rounds: usize) -> anyhow::Result<[f64; 3]> {
    let mut paired = Solver::new(args.size, Sweep::TwoSteps)?;
    let mut single = Solver::new(args.size, Sweep::OneStep)?;
    let mut triad = Triad::new(args.triad_elements);
    // Untimed first passes: page faults and the first touch of every array.
    triad.rate();
    paired.rate();
    single.rate();
    let bar = crate::cmd::hifu::progress_bar(rounds as u64, "triad and bioheat rounds");
    let mut best = [0f64; 3];
    for _ in 0..rounds {
        let rates = [triad.rate(), paired.rate(), single.rate()];
        for (best, rate) in best.iter_mut().zip(rates) {
            *best = best.max(rate);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(best)
}

/// a[i] = b[i] + s·c[i] over f32 arrays (12 bytes moved per element), on every thread.
struct Triad {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

impl Triad {
    fn new(elements: usize) -> Triad {
        Triad {
            a: vec![0f32; elements],
            b: vec![1f32; elements],
            c: vec![2f32; elements],
        }
    }

    /// Bytes per second of one pass.
    fn rate(&mut self) -> f64 {
        let chunk = 1 << 16;
        let start = Instant::now();
        self.a
            .par_chunks_mut(chunk)
            .zip(self.b.par_chunks(chunk))
            .zip(self.c.par_chunks(chunk))
            .for_each(|((a, b), c)| {
                for i in 0..a.len() {
                    a[i] = b[i] + 3.0 * c[i];
                }
            });
        let seconds = start.elapsed().as_secs_f64();
        std::hint::black_box(&self.a);
        (12 * self.a.len()) as f64 / seconds
    }
}

/// How the solver sweeps memory.
#[derive(Clone, Copy, PartialEq)]
enum Sweep {
    OneStep,
    TwoSteps,
}

/// The fused Pennes + CEM43 update on a muscle cube with a hot voxel at its centre.
struct Solver {
    model: BioheatModel,
    state: BioheatState,
    probes: Probes,
    sweep: Sweep,
}

impl Solver {
    fn new(size: usize, sweep: Sweep) -> anyhow::Result<Solver> {
        let grid = Grid::new([size; 3], 0.5e-3)?;
        let (model, mut state) = BioheatModel::new(
            &Medium::uniform(grid, Tissue::Muscle),
            &ThermalSettings::default(),
        )?;
        let centre = grid.index([size / 2; 3]);
        state.heat(&[(centre as u32, 100.0)], 1.0);
        let probes = Probes::new(vec![centre as u32], &grid);
        Ok(Solver {
            model,
            state,
            probes,
            sweep,
        })
    }

    /// Interior cell updates per second of one sweep.
    fn rate(&mut self) -> f64 {
        let start = Instant::now();
        let steps = match self.sweep {
            Sweep::OneStep => {
                self.model.step(&mut self.state);
                1
            }
            Sweep::TwoSteps => {
                let (state, probes) = (&mut self.state, &mut self.probes);
                self.model.step_pair(state, &[], 0.0, probes);
                2
            }
        };
        (steps * self.model.updated_cells()) as f64 / start.elapsed().as_secs_f64()
    }
}

/// Runs the NumPy baseline through the project's Python ([`venv_python`]).
fn numpy_cells_per_s(size: usize, steps: usize) -> anyhow::Result<f64> {
    let python = venv_python();
    let output = std::process::Command::new(&python)
        .arg("-c")
        .arg(NUMPY_BASELINE)
        .arg(size.to_string())
        .arg(steps.to_string())
        .output()
        .with_context(|| {
            format!(
                "running {} (make it with scripts/setup-python.sh)",
                python.display()
            )
        })?;
    anyhow::ensure!(
        output.status.success(),
        "numpy baseline failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let figures: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("reading the numpy baseline's JSON")?;
    figures["cells_per_s"]
        .as_f64()
        .context("the numpy baseline printed no cells_per_s")
}
