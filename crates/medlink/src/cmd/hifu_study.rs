//! `medlink hifu converge|sensitivity`: the modelling studies of docs/hifu.md (grid convergence of
//! one shot and of a plan, the box's boundaries, one-at-a-time parameter sensitivity), each case
//! run through the hifu core; progress on stderr, one JSON document (or a text table) on stdout.

use clap::{Args, ValueEnum};
use hifu::study::{
    BOUNDARY_BOXES_MM, CONVERGENCE_SPACINGS_MM, StudyCase, StudyFigures, boundary_case, plan_case,
    relative_change, run_case, sensitivity_changes, single_spot_case, study_table,
};
use hifu::transducer::Bowl;
use serde::Serialize;
use std::time::Instant;

/// Which parts of the convergence command to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvergePart {
    Spot,
    Plan,
    Boundary,
}

#[derive(Args)]
pub struct ConvergeArgs {
    /// Parts to run (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<ConvergePart>,
    /// Grids to run the single-shot and plan studies on (mm, coarsest first).
    #[arg(long, value_delimiter = ',', default_values_t = CONVERGENCE_SPACINGS_MM)]
    spacings_mm: Vec<f64>,
    /// Acoustic power of the single shot (W).
    #[arg(long, default_value_t = 300.0)]
    power_w: f64,
    /// Beam-on time of the single shot (s).
    #[arg(long, default_value_t = 1.0)]
    on_s: f64,
    /// Cooling after the shot before the dose is read (s).
    #[arg(long, default_value_t = 30.0)]
    cool_s: f64,
    /// Multi-rate stepping: the 0.1 s cap only while the beam is on, the scheme's own step while
    /// it is off (to compare against the default uniform steps).
    #[arg(long)]
    multi_rate: bool,
    /// Print JSON on stdout instead of text tables.
    #[arg(long)]
    json: bool,
}

/// One case's figures with what distinguishes it.
#[derive(Debug, Serialize)]
pub(crate) struct Row {
    label: String,
    #[serde(flatten)]
    figures: StudyFigures,
    wall_s: f64,
}

#[derive(Debug, Default, Serialize)]
struct ConvergeReport {
    spot: Vec<Row>,
    /// Lesion volume and peak change between the two finest grids (fractions).
    spot_finest_change: Option<FinestChange>,
    plan: Vec<Row>,
    plan_finest_change: Option<FinestChange>,
    boundary: Vec<Row>,
}

#[derive(Debug, Serialize)]
struct FinestChange {
    /// Sub-voxel lesion volume.
    lesion_volume: f64,
    /// Lesion volume counted in whole voxels.
    lesion_voxel_count: f64,
    peak_temperature: f64,
}

pub fn converge(args: ConvergeArgs) -> anyhow::Result<()> {
    let wants = |part| args.only.is_empty() || args.only.contains(&part);
    let coarsest = args.spacings_mm.iter().copied().fold(1.5, f64::max) * 1e-3;
    eprintln!("Rayleigh table (once for every case)...");
    let field = hifu::field::FieldSettings::default();
    let table = study_table(&field, &Bowl::default(), coarsest, &|_, _| {});
    let multi_rate = args.multi_rate;
    let stepping = move |mut case: StudyCase| {
        case.thermal.multi_rate = multi_rate;
        case
    };
    let mut report = ConvergeReport::default();
    if wants(ConvergePart::Spot) {
        let cases = args.spacings_mm.iter().map(|&spacing| {
            (
                format!("{spacing} mm"),
                stepping(single_spot_case(
                    spacing,
                    args.power_w,
                    args.on_s,
                    args.cool_s,
                )),
            )
        });
        report.spot = run_cases("spot", cases, &table)?;
        report.spot_finest_change = finest_change(&report.spot);
    }
    if wants(ConvergePart::Plan) {
        let cases = args
            .spacings_mm
            .iter()
            .map(|&spacing| {
                Ok((
                    format!("{spacing} mm"),
                    stepping(plan_case(spacing, &table)?),
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        report.plan = run_cases("plan", cases.into_iter(), &table)?;
        report.plan_finest_change = finest_change(&report.plan);
    }
    if wants(ConvergePart::Boundary) {
        let cases = BOUNDARY_BOXES_MM.iter().map(|&(lateral, posterior)| {
            (
                format!("lateral {lateral} mm, posterior {posterior} mm"),
                stepping(boundary_case(lateral, posterior)),
            )
        });
        report.boundary = run_cases("boundary", cases, &table)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (name, rows) in [
            ("single shot", &report.spot),
            ("plan", &report.plan),
            ("boundary", &report.boundary),
        ] {
            print_table(name, rows);
        }
    }
    Ok(())
}

/// Runs each case, telling stderr how far it got.
pub(crate) fn run_cases(
    study: &str,
    cases: impl Iterator<Item = (String, StudyCase)>,
    table: &hifu::rayleigh::IntensityTable,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (label, case) in cases {
        eprintln!("{study}: {label} ...");
        let started = Instant::now();
        let mut last_report = Instant::now();
        let figures = run_case(&case, table, &mut |simulated, total| {
            if last_report.elapsed().as_secs_f64() > 10.0 {
                eprintln!("{study}: {label}: {simulated:.0} / {total:.0} s simulated");
                last_report = Instant::now();
            }
        })?;
        let wall_s = started.elapsed().as_secs_f64();
        eprintln!(
            "{study}: {label}: lesion {:.1} mm³ ({:.1} in whole voxels), peak {:.1} °C, skin {:.1} °C, bowel {:.1} °C ({wall_s:.1} s)",
            figures.lesion_volume_mm3,
            figures.lesion_voxel_count_mm3,
            figures.peak_temperature_c,
            figures.skin_max_c,
            figures.bowel_max_c
        );
        rows.push(Row {
            label,
            figures,
            wall_s,
        });
    }
    Ok(rows)
}

/// How much the two finest grids' lesion volume and peak temperature differ.
fn finest_change(rows: &[Row]) -> Option<FinestChange> {
    let mut by_spacing: Vec<&Row> = rows.iter().collect();
    by_spacing.sort_by(|a, b| a.figures.spacing_mm.total_cmp(&b.figures.spacing_mm));
    let [finest, next, ..] = by_spacing[..] else {
        return None;
    };
    Some(FinestChange {
        lesion_volume: relative_change(
            next.figures.lesion_volume_mm3,
            finest.figures.lesion_volume_mm3,
        ),
        lesion_voxel_count: relative_change(
            next.figures.lesion_voxel_count_mm3,
            finest.figures.lesion_voxel_count_mm3,
        ),
        peak_temperature: relative_change(
            f64::from(next.figures.peak_temperature_c),
            f64::from(finest.figures.peak_temperature_c),
        ),
    })
}

pub(crate) fn print_table(name: &str, rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    println!("{name}");
    println!(
        "{:<34} {:>9} {:>7} {:>12} {:>12} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "case",
        "cells",
        "dt s",
        "lesion mm³",
        "voxels mm³",
        "peak °C",
        "skin °C",
        "wall °C",
        "bowel °C",
        "wall s"
    );
    for row in rows {
        let f = &row.figures;
        println!(
            "{:<34} {:>9} {:>7.3} {:>12.1} {:>12.1} {:>8.1} {:>8.2} {:>8.2} {:>8.2} {:>8.1}",
            row.label,
            f.cells,
            f.dt_s,
            f.lesion_volume_mm3,
            f.lesion_voxel_count_mm3,
            f.peak_temperature_c,
            f.skin_max_c,
            f.abdominal_wall_max_c,
            f.bowel_max_c,
            row.wall_s
        );
    }
}

#[derive(Args)]
pub struct SensitivityArgs {
    /// Grid spacing of the plan case (mm).
    #[arg(long, default_value_t = 1.5)]
    spacing_mm: f64,
    /// Print JSON on stdout instead of a text table.
    #[arg(long)]
    json: bool,
}

/// One row per parameter value (one at a time, the others nominal) on the plan case.
pub fn sensitivity(args: SensitivityArgs) -> anyhow::Result<()> {
    eprintln!("Rayleigh table...");
    let field = hifu::field::FieldSettings::default();
    let table = study_table(
        &field,
        &Bowl::default(),
        args.spacing_mm.max(1.5) * 1e-3,
        &|_, _| {},
    );
    let base = plan_case(args.spacing_mm, &table)?;
    let cases = sensitivity_changes().into_iter().map(|(label, change)| {
        let mut case = base.clone();
        case.changes = vec![change];
        (label.to_string(), case)
    });
    let rows = run_cases("sensitivity", cases, &table)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_table("sensitivity (3 cm fibroid, clinically shaped plan)", &rows);
    }
    Ok(())
}
