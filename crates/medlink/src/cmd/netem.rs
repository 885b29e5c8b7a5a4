//! `medlink netem`: the UDP impairment relay (`--listen --forward --profile --seed`), `netem
//! profiles` (the named profiles and their sources) and `netem matrix` (the fault matrix in
//! simulated time, printed as the per-profile table of docs/network.md).

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use link::relay::{Relay, RelayConfig, RelayStats};
use netem::probe::{LATE_MS, probe};
use netem::{Direction, NAMED_PROFILES, Profile, named_profile};
use rehearsal::matrix::{Cell, PROCEDURE_S, SEEDS, matrix_profiles, run_matrix};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct NetemArgs {
    #[command(subcommand)]
    command: Option<NetemCommand>,
    #[command(flatten)]
    relay: RelayArgs,
}

#[derive(Subcommand)]
enum NetemCommand {
    /// List the named profiles with their figures and sources, and the forward one-way delays
    /// each gives at 100 packets/s and at the 1 kHz control rate (virtual time, seed 1).
    Profiles {
        /// Simulated seconds of the delay probe per profile and rate.
        #[arg(long, default_value_t = 1000.0)]
        seconds: f64,
    },
    /// Run the fault matrix (every profile x seeds, simulated time) and print the table.
    Matrix(MatrixArgs),
    /// Run the HIFU fault matrix: the remote HIFU procedure over every profile x seeds.
    HifuMatrix(super::netem_hifu::HifuMatrixArgs),
    /// Control latency p99 with and without 20 Mbit/s of bulk frames on one connection under
    /// 5g-embb (the same measurement as `medlink bench link --with-bulk`).
    Bulk {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct RelayArgs {
    /// Address clients send to, e.g. 127.0.0.1:4434.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// The server to forward to, e.g. 127.0.0.1:4433.
    #[arg(long)]
    forward: Option<SocketAddr>,
    /// A named profile (`medlink netem profiles`) or a TOML file.
    #[arg(long, default_value = "5g-embb")]
    profile: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
}

#[derive(Args)]
struct MatrixArgs {
    /// Seeds per profile, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = SEEDS)]
    seeds: Vec<u64>,
    /// Simulated seconds of scripted procedure per cell.
    #[arg(long, default_value_t = PROCEDURE_S)]
    duration: f64,
    /// Print JSON (one object per cell) instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: NetemArgs) -> anyhow::Result<()> {
    match args.command {
        Some(NetemCommand::Profiles { seconds }) => print_profiles(seconds),
        Some(NetemCommand::Matrix(m)) => matrix(&m),
        Some(NetemCommand::HifuMatrix(m)) => super::netem_hifu::run(&m),
        Some(NetemCommand::Bulk { json }) => super::bench_bulk::run_with_bulk(json),
        None => relay(&args.relay),
    }
}

fn relay(args: &RelayArgs) -> anyhow::Result<()> {
    let (Some(listen), Some(forward)) = (args.listen, args.forward) else {
        anyhow::bail!("the relay needs --listen ADDR and --forward ADDR (or a subcommand)");
    };
    let profile = Profile::resolve(&args.profile)?;
    let relay = Relay::start(&RelayConfig {
        listen,
        forward,
        profile,
        seed: args.seed,
    })?;
    println!(
        "netem relay {} -> {} with profile {} (seed {}); Ctrl-C to stop",
        relay.local_addr(),
        forward,
        args.profile,
        args.seed
    );
    let (tx, rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })?;
    let started = std::time::Instant::now();
    let limit = args.duration.map(Duration::from_secs_f64);
    loop {
        let stop = rx.recv_timeout(Duration::from_secs(5)).is_ok();
        let stats = relay.stats();
        print_stats(&stats);
        if stop || limit.is_some_and(|l| started.elapsed() >= l) {
            break;
        }
    }
    relay.stop();
    Ok(())
}

fn print_stats(stats: &RelayStats) {
    for (name, lane) in [("forward", stats.forward), ("back", stats.back)] {
        println!(
            "  {name:7} sent {} delivered {} lost {} cut {} queue-full {} duplicated {} held {}",
            lane.sent,
            lane.delivered,
            lane.lost,
            lane.lost_interrupted,
            lane.dropped_queue_full,
            lane.duplicated,
            lane.held_by_handover
        );
    }
}

fn print_profiles(seconds: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1.0..=10_000.0).contains(&seconds),
        "--seconds must be between 1 and 10000"
    );
    for name in NAMED_PROFILES {
        if let Some(p) = named_profile(name) {
            println!(
                "{name:16} {}\n{:16} source: {}",
                p.description, "", p.source
            );
            let [slow, fast] =
                [100.0, 1000.0].map(|rate| probe(&p, Direction::Forward, rate, seconds, 1));
            println!(
                "{:16} forward one way over {seconds} s simulated (seed 1): 100/s p50 {:.1} p99 \
                 {:.1} ms, 1 kHz p50 {:.1} p99 {:.1} ms; over base + {LATE_MS} ms: {:.2} and \
                 {:.2} episodes/s",
                "",
                slow.p50_ms,
                slow.p99_ms,
                fast.p50_ms,
                fast.p99_ms,
                slow.late_episodes_per_s,
                fast.late_episodes_per_s
            );
        }
    }
    Ok(())
}

fn matrix(args: &MatrixArgs) -> anyhow::Result<()> {
    let cells_total = matrix_profiles()?.len() * args.seeds.len();
    let bar = cells_bar(cells_total)?;
    let cells = run_matrix(&args.seeds, args.duration, |cell| {
        bar.set_message(format!("{} seed {}", cell.report.profile, cell.report.seed));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    if args.json {
        let rows: Vec<serde_json::Value> = cells
            .iter()
            .map(|c| serde_json::json!({"report": c.report, "broken": c.broken}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_table(&cells, args);
    }
    let broken: usize = cells.iter().map(|c| c.broken.len()).sum();
    for c in cells.iter().filter(|c| !c.broken.is_empty()) {
        eprintln!(
            "{} seed {}: {:?}",
            c.report.profile, c.report.seed, c.broken
        );
    }
    anyhow::ensure!(broken == 0, "{broken} safety invariants broken");
    Ok(())
}

/// One row per profile: the seeds' figures pooled (percentiles: the worst seed's).
fn print_table(cells: &[Cell], args: &MatrixArgs) {
    println!(
        "fault matrix: {} s scripted suturing per cell, seeds {:?}, simulated time",
        args.duration, args.seeds
    );
    println!(
        "| profile | one-way p50 (ms) | one-way p99 (ms) | command loss (%) | tracking RMS (mm) | HOLD (ms, total) | HOLDs | re-engagements | stale dropped | invariants |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut names: Vec<&str> = cells.iter().map(|c| c.report.profile.as_str()).collect();
    names.dedup();
    for name in names {
        let rows: Vec<&Cell> = cells.iter().filter(|c| c.report.profile == name).collect();
        let n = rows.len() as f64;
        let max = |f: &dyn Fn(&Cell) -> f64| rows.iter().map(|c| f(c)).fold(0.0, f64::max);
        let sum = |f: &dyn Fn(&Cell) -> f64| rows.iter().map(|c| f(c)).sum::<f64>();
        println!(
            "| {name} | {:.2} | {:.2} | {:.3} | {:.3} | {:.0} | {:.0} | {:.0} | {:.0} | {} |",
            max(&|c| c.report.one_way_us.p50 / 1e3),
            max(&|c| c.report.one_way_us.p99 / 1e3),
            sum(&|c| c.report.command_loss) / n * 100.0,
            max(&|c| c.report.station.tracking_rms_mm),
            sum(&|c| c.report.hold_ms),
            sum(&|c| c.report.holds as f64),
            sum(&|c| c.report.reengagements as f64),
            sum(&|c| {
                c.report
                    .station
                    .commands_dropped
                    .get("stale")
                    .copied()
                    .unwrap_or(0) as f64
            }),
            if rows.iter().all(|c| c.broken.is_empty()) {
                "all hold"
            } else {
                "BROKEN"
            },
        );
    }
}

/// The progress bar of a fault matrix: cells done of `total`, the cell's name.
pub fn cells_bar(total: usize) -> anyhow::Result<ProgressBar> {
    Ok(ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} cells {msg}")
            .context("progress style")?,
    ))
}
