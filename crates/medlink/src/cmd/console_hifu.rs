//! `medlink console --hifu PLAN`: the plan read and checked (with its spots' focus voxels when
//! the plan closes the loop on the thermometry), the operator's commands from standard input,
//! and the live text view (a status line with progress bars for the spot and the whole
//! plan, focal and OAR temperatures, energy; a line for each spot started, ended or stopped).

use anyhow::Context;
use console::hifu::{HifuControls, HifuView};
use hifu::plan::Plan;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;
use teleop::hifu::operator::OperatorCommand;

pub fn controls(plan_path: &Path) -> anyhow::Result<HifuControls> {
    let bytes = std::fs::read(plan_path)
        .with_context(|| format!("reading the HIFU plan {}", plan_path.display()))?;
    let plan = Plan::from_json(&bytes)
        .with_context(|| format!("the HIFU plan {}", plan_path.display()))?;
    let terminal = std::io::stdout().is_terminal();
    let foci = match plan.planner.closed_loop {
        Some(_) => Some(foci(&plan)?),
        None => None,
    };
    Ok(HifuControls {
        foci,
        plan,
        commands: Some(super::console::read_commands(OperatorCommand::parse)),
        view: Box::new(move |view| show(view, terminal)),
        view_interval: Duration::from_millis(if terminal { 200 } else { 1000 }),
    })
}

/// On a terminal the status line is redrawn in place; in a pipe or a log it is one line a second.
fn show(view: HifuView<'_>, terminal: bool) {
    let mut out = std::io::stdout().lock();
    let _ = match view {
        HifuView::Status(status) if terminal => write!(out, "\r\x1b[2K{}", status.line()),
        HifuView::Status(status) => writeln!(out, "{}", status.line()),
        HifuView::News(line) if terminal => writeln!(out, "\r\x1b[2Khifu: {line}"),
        HifuView::News(line) => writeln!(out, "hifu: {line}"),
    };
    let _ = out.flush();
}

/// Each spot's focus voxel and the grid spacing (mm), for the closed loop.
fn foci(plan: &Plan) -> anyhow::Result<(Vec<[usize; 3]>, f64)> {
    let grid = super::hifu::load_medium(&plan.medium)?.grid;
    let foci = plan
        .spots
        .iter()
        .map(|spot| Plan::focus_voxel(&grid, spot))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((foci, grid.spacing_m * 1e3))
}
