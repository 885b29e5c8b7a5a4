//! `medlink netem hifu-matrix`: the HIFU fault matrix (every matrix profile x seeds, the remote
//! HIFU procedure in simulated time) as a table or JSON; fails when a cell breaks an invariant.

use clap::Args;
use rehearsal::hifu::{FRAME_S, HifuCellReport, HifuFixture, broken_lines, run_hifu_matrix};
use rehearsal::matrix::{SEEDS, matrix_profiles};

#[derive(Args)]
pub struct HifuMatrixArgs {
    /// Seeds per profile, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = SEEDS)]
    seeds: Vec<u64>,
    /// Print JSON (one object per cell) instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &HifuMatrixArgs) -> anyhow::Result<()> {
    let fixture = HifuFixture::small()?;
    let total = matrix_profiles()?.len() * args.seeds.len();
    let bar = super::netem::cells_bar(total)?;
    let cells = run_hifu_matrix(&fixture, &args.seeds, |cell| {
        bar.set_message(format!("{} seed {}", cell.profile, cell.seed));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    if args.json {
        let rows: Vec<serde_json::Value> = cells
            .iter()
            .map(|c| serde_json::json!({"report": c, "broken": c.broken()}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_table(&cells, &fixture, &args.seeds);
    }
    let broken = broken_lines(&cells);
    for line in &broken {
        eprintln!("{line}");
    }
    anyhow::ensure!(
        broken.is_empty(),
        "{} HIFU safety invariants broken",
        broken.len()
    );
    Ok(())
}

/// One row per profile, the worst seed's figures.
fn print_table(cells: &[HifuCellReport], fixture: &HifuFixture, seeds: &[u64]) {
    println!(
        "HIFU fault matrix: 6 spots x 2 s at 150 W, OAR limit {} °C (low on purpose), survival {} s, frame {FRAME_S} s, seeds {seeds:?}, simulated time",
        fixture.oar_limit_c,
        cells.first().map_or(0.0, |c| c.survival_s)
    );
    println!(
        "| profile | spots complete | beam on (s) | longest beam-on silence (s) | OAR over limit (°C) | one frame's heating (°C) | OAR stops | heartbeat stops | edit refused | invariants |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut names: Vec<&str> = cells.iter().map(|c| c.profile.as_str()).collect();
    names.dedup();
    for name in names {
        let rows: Vec<&HifuCellReport> = cells.iter().filter(|c| c.profile == name).collect();
        let max =
            |f: &dyn Fn(&HifuCellReport) -> f64| rows.iter().map(|c| f(c)).fold(0.0, f64::max);
        let min = |f: &dyn Fn(&HifuCellReport) -> f64| {
            rows.iter().map(|c| f(c)).fold(f64::INFINITY, f64::min)
        };
        let count = |rule: &str| -> usize {
            rows.iter()
                .map(|c| c.stops.iter().filter(|s| *s == rule).count())
                .sum()
        };
        let broken: usize = rows.iter().map(|c| c.broken().len()).sum();
        println!(
            "| {name} | {:.0} | {:.1} | {:.3} | {:.3} | {:.3} | {} | {} | {} | {} |",
            min(&|c| c.spots_complete as f64),
            min(&|c| c.beam_on_s),
            max(&|c| c.max_silence_with_beam_on_s),
            max(&|c| f64::from(c.oar_overshoot_c)),
            max(&|c| f64::from(c.max_oar_rise_per_frame_c)),
            count("oar_temperature"),
            count("heartbeat_lost"),
            if rows.iter().all(|c| c.edit_refused) {
                "yes"
            } else {
                "no"
            },
            if broken == 0 {
                "held".to_string()
            } else {
                format!("{broken} broken")
            }
        );
    }
}
