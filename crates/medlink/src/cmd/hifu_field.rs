//! `medlink hifu field`: the bowl's focal field by O'Neil and by the Rayleigh integral, compared.

use crate::cmd::hifu_images::SliceImage;
use anyhow::Context;
use clap::Args;
use hifu::field::FieldSettings;
use hifu::rayleigh::RayleighSource;
use hifu::transducer::{Bowl, WATER};
use std::path::PathBuf;

#[derive(Args)]
pub struct FieldArgs {
    /// Acoustic power in W.
    #[arg(long, default_value_t = 400.0)]
    power_w: f64,
    /// Frequency in MHz.
    #[arg(long, default_value_t = 0.8)]
    frequency_mhz: f64,
    /// Bowl patches per wavelength in the Rayleigh integral.
    #[arg(long, default_value_t = 4.0)]
    patches_per_wavelength: f64,
    /// Output folder for field.png and field.json.
    #[arg(long, default_value = "hifu-field")]
    out: PathBuf,
    /// Print the figures as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Position and value of the largest of `f` over `count` samples from `start` by `step`.
fn peak(f: impl Fn(f64) -> f64 + Sync, start: f64, step: f64, count: usize) -> (f64, f64) {
    use rayon::prelude::*;
    (0..count)
        .into_par_iter()
        .map(|i| start + i as f64 * step)
        .map(|x| (x, f(x)))
        .reduce(|| (start, f64::MIN), |a, b| if b.1 > a.1 { b } else { a })
}

/// Full width (m) where `f` stays at or above `level`, scanning from `start` by `step`.
fn width_above(f: impl Fn(f64) -> f64, level: f64, start: f64, step: f64, count: usize) -> f64 {
    let above: Vec<f64> = (0..count)
        .map(|i| start + i as f64 * step)
        .filter(|&x| f(x) >= level)
        .collect();
    above
        .last()
        .zip(above.first())
        .map_or(0.0, |(last, first)| last - first)
}

pub fn run(args: FieldArgs) -> anyhow::Result<()> {
    let bowl = Bowl {
        power_w: args.power_w,
        frequency_hz: args.frequency_mhz * 1e6,
        ..Bowl::default()
    };
    let source = RayleighSource::new(&bowl, WATER, args.patches_per_wavelength);
    let focus = bowl.radius_of_curvature_m;
    let (start, step, count) = (focus - 0.02, 0.05e-3, 801);
    let (z_oneil, p_oneil) = peak(|z| bowl.oneil_axial_pressure(WATER, z), start, step, count);
    let (z_rayleigh, p_rayleigh) = peak(|z| source.pressure([0.0, 0.0, z]), start, step, count);
    let lateral = |r: f64| source.pressure([r, 0.0, z_rayleigh]);
    let half_amplitude = p_rayleigh / 2.0;
    let lateral_6db = 2.0 * width_above(lateral, half_amplitude, 0.0, 0.01e-3, 300);
    let axial_6db = width_above(
        |z| source.pressure([0.0, 0.0, z]),
        half_amplitude,
        focus - 0.01,
        0.05e-3,
        401,
    );
    let focal_intensity = p_rayleigh.powi(2) / (2.0 * WATER.density * WATER.sound_speed);
    let figures = serde_json::json!({
        "power_w": bowl.power_w,
        "frequency_hz": bowl.frequency_hz,
        "patches": source.patch_count(),
        "focal_gain_kh": bowl.focal_gain(WATER),
        "oneil_peak_z_mm": z_oneil * 1e3,
        "oneil_peak_pa": p_oneil,
        "rayleigh_peak_z_mm": z_rayleigh * 1e3,
        "rayleigh_peak_pa": p_rayleigh,
        "peak_error_percent": 100.0 * (p_rayleigh - p_oneil) / p_oneil,
        "focal_intensity_w_per_cm2": focal_intensity * 1e-4,
        "lateral_minus6db_mm": lateral_6db * 1e3,
        "axial_minus6db_mm": axial_6db * 1e3,
    });
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    std::fs::write(
        args.out.join("field.json"),
        serde_json::to_vec_pretty(&figures)?,
    )?;
    draw_field(&bowl, &args)?;
    if args.json {
        println!("{figures}");
    } else {
        println!("{}", serde_json::to_string_pretty(&figures)?);
        println!("image: {}", args.out.join("field.png").display());
    }
    Ok(())
}

/// field.png: intensity on the plane through the axis (beam downwards), ±5 mm by ±15 mm at 0.1 mm.
fn draw_field(bowl: &Bowl, args: &FieldArgs) -> anyhow::Result<()> {
    let settings = FieldSettings {
        patches_per_wavelength: 2.0,
        table_dr_mm: 0.1,
        table_dz_mm: 0.25,
        ..FieldSettings::default()
    };
    let bar = crate::cmd::hifu::progress_bar(0, "field image");
    let table = settings.intensity_table(&bowl.with_power(1.0), 0.0, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    let (half_width, half_depth, step) = (50usize, 150usize, 0.1e-3);
    let (width, height) = (2 * half_width + 1, 2 * half_depth + 1);
    let peak = table.per_watt.iter().copied().fold(0.0, f64::max);
    let values: Vec<f32> = (0..height)
        .flat_map(|z| (0..width).map(move |x| (x, z)))
        .map(|(x, z)| {
            let r = (x as f64 - half_width as f64).abs() * step;
            let dz = (z as f64 - half_depth as f64) * step;
            (table.at(r, dz) / peak) as f32
        })
        .collect();
    let image = SliceImage {
        width,
        height,
        values: &values,
        mask: &vec![false; values.len()],
        range: (0.0, 1.0),
        scale: 3,
    };
    image.draw().save(&args.out.join("field.png"))
}
