//! Modelling studies on the fibroid scenario: a fixed set of sonications (placed relative to the
//! fibroid's centre, so the same spots land in the same tissue on every grid and in every box),
//! run through a [`Treatment`] and summed up as the figures a study compares: lesion volume, peak
//! temperature, the organs' peaks. The grid-convergence, boundary and sensitivity studies of
//! `medlink hifu converge` and `medlink hifu sensitivity` are built on [`run_case`].

use crate::HifuError;
use crate::bioheat::ThermalSettings;
use crate::field::FieldSettings;
use crate::heating::HeatPattern;
use crate::medium::Medium;
use crate::plan::{PlannerSettings, plan_spots};
use crate::rayleigh::IntensityTable;
use crate::scenario::FibroidScenario;
use crate::tissue::Tissue;
use crate::transducer::Bowl;
use crate::treatment::{OarLimits, Treatment};
use serde::{Deserialize, Serialize};

/// One sonication of a study: where relative to the fibroid's centre (mm), how hard, how long.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StudySpot {
    pub offset_mm: [f64; 3],
    pub power_w: f64,
    pub on_s: f64,
    /// Beam off after it before the next spot (s).
    pub cool_s: f64,
}

/// A study case: the patient model, the field, the thermal model and the sonications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyCase {
    pub scenario: FibroidScenario,
    pub field: FieldSettings,
    pub thermal: ThermalSettings,
    pub spots: Vec<StudySpot>,
    /// Tissue properties changed from their defaults (sensitivity studies).
    #[serde(default)]
    pub changes: Vec<PropertyChange>,
}

/// A change to some tissues' properties: attenuation and conductivity scaled, absorption fraction
/// and perfusion set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyChange {
    pub tissues: Vec<Tissue>,
    pub attenuation_scale: f64,
    pub conductivity_scale: f64,
    pub absorption_fraction: Option<f64>,
    pub perfusion_per_s: Option<f64>,
}

impl PropertyChange {
    /// No change to `tissues` (the other fields then say what changes).
    fn of(tissues: &[Tissue]) -> PropertyChange {
        PropertyChange {
            tissues: tissues.to_vec(),
            attenuation_scale: 1.0,
            conductivity_scale: 1.0,
            absorption_fraction: None,
            perfusion_per_s: None,
        }
    }

    fn apply(&self, mut medium: Medium) -> Medium {
        for &tissue in &self.tissues {
            let mut p = medium.properties(tissue);
            p.attenuation_db_cm_mhz *= self.attenuation_scale;
            p.conductivity *= self.conductivity_scale;
            p.absorption_fraction = self.absorption_fraction.unwrap_or(p.absorption_fraction);
            p.perfusion_per_s = self.perfusion_per_s.unwrap_or(p.perfusion_per_s);
            medium = medium.with_properties(tissue, p);
        }
        medium
    }
}

/// What one run of a case gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyFigures {
    pub spacing_mm: f64,
    pub cells: usize,
    pub dt_s: f64,
    /// Volume with CEM43 ≥ 240 anywhere in the box (mm³), sub-voxel: log CEM43 interpolated
    /// between voxel centres (`lesion_volume::threshold_volume_mm3`).
    pub lesion_volume_mm3: f64,
    /// The same volume counted in whole voxels (the staircase estimate of the earlier tables).
    #[serde(default)]
    pub lesion_voxel_count_mm3: f64,
    /// The hottest the beam's focal zone got (°C).
    pub peak_temperature_c: f32,
    pub skin_max_c: f32,
    pub abdominal_wall_max_c: f32,
    pub bowel_max_c: f32,
    pub bowel_max_cem43: f32,
    pub energy_j: f64,
    pub simulated_s: f64,
}

/// The Rayleigh table a case needs on grids down to `finest_spacing_m` and up to
/// `coarsest_spacing_m` (computed once, shared by every grid of a study).
pub fn study_table(
    field: &FieldSettings,
    bowl: &Bowl,
    coarsest_spacing_m: f64,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> IntensityTable {
    field.intensity_table(bowl, coarsest_spacing_m, progress)
}

/// Runs `case` on its scenario's grid with the shared `table`; `progress` gets the simulated and
/// total seconds now and then.
pub fn run_case(
    case: &StudyCase,
    table: &IntensityTable,
    progress: &mut dyn FnMut(f64, f64),
) -> Result<StudyFigures, HifuError> {
    let (mut treatment, foci) = case_treatment(case, table)?;
    run_spots(&mut treatment, case, &foci, progress)
}

/// The treatment of `case` before its first spot, and each spot's focus voxel (the set-up of
/// [`run_case`], apart so that a benchmark can time the stepping alone).
pub fn case_treatment(
    case: &StudyCase,
    table: &IntensityTable,
) -> Result<(Treatment, Vec<crate::grid::Voxel>), HifuError> {
    let medium = case
        .changes
        .iter()
        .fold(case.scenario.build()?, |medium, change| {
            change.apply(medium)
        });
    let spacing_m = medium.grid.spacing_m;
    let field = &case.field;
    let pattern = if field.whole_beam {
        HeatPattern::focal_zone(
            table,
            spacing_m,
            field.focal_zone_mm * 1e-3,
            field.subsamples,
        )
    } else {
        HeatPattern::from_table(
            table,
            spacing_m,
            (field.window_lateral_mm * 1e-3, field.window_axial_mm * 1e-3),
            field.subsamples,
        )
    };
    let centre = case.scenario.fibroid_centre_mm();
    let foci = case
        .spots
        .iter()
        .map(|spot| {
            let mm = [0, 1, 2].map(|a| centre[a] + spot.offset_mm[a]);
            medium
                .grid
                .nearest_voxel(mm.map(|v| v * 1e-3))
                .ok_or_else(|| {
                    HifuError::Plan(format!("study spot at {mm:?} mm lies outside the box"))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let limits = OarLimits::default();
    let treatment = Treatment::new(medium, Bowl::default(), pattern, &case.thermal, limits)?;
    Ok((treatment, foci))
}

/// Sonicates `case`'s spots at `foci` in order, each followed by its cooling, and sums up.
pub fn run_spots(
    treatment: &mut Treatment,
    case: &StudyCase,
    foci: &[crate::grid::Voxel],
    progress: &mut dyn FnMut(f64, f64),
) -> Result<StudyFigures, HifuError> {
    let cells = treatment.medium().grid.cell_count();
    let total_s: f64 = case.spots.iter().map(|s| s.on_s + s.cool_s).sum();
    let mut scheduled_s = 0.0;
    for (spot, &focus) in case.spots.iter().zip(foci) {
        treatment.sonicate(focus, spot.power_w, spot.on_s)?;
        scheduled_s += spot.on_s + spot.cool_s;
        treatment.advance_to(scheduled_s, &mut |_, _| {});
        progress(treatment.time_s(), total_s);
    }
    Ok(figures(treatment, cells))
}

fn figures(treatment: &Treatment, cells: usize) -> StudyFigures {
    let summary = treatment.summary();
    let organ = |name: &str| summary.organs.iter().find(|o| o.organ == name);
    let temp = |name: &str| organ(name).map_or(f32::NAN, |o| o.max_temp_c);
    let grid = treatment.medium().grid;
    StudyFigures {
        spacing_mm: grid.spacing_m * 1e3,
        cells,
        dt_s: treatment.dt_s(),
        lesion_volume_mm3: summary.ablated_volume_mm3,
        lesion_voxel_count_mm3: summary.ablated_voxel_count_mm3,
        peak_temperature_c: summary.peak_temperature_c,
        skin_max_c: temp("skin"),
        abdominal_wall_max_c: temp("abdominal_wall"),
        bowel_max_c: temp("bowel"),
        bowel_max_cem43: organ("bowel").map_or(f32::NAN, |o| o.max_cem43),
        energy_j: summary.energy_j,
        simulated_s: treatment.time_s(),
    }
}

/// The longest time step of the studies (s): shorter than any shot, and the same on every grid,
/// so that the convergence study measures the spatial discretisation (every grid's own stability
/// limit is longer at 1.5 and 1.0 mm).
pub const STUDY_MAX_DT_S: f64 = 0.1;

/// The default thermal model with the studies' step cap.
pub fn study_thermal() -> ThermalSettings {
    ThermalSettings {
        max_dt_s: Some(STUDY_MAX_DT_S),
        ..ThermalSettings::default()
    }
}

/// The grids of the convergence study (mm).
pub const CONVERGENCE_SPACINGS_MM: [f64; 4] = [1.5, 1.0, 0.75, 0.5];

/// One clinically shaped shot at the centre of the 10 cm fibroid on a grid of `spacing_mm`, in
/// the default box: `power_w` for `on_s`, then `cool_s` of cooling so the dose settles.
pub fn single_spot_case(spacing_mm: f64, power_w: f64, on_s: f64, cool_s: f64) -> StudyCase {
    StudyCase {
        scenario: FibroidScenario {
            spacing_mm,
            ..FibroidScenario::default()
        },
        field: FieldSettings::default(),
        thermal: study_thermal(),
        spots: vec![StudySpot {
            offset_mm: [0.0; 3],
            power_w,
            on_s,
            cool_s,
        }],
        changes: Vec::new(),
    }
}

/// The boundary study's case: the 10 cm fibroid at 1.5 mm in a box with `lateral_margin_mm` of
/// tissue beside it and `posterior_mm` behind the bowel, heated where the faces are nearest: a
/// long gentle sonication 5 mm inside the fibroid's lateral edge, then one 5 mm inside its deep
/// edge (toward the bowel), each 300 s at 20 W, so that the heat spreads ~13 mm as it does under a
/// sequence of spots.
pub fn boundary_case(lateral_margin_mm: f64, posterior_mm: f64) -> StudyCase {
    let scenario = FibroidScenario {
        lateral_margin_mm,
        posterior_mm,
        ..FibroidScenario::default()
    };
    let [ax, _, az] = scenario.fibroid_semi_axes_mm;
    let sustained = |offset_mm: [f64; 3]| StudySpot {
        offset_mm,
        power_w: 20.0,
        on_s: 300.0,
        cool_s: 60.0,
    };
    StudyCase {
        scenario,
        field: FieldSettings::default(),
        thermal: ThermalSettings::default(),
        spots: vec![
            sustained([-(ax - 5.0), 0.0, 0.0]),
            sustained([0.0, 0.0, az - 5.0]),
        ],
        changes: Vec::new(),
    }
}

/// The (lateral margin, posterior tissue) pairs of the boundary study (mm); the default box is
/// (40, 30).
pub const BOUNDARY_BOXES_MM: [(f64, f64); 4] =
    [(10.0, 0.0), (25.0, 15.0), (40.0, 30.0), (60.0, 45.0)];

/// The planner settings of the clinically shaped protocol: 1 s shots (USgHIFU practice, 1 s on
/// and 2-3 s off; reference/hifu-tissue.md §4) at the power that takes an isolated spot to 80 °C,
/// up to the transducer's 400 W, 3 s off between shots, spots 3 mm apart, slices 5 mm apart.
pub fn clinical_planner() -> PlannerSettings {
    PlannerSettings {
        slice_spacing_mm: 5.0,
        spot_spacing_mm: 3.0,
        on_time_s: 1.0,
        cool_time_s: 3.0,
        target_peak_c: 80.0,
        lateral_inset_mm: 1.5,
        axial_inset_mm: 2.5,
        oar_margin_mm: 12.0,
        final_cooling_s: 60.0,
        closed_loop: None,
    }
}

/// The plan study's case on a grid of `spacing_mm`: a 3 cm fibroid (in the default box) planned
/// once on the 1.5 mm grid with [`clinical_planner`], the same spots (positions relative to the
/// fibroid's centre, powers, times) then run on every grid.
pub fn plan_case(spacing_mm: f64, table: &IntensityTable) -> Result<StudyCase, HifuError> {
    let planned_on = FibroidScenario {
        fibroid_semi_axes_mm: [15.0; 3],
        ..FibroidScenario::default()
    };
    let medium = planned_on.build()?;
    let field = FieldSettings::default();
    let pattern = HeatPattern::focal_zone(
        table,
        medium.grid.spacing_m,
        field.focal_zone_mm * 1e-3,
        field.subsamples,
    );
    let thermal = study_thermal();
    let planner = clinical_planner();
    let spots = plan_spots(&medium, &pattern, &Bowl::default(), &thermal, &planner)?;
    let centre = planned_on.fibroid_centre_mm();
    let count = spots.len();
    let spots = spots
        .iter()
        .enumerate()
        .map(|(k, spot)| StudySpot {
            offset_mm: [0, 1, 2].map(|a| spot.focus_mm[a] - centre[a]),
            power_w: spot.power_w,
            on_s: spot.on_s,
            cool_s: spot.cool_s
                + if k + 1 == count {
                    planner.final_cooling_s
                } else {
                    0.0
                },
        })
        .collect();
    Ok(StudyCase {
        scenario: FibroidScenario {
            spacing_mm,
            ..planned_on
        },
        field,
        thermal,
        spots,
        changes: Vec::new(),
    })
}

/// The sensitivity study: one parameter at a time at the low and high ends of its plausible range
/// (reference/hifu-tissue.md §1, §2, §6), the others nominal, on `base` (the plan case). Each row
/// is a label and the change it makes.
pub fn sensitivity_changes() -> Vec<(&'static str, PropertyChange)> {
    let fibroid = [Tissue::Fibroid];
    let wall = [Tissue::Skin, Tissue::Fat, Tissue::Muscle];
    let soft: Vec<Tissue> = Tissue::ALL
        .into_iter()
        .filter(|&t| t != Tissue::Water)
        .collect();
    // Fibroid attenuation at 0.8 MHz: nominal 0.56 dB/cm (IT'IS uterus); low 0.25 (the ex-vivo
    // 5-10 MHz fit extrapolated), high 0.8 (1.0 dB/cm at 1 MHz, the top of the 0.3-1.0 range).
    let fibroid_alpha = |scale| PropertyChange {
        attenuation_scale: scale,
        ..PropertyChange::of(&fibroid)
    };
    // Abdominal wall attenuation: labs disagree by up to ×2 (Madsen et al. 1986).
    let wall_alpha = |scale| PropertyChange {
        attenuation_scale: scale,
        ..PropertyChange::of(&wall)
    };
    // Fibroid perfusion: 0 (hypovascular or shut down), IT'IS uterus 8.4e-3 1/s, DCE-MRI myoma
    // 0.055 1/s (Suomi et al. 2019); nominal 3.35e-4 (half of muscle).
    let fibroid_w = |w| PropertyChange {
        perfusion_per_s: Some(w),
        ..PropertyChange::of(&fibroid)
    };
    // Conductivity of every tissue: uterus 0.45-0.60 around 0.53 W/m/K (±15 %).
    let conductivity = |scale| PropertyChange {
        conductivity_scale: scale,
        ..PropertyChange::of(&soft)
    };
    vec![
        ("nominal", PropertyChange::of(&[])),
        (
            "fibroid attenuation 0.25 dB/cm",
            fibroid_alpha(0.25 / 0.564),
        ),
        (
            "fibroid attenuation 0.80 dB/cm",
            fibroid_alpha(0.80 / 0.564),
        ),
        ("wall attenuation x0.7", wall_alpha(0.7)),
        ("wall attenuation x1.4", wall_alpha(1.4)),
        (
            "absorption 0.6 of attenuation",
            PropertyChange {
                absorption_fraction: Some(0.6),
                ..PropertyChange::of(&soft)
            },
        ),
        ("fibroid perfusion 0", fibroid_w(0.0)),
        ("fibroid perfusion 8.4e-3 1/s", fibroid_w(8.4e-3)),
        ("fibroid perfusion 0.055 1/s", fibroid_w(0.055)),
        ("conductivity x0.85", conductivity(0.85)),
        ("conductivity x1.15", conductivity(1.15)),
    ]
}

/// Relative difference |a − b| / |b|.
pub fn relative_change(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{coarse_field, small_scenario};

    /// One spot on the small scenario with the coarse field.
    fn run_small(
        scenario: FibroidScenario,
        spot: StudySpot,
        changes: Vec<PropertyChange>,
    ) -> StudyFigures {
        let case = StudyCase {
            scenario,
            field: coarse_field(),
            thermal: ThermalSettings::default(),
            spots: vec![spot],
            changes,
        };
        let table = study_table(&case.field, &Bowl::default(), 1.5e-3, &|_, _| {});
        run_case(&case, &table, &mut |_, _| {}).unwrap()
    }

    fn one_spot(margin_mm: f64, posterior_mm: f64) -> StudyFigures {
        let scenario = FibroidScenario {
            lateral_margin_mm: margin_mm,
            posterior_mm,
            ..small_scenario()
        };
        // 4 mm inside the fibroid's lateral edge, next to the box's side face; long and gentle, so
        // that the heat spreads ~10 mm, as it does over many spots.
        let spot = StudySpot {
            offset_mm: [-6.0, 0.0, 0.0],
            power_w: 15.0,
            on_s: 200.0,
            cool_s: 20.0,
        };
        run_small(scenario, spot, Vec::new())
    }

    #[test]
    fn a_spot_beside_a_near_face_is_cooled_by_it_and_a_far_face_leaves_it_alone() {
        // With the face 4 mm from the fibroid, the face (held at 37 °C) drains the spot's heat.
        let near = one_spot(4.0, 0.0);
        let far = one_spot(25.0, 0.0);
        let farther = one_spot(40.0, 0.0);
        assert!(near.lesion_volume_mm3 > 0.0 && far.lesion_volume_mm3 > 0.0);
        let change = |a: &StudyFigures, b: &StudyFigures| {
            relative_change(a.lesion_volume_mm3, b.lesion_volume_mm3)
        };
        assert!(
            change(&far, &farther) < 0.02,
            "25 vs 40 mm: {far:?} {farther:?}"
        );
        // Measured: 2811 vs 3345 mm³ (16 % smaller with the face 4 mm away).
        assert!(
            near.lesion_volume_mm3 < 0.95 * far.lesion_volume_mm3,
            "4 vs 25 mm: {near:?} {far:?}"
        );
    }

    #[test]
    fn property_changes_reach_the_heating_and_the_solver() {
        let case = |changes: Vec<PropertyChange>| {
            let spot = StudySpot {
                offset_mm: [0.0; 3],
                power_w: 60.0,
                on_s: 10.0,
                cool_s: 10.0,
            };
            run_small(small_scenario(), spot, changes)
        };
        let rows = sensitivity_changes();
        let change = |label: &str| rows.iter().find(|r| r.0 == label).unwrap().1.clone();
        let nominal = case(vec![]);
        let perfused = case(vec![change("fibroid perfusion 0.055 1/s")]);
        assert!(perfused.peak_temperature_c < nominal.peak_temperature_c - 1.0);
        let opaque_wall = case(vec![change("wall attenuation x1.4")]);
        assert!(opaque_wall.skin_max_c > nominal.skin_max_c);
        assert!(opaque_wall.peak_temperature_c < nominal.peak_temperature_c);
        let conductive = case(vec![change("conductivity x1.15")]);
        assert!(conductive.peak_temperature_c < nominal.peak_temperature_c);
    }
}
