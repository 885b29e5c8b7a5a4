//! Sonication plans (JSON) and the planner that lays spots over a lesion: slices deep to shallow,
//! a hexagonal spot lattice per slice kept inside the lesion and away from organs at risk, and a
//! power per spot from a linear single-spot calibration and the path transmission.

use crate::HifuError;
use crate::bioheat::{BioheatModel, ThermalSettings};
use crate::closed_loop::ClosedLoopSettings;
use crate::field::FieldSettings;
use crate::grid::{Grid, Voxel};
use crate::heating::{HeatPattern, sources_with_transmission, transmission};
use crate::medium::Medium;
use crate::scenario::FibroidScenario;
use crate::tissue::Tissue;
use crate::transducer::Bowl;
use crate::treatment::OarLimits;
use serde::{Deserialize, Serialize};

/// Where the patient model of a plan comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediumSource {
    /// The built-in fibroid scenario with these parameters.
    Fibroid(FibroidScenario),
    /// A label volume: path of its JSON header (see docs/hifu.md).
    Volume { header: String },
}

/// Knobs of the planner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlannerSettings {
    /// Distance between slices along the beam.
    pub slice_spacing_mm: f64,
    /// Distance between neighbouring spots of the hexagonal lattice in a slice.
    pub spot_spacing_mm: f64,
    pub on_time_s: f64,
    pub cool_time_s: f64,
    /// Peak temperature an isolated spot should reach; neighbours' heat adds to it.
    pub target_peak_c: f64,
    /// Spots keep this far inside the lesion boundary across the beam and along it.
    pub lateral_inset_mm: f64,
    pub axial_inset_mm: f64,
    /// No spot within this distance of an organ at risk.
    pub oar_margin_mm: f64,
    /// Cooling simulated after the last spot so the dose settles.
    pub final_cooling_s: f64,
    /// Close the loop on the thermometry frames (`closed_loop.rs`): each spot waits until its
    /// neighbourhood has cooled and stops when its focus has the target dose. `None`: open loop,
    /// every spot its planned on and off time.
    pub closed_loop: Option<ClosedLoopSettings>,
}

impl Default for PlannerSettings {
    fn default() -> PlannerSettings {
        PlannerSettings {
            slice_spacing_mm: 7.0,
            spot_spacing_mm: 5.5,
            on_time_s: 20.0,
            cool_time_s: 0.0,
            target_peak_c: 80.0,
            lateral_inset_mm: 1.5,
            axial_inset_mm: 2.5,
            oar_margin_mm: 12.0,
            final_cooling_s: 120.0,
            closed_loop: None,
        }
    }
}

/// One sonication: where (grid position in mm), how hard and how long.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spot {
    pub slice: usize,
    pub focus_mm: [f64; 3],
    pub power_w: f64,
    pub on_s: f64,
    pub cool_s: f64,
}

/// A complete, self-contained treatment plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub medium: MediumSource,
    pub transducer: Bowl,
    #[serde(default)]
    pub field: FieldSettings,
    #[serde(default)]
    pub thermal: ThermalSettings,
    #[serde(default)]
    pub limits: OarLimits,
    #[serde(default)]
    pub planner: PlannerSettings,
    pub spots: Vec<Spot>,
}

impl Plan {
    /// Parses and checks a plan: every spot needs a finite position, power within the transducer's
    /// range and positive times.
    pub fn from_json(json: &[u8]) -> Result<Plan, HifuError> {
        let plan: Plan =
            serde_json::from_slice(json).map_err(|e| HifuError::Plan(e.to_string()))?;
        for (k, spot) in plan.spots.iter().enumerate() {
            let finite = spot.focus_mm.iter().all(|v| v.is_finite());
            let power_ok =
                spot.power_w.is_finite() && (0.0..=plan.transducer.power_w).contains(&spot.power_w);
            let times_ok = spot.on_s.is_finite()
                && spot.on_s > 0.0
                && spot.cool_s.is_finite()
                && spot.cool_s >= 0.0;
            if !(finite && power_ok && times_ok) {
                return Err(HifuError::Plan(format!("spot {k} is invalid: {spot:?}")));
            }
        }
        Ok(plan)
    }

    /// Total beam-on plus cooling time, including the final cooling.
    /// The energy the plan delivers if every spot runs as planned (J): the plan's budget.
    pub fn energy_j(&self) -> f64 {
        self.spots.iter().map(|s| s.power_w * s.on_s).sum()
    }

    pub fn duration_s(&self) -> f64 {
        self.spots.iter().map(|s| s.on_s + s.cool_s).sum::<f64>() + self.planner.final_cooling_s
    }

    /// The voxel of a spot's focus in `grid`.
    pub fn focus_voxel(grid: &Grid, spot: &Spot) -> Result<Voxel, HifuError> {
        grid.nearest_voxel(spot.focus_mm.map(|v| v * 1e-3))
            .ok_or_else(|| {
                HifuError::Plan(format!(
                    "focus {:?} mm lies outside the volume",
                    spot.focus_mm
                ))
            })
    }
}

/// Temperature rise (K) at the focus per watt reaching it, for one isolated sonication of `on_time_s`
/// in fibroid tissue: the bioheat equation is linear, so every spot's power follows from it.
pub fn calibrate_rise_per_watt(
    pattern: &HeatPattern,
    bowl: &Bowl,
    thermal: &ThermalSettings,
    on_time_s: f64,
) -> Result<f64, HifuError> {
    let dims = pattern.half.map(|h| 2 * h + 11);
    let medium = Medium::uniform(Grid::new(dims, pattern.spacing_m)?, Tissue::Fibroid);
    let (model, mut state) = BioheatModel::new(&medium, thermal)?;
    let focus = dims.map(|n| n / 2);
    let sources =
        sources_with_transmission(&medium, pattern, bowl, focus, 1.0, &|i| model.is_free(i));
    let dt = f64::from(model.dt_s);
    let mut peak = f64::NEG_INFINITY;
    while state.time_s < on_time_s - 1e-9 {
        let on = (on_time_s - state.time_s).min(dt);
        state.heat(&sources, on as f32);
        model.step(&mut state);
        peak = peak.max(f64::from(
            state.temperature[medium.grid.index(focus)] - thermal.body_c,
        ));
    }
    Ok(peak)
}

/// Lays out the spots of a plan over the fibroid voxels of `medium`.
pub fn plan_spots(
    medium: &Medium,
    pattern: &HeatPattern,
    bowl: &Bowl,
    thermal: &ThermalSettings,
    settings: &PlannerSettings,
) -> Result<Vec<Spot>, HifuError> {
    let grid = medium.grid;
    let lesion = medium.indices_of(Tissue::Fibroid);
    if lesion.is_empty() {
        return Err(HifuError::EmptyLesion);
    }
    if !(settings.spot_spacing_mm > 0.0
        && settings.slice_spacing_mm > 0.0
        && settings.on_time_s > 0.0)
    {
        return Err(HifuError::Plan(
            "spacings and on time must be positive".into(),
        ));
    }
    let rise_per_watt = calibrate_rise_per_watt(pattern, bowl, thermal, settings.on_time_s)?;
    let wanted_rise = settings.target_peak_c - f64::from(thermal.body_c);
    let (low, high) = lesion_bounds_mm(&grid, &lesion);
    let centre = [0, 1].map(|a| (low[a] + high[a]) / 2.0);
    let first = low[2] + settings.axial_inset_mm;
    let span = (high[2] - settings.axial_inset_mm - first).max(0.0);
    let slices = (span / settings.slice_spacing_mm).ceil() as usize + 1;
    let slice_step = if slices > 1 {
        span / (slices - 1) as f64
    } else {
        0.0
    };
    let mut spots = Vec::new();
    for slice in 0..slices {
        let depth = high[2] - settings.axial_inset_mm - slice as f64 * slice_step;
        let outline = SliceOutline::trace(
            medium,
            centre,
            depth,
            slice_step.max(settings.slice_spacing_mm) / 2.0,
        );
        let foci = outline
            .fill(settings)
            .into_iter()
            .chain(outline.contour(settings));
        for focus_mm in foci.filter(|&p| clear_of_oar(medium, p, settings.oar_margin_mm)) {
            let path = transmission(medium, bowl, focus_mm.map(|v| v * 1e-3));
            let power_w = (wanted_rise / (rise_per_watt * path)).clamp(0.0, bowl.power_w);
            spots.push(Spot {
                slice,
                focus_mm,
                power_w,
                on_s: settings.on_time_s,
                cool_s: settings.cool_time_s,
            });
        }
    }
    if spots.is_empty() {
        return Err(HifuError::Plan(
            "no spot fits inside the lesion with these insets and margins".into(),
        ));
    }
    Ok(spots)
}

/// The lesion's outline in one slab of a slice, as the boundary radius around the lesion axis at
/// evenly spaced angles (the planner assumes star-shaped cross-sections, as fibroids are).
struct SliceOutline {
    centre: [f64; 2],
    depth: f64,
    /// Largest lesion radius over the slab, per angle step.
    radii: Vec<f64>,
}

impl SliceOutline {
    const ANGLES: usize = 90;

    /// Marches rays out from `centre` at depths `depth` and `depth ± half_slab_mm`.
    fn trace(medium: &Medium, centre: [f64; 2], depth: f64, half_slab_mm: f64) -> SliceOutline {
        let step = medium.grid.spacing_m * 1e3 / 2.0;
        let lesion_at = |p: [f64; 3]| {
            medium
                .grid
                .nearest_voxel(p.map(|v| v * 1e-3))
                .is_some_and(|v| medium.tissue(v) == Tissue::Fibroid)
        };
        let radii = (0..Self::ANGLES)
            .map(|k| {
                let angle = 2.0 * std::f64::consts::PI * k as f64 / Self::ANGLES as f64;
                [depth - half_slab_mm, depth, depth + half_slab_mm]
                    .iter()
                    .filter_map(|&z| {
                        (0..10_000)
                            .map(|i| i as f64 * step)
                            .take_while(|r| {
                                lesion_at([
                                    centre[0] + r * angle.cos(),
                                    centre[1] + r * angle.sin(),
                                    z,
                                ])
                            })
                            .last()
                    })
                    .fold(-1.0, f64::max)
            })
            .collect();
        SliceOutline {
            centre,
            depth,
            radii,
        }
    }

    /// Boundary radius in the direction of `angle` (nearest traced angle).
    fn radius(&self, angle: f64) -> f64 {
        let turns = angle.rem_euclid(2.0 * std::f64::consts::PI) / (2.0 * std::f64::consts::PI);
        self.radii[((turns * Self::ANGLES as f64).round() as usize) % Self::ANGLES]
    }

    fn point(&self, radius: f64, angle: f64) -> [f64; 3] {
        [
            self.centre[0] + radius * angle.cos(),
            self.centre[1] + radius * angle.sin(),
            self.depth,
        ]
    }

    /// Spots on the outline, `lateral_inset_mm` inside it, about one spot spacing apart, in angle order.
    fn contour(&self, settings: &PlannerSettings) -> Vec<[f64; 3]> {
        let largest = self.radii.iter().copied().fold(-1.0, f64::max);
        if largest < 0.0 {
            return Vec::new();
        }
        let ring = (largest - settings.lateral_inset_mm).max(0.0);
        let count =
            ((2.0 * std::f64::consts::PI * ring / settings.spot_spacing_mm).ceil() as usize).max(1);
        (0..count)
            .map(|k| 2.0 * std::f64::consts::PI * k as f64 / count as f64)
            .filter_map(|angle| {
                let radius = self.radius(angle) - settings.lateral_inset_mm;
                (radius >= 0.0).then(|| self.point(radius, angle))
            })
            .collect()
    }

    /// A hexagonal lattice inside the contour ring (at least half a spacing inside it), serpentine.
    fn fill(&self, settings: &PlannerSettings) -> Vec<[f64; 3]> {
        let spacing = settings.spot_spacing_mm;
        let largest = self.radii.iter().copied().fold(-1.0, f64::max);
        lattice::hexagonal(spacing, largest, |x, y| {
            x.hypot(y) <= self.radius(y.atan2(x)) - settings.lateral_inset_mm - 0.5 * spacing
        })
        .into_iter()
        .map(|[x, y]| [self.centre[0] + x, self.centre[1] + y, self.depth])
        .collect()
    }
}

/// Bounding box (mm) of a set of voxels.
fn lesion_bounds_mm(grid: &Grid, cells: &[usize]) -> ([f64; 3], [f64; 3]) {
    let mut low = [f64::INFINITY; 3];
    let mut high = [f64::NEG_INFINITY; 3];
    for &i in cells {
        let p = grid.position(grid.voxel(i)).map(|m| m * 1e3);
        for a in 0..3 {
            low[a] = low[a].min(p[a]);
            high[a] = high[a].max(p[a]);
        }
    }
    (low, high)
}

/// Whether no organ-at-risk voxel lies within `margin_mm` of `point_mm`.
fn clear_of_oar(medium: &Medium, point_mm: [f64; 3], margin_mm: f64) -> bool {
    let grid = medium.grid;
    let Some(centre) = grid.nearest_voxel(point_mm.map(|v| v * 1e-3)) else {
        return false;
    };
    let reach = (margin_mm * 1e-3 / grid.spacing_m).ceil() as isize;
    let range = -reach..=reach;
    range.clone().all(|dz| {
        range.clone().all(|dy| {
            range.clone().all(|dx| {
                let inside_margin =
                    ((dx * dx + dy * dy + dz * dz) as f64).sqrt() * grid.spacing_m * 1e3
                        <= margin_mm;
                !inside_margin
                    || grid
                        .offset(centre, [dx, dy, dz])
                        .is_none_or(|v| medium.tissue(v) != Tissue::Bowel)
            })
        })
    })
}

pub mod lattice;
#[cfg(test)]
mod tests;
