//! `medlink hifu field|plan|simulate|device`: the HIFU acoustic field, sonication planning and treatment simulation.

use anyhow::Context;
use clap::{Args, Subcommand};
use hifu::bioheat::ThermalSettings;
use hifu::field::FieldSettings;
use hifu::heating::HeatPattern;
use hifu::medium::Medium;
use hifu::plan::{MediumSource, Plan, PlannerSettings, plan_spots};
use hifu::scenario::FibroidScenario;
use hifu::transducer::Bowl;
use hifu::treatment::OarLimits;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum HifuCommand {
    /// Focused-bowl field: O'Neil against the Rayleigh integral; writes field.png and field.json.
    Field(crate::cmd::hifu_field::FieldArgs),
    /// Plan sonications over the lesion of the fibroid scenario (or a label volume); writes a plan JSON.
    Plan(PlanArgs),
    /// Simulate a plan: bioheat and dose, PNG images and a JSON summary.
    Simulate(crate::cmd::hifu_simulate::SimulateArgs),
    /// The simulated HIFU device: commands on stdin (sonicate SPOT [POWER_W SECONDS], stop,
    /// wait SECONDS, wait done, quit), thermometry frames and events as JSON lines on stdout.
    Device(crate::cmd::hifu_device::DeviceArgs),
    /// Modelling studies: grid convergence of one shot and of a plan (1.5-0.5 mm) and the box's
    /// boundaries; progress on stderr, tables (or --json) on stdout.
    Converge(crate::cmd::hifu_study::ConvergeArgs),
    /// Sensitivity of lesion volume and organ peaks to attenuation, absorption, perfusion and
    /// conductivity over their plausible ranges, one at a time.
    Sensitivity(crate::cmd::hifu_study::SensitivityArgs),
}

pub fn run(command: HifuCommand) -> anyhow::Result<()> {
    match command {
        HifuCommand::Field(args) => crate::cmd::hifu_field::run(args),
        HifuCommand::Plan(args) => plan(args),
        HifuCommand::Simulate(args) => crate::cmd::hifu_simulate::run(args),
        HifuCommand::Device(args) => crate::cmd::hifu_device::run(args),
        HifuCommand::Converge(args) => crate::cmd::hifu_study::converge(args),
        HifuCommand::Sensitivity(args) => crate::cmd::hifu_study::sensitivity(args),
    }
}

/// Planning configuration (TOML); every field has a default, so no file is needed.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanConfig {
    pub scenario: FibroidScenario,
    /// A label volume header to plan on instead of the scenario.
    pub volume: Option<String>,
    pub transducer: Bowl,
    pub field: FieldSettings,
    pub thermal: ThermalSettings,
    pub limits: OarLimits,
    pub planner: PlannerSettings,
}

#[derive(Args)]
pub struct PlanArgs {
    /// Planning configuration (TOML); defaults to the 10 cm fibroid scenario.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Grid spacing in mm (overrides the configuration).
    #[arg(long)]
    spacing_mm: Option<f64>,
    /// Fibroid diameter in mm (a sphere; overrides the configuration).
    #[arg(long)]
    fibroid_diameter_mm: Option<f64>,
    /// Where to write the plan.
    #[arg(long, default_value = "hifu-plan.json")]
    out: PathBuf,
    /// Print the plan summary as JSON on stdout.
    #[arg(long)]
    json: bool,
}

fn plan(args: PlanArgs) -> anyhow::Result<()> {
    let mut config: PlanConfig = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
        }
        None => PlanConfig::default(),
    };
    if let Some(spacing) = args.spacing_mm {
        config.scenario.spacing_mm = spacing;
    }
    if let Some(diameter) = args.fibroid_diameter_mm {
        config.scenario.fibroid_semi_axes_mm = [diameter / 2.0; 3];
    }
    let source = match &config.volume {
        Some(header) => MediumSource::Volume {
            header: header.clone(),
        },
        None => MediumSource::Fibroid(config.scenario),
    };
    let (plan, medium) = plan_with(&config, source)?;
    std::fs::write(&args.out, serde_json::to_vec_pretty(&plan)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let slices = plan
        .spots
        .iter()
        .map(|s| s.slice)
        .max()
        .map_or(0, |s| s + 1);
    let summary = serde_json::json!({
        "plan": args.out,
        "spots": plan.spots.len(),
        "slices": slices,
        "planned_time_s": plan.duration_s(),
        "planned_energy_j": plan.spots.iter().map(|s| s.power_w * s.on_s).sum::<f64>(),
        "max_power_w": plan.spots.iter().map(|s| s.power_w).fold(0.0, f64::max),
        "grid": medium.grid.dims,
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "plan written to {}: {}",
            args.out.display(),
            serde_json::to_string_pretty(&summary)?
        );
    }
    Ok(())
}

/// Plans the spots of `config` on the medium of `source`; the plan and that medium.
pub fn plan_with(config: &PlanConfig, source: MediumSource) -> anyhow::Result<(Plan, Medium)> {
    let medium = load_medium(&source)?;
    let pattern = heat_pattern(&config.field, &config.transducer, &medium)?;
    let spots = plan_spots(
        &medium,
        &pattern,
        &config.transducer,
        &config.thermal,
        &config.planner,
    )?;
    let plan = Plan {
        medium: source,
        transducer: config.transducer,
        field: config.field,
        thermal: config.thermal,
        limits: config.limits,
        planner: config.planner,
        spots,
    };
    Ok((plan, medium))
}

/// Builds the scenario or reads the label volume a plan refers to.
pub fn load_medium(source: &MediumSource) -> anyhow::Result<Medium> {
    match source {
        MediumSource::Fibroid(scenario) => Ok(scenario.build()?),
        MediumSource::Volume { header } => {
            let header_path = Path::new(header);
            let header_bytes =
                std::fs::read(header_path).with_context(|| format!("reading {header}"))?;
            let parsed = hifu::volume_file::VolumeHeader::parse(&header_bytes)?;
            let data_path = header_path
                .parent()
                .unwrap_or(Path::new("."))
                .join(&parsed.data);
            let raw = std::fs::read(&data_path)
                .with_context(|| format!("reading {}", data_path.display()))?;
            Ok(hifu::volume_file::decode_volume(&header_bytes, &raw)?)
        }
    }
}

/// The voxel heat pattern, with a progress bar over the Rayleigh integral's rows.
pub fn heat_pattern(
    field: &FieldSettings,
    bowl: &Bowl,
    medium: &Medium,
) -> anyhow::Result<HeatPattern> {
    let bar = progress_bar(0, "Rayleigh field");
    let pattern = field.heat_pattern(bowl, medium.grid.spacing_m, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    Ok(pattern)
}

/// A progress bar on stderr in the house style.
pub fn progress_bar(length: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    let style = ProgressStyle::with_template("{msg:>16} [{bar:40}] {pos}/{len} ({eta}) {prefix}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(message);
    bar
}
