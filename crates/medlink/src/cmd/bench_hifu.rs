//! `medlink bench hifu`: bioheat cell updates per second of the solver `hifu simulate` uses (two steps
//! per sweep) against this machine's memory bandwidth (a STREAM-triad loop in the same run) and
//! against a NumPy implementation of the same update; the one-step-per-sweep solver is shown too.

use anyhow::Context;
use clap::Args;
use hifu::bioheat::{BioheatModel, Probes, ThermalSettings};
use hifu::grid::Grid;
use hifu::medium::Medium;
use hifu::tissue::Tissue;
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

/// The NumPy baseline, run by the project's Python environment.
const NUMPY_BASELINE: &str = include_str!("bench_hifu.py");

#[derive(Args)]
pub struct BenchHifuArgs {
    /// Cube edge of the bioheat grid (cells).
    #[arg(long, default_value_t = 256)]
    size: usize,
    /// Timed solver steps (the best is reported, as STREAM does).
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
}

pub fn run(args: BenchHifuArgs) -> anyhow::Result<()> {
    let triad_bytes_per_s = triad(args.triad_elements, 5);
    let steps = args.steps.max(1);
    let cells_per_s = bioheat(args.size, steps, Sweep::TwoSteps)?;
    let single_step_cells_per_s = bioheat(args.size, steps, Sweep::OneStep)?;
    let bound = triad_bytes_per_s / BioheatModel::BYTES_PER_CELL_PAIRED as f64;
    let naive_bound = triad_bytes_per_s / BioheatModel::BYTES_PER_CELL as f64;
    let numpy = numpy_cells_per_s(args.size, args.numpy_steps.max(1))?;
    let figures = serde_json::json!({
        "cells_per_s": cells_per_s,
        "triad_bytes_per_s": triad_bytes_per_s,
        "bytes_per_cell": BioheatModel::BYTES_PER_CELL_PAIRED,
        "bandwidth_bound_cells_per_s": bound,
        "bandwidth_fraction": cells_per_s / bound,
        "naive_bytes_per_cell": BioheatModel::BYTES_PER_CELL,
        "naive_bandwidth_fraction": cells_per_s / naive_bound,
        "single_step_cells_per_s": single_step_cells_per_s,
        "single_step_bandwidth_fraction": single_step_cells_per_s / naive_bound,
        "numpy_cells_per_s": numpy,
        "numpy_ratio": cells_per_s / numpy,
        "grid": args.size,
        "threads": rayon::current_num_threads(),
    });
    if args.json {
        println!("{figures}");
    } else {
        println!(
            "bioheat (ours, 2 steps/sweep): {:>8.3} Gcell/s",
            cells_per_s / 1e9
        );
        println!(
            "bioheat (1 step/sweep):        {:>8.3} Gcell/s",
            single_step_cells_per_s / 1e9
        );
        println!(
            "triad bandwidth:  {:>8.2} GB/s -> bound {:.3} Gcell/s at {} B/cell update ({} B one step per sweep)",
            triad_bytes_per_s / 1e9,
            bound / 1e9,
            BioheatModel::BYTES_PER_CELL_PAIRED,
            BioheatModel::BYTES_PER_CELL
        );
        println!(
            "fraction of bound: {:>7.1} % ({:.1} % of the one-step bound; one step per sweep {:.1} %)",
            100.0 * cells_per_s / bound,
            100.0 * cells_per_s / naive_bound,
            100.0 * single_step_cells_per_s / naive_bound
        );
        println!(
            "numpy baseline:   {:>8.4} Gcell/s -> ours is {:.1}x faster",
            numpy / 1e9,
            cells_per_s / numpy
        );
    }
    Ok(())
}

/// Best bytes per second of a[i] = b[i] + s·c[i] over f32 arrays (12 bytes moved per element).
fn triad(elements: usize, repetitions: usize) -> f64 {
    let mut a = vec![0f32; elements];
    let b = vec![1f32; elements];
    let c = vec![2f32; elements];
    let chunk = 1 << 16;
    let mut best = f64::INFINITY;
    for _ in 0..repetitions {
        let start = Instant::now();
        a.par_chunks_mut(chunk)
            .zip(b.par_chunks(chunk))
            .zip(c.par_chunks(chunk))
            .for_each(|((a, b), c)| {
                for i in 0..a.len() {
                    a[i] = b[i] + 3.0 * c[i];
                }
            });
        best = best.min(start.elapsed().as_secs_f64());
        std::hint::black_box(&a);
    }
    (12 * elements) as f64 / best
}

/// How the solver sweeps memory.
#[derive(Clone, Copy, PartialEq)]
enum Sweep {
    OneStep,
    TwoSteps,
}

/// Best interior cell updates per second of the fused Pennes + CEM43 update on a muscle cube.
fn bioheat(size: usize, steps: usize, sweep: Sweep) -> anyhow::Result<f64> {
    let grid = Grid::new([size; 3], 0.5e-3)?;
    let (model, mut state) = BioheatModel::new(
        &Medium::uniform(grid, Tissue::Muscle),
        &ThermalSettings::default(),
    )?;
    let centre = grid.index([size / 2; 3]);
    state.heat(&[(centre as u32, 100.0)], 1.0);
    let mut probes = Probes::new(vec![centre as u32], &grid);
    let mut sweep_once = |state: &mut _| match sweep {
        Sweep::OneStep => model.step(state),
        Sweep::TwoSteps => model.step_pair(state, &[], 0.0, &mut probes),
    };
    let steps_per_sweep = if sweep == Sweep::TwoSteps { 2 } else { 1 };
    let bar = crate::cmd::hifu::progress_bar(steps as u64, "bioheat sweeps");
    sweep_once(&mut state);
    let mut best = f64::INFINITY;
    for _ in 0..steps {
        let start = Instant::now();
        sweep_once(&mut state);
        best = best.min(start.elapsed().as_secs_f64());
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok((steps_per_sweep * model.updated_cells()) as f64 / best)
}

/// Runs the NumPy baseline through the project's Python (MEDLINK_VENV, else <repo>/.venv).
fn numpy_cells_per_s(size: usize, steps: usize) -> anyhow::Result<f64> {
    let venv = std::env::var_os("MEDLINK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv"));
    let python = venv.join("bin/python");
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
