//! A treatment in progress: the thermal state of the patient model, the sonication under way, and the
//! figures a clinician watches (focal temperature, organ-at-risk peaks, energy, ablated fraction).

use crate::HifuError;
use crate::bioheat::{BioheatModel, BioheatState, Probes, ThermalSettings};
use crate::dose::NECROSIS_CEM43;
use crate::grid::Voxel;
use crate::heating::{HeatPattern, spot_sources};
use crate::lesion_volume::{threshold_volume_mm3, voxel_count_volume_mm3};
use crate::medium::Medium;
use crate::tissue::Tissue;
use crate::transducer::Bowl;
use serde::{Deserialize, Serialize};

/// The clinical convention EEF = eta·P·t/V uses eta = 0.7 (reference/hifu.md §5).
pub const EEF_ETA: f64 = 0.7;

/// Limits an organ at risk must stay under.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OarLimits {
    pub max_temp_c: f32,
    pub max_cem43: f32,
}

impl Default for OarLimits {
    fn default() -> OarLimits {
        OarLimits {
            max_temp_c: 45.0,
            max_cem43: 30.0,
        }
    }
}

/// A sonication under way.
#[derive(Debug, Clone)]
struct Sonication {
    power_w: f64,
    remaining_s: f64,
    /// Every voxel the beam heats, the whole path included, in voxel order.
    sources: Vec<(u32, f32)>,
    /// The heated voxels of the focal zone: where the focal peak and ceiling are judged.
    focal: Vec<u32>,
}

/// A tissue region whose peaks a treatment follows: the organs at risk (skin, bowel), whose limits
/// the supervisor enforces, and the abdominal wall under the skin, reported only.
#[derive(Debug, Clone)]
struct Organ {
    name: &'static str,
    at_risk: bool,
    voxels: Vec<u32>,
    max_temp_c: f32,
}

/// The organs a treatment follows, by tissue label.
const ORGANS: [(&str, bool, &[Tissue]); 3] = [
    ("skin", true, &[Tissue::Skin]),
    ("abdominal_wall", false, &[Tissue::Fat, Tissue::Muscle]),
    ("bowel", true, &[Tissue::Bowel]),
];

/// One organ's figures in a summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganFigures {
    pub organ: String,
    /// Whether its limits are enforced (an organ at risk) or it is only reported.
    pub at_risk: bool,
    pub max_temp_c: f32,
    pub max_cem43: f32,
}

/// Peak temperature over time on one axial (constant z) and one sagittal (constant y) slice.
#[derive(Debug, Clone, PartialEq)]
pub struct SlicePeaks {
    pub axial_z: usize,
    pub sagittal_y: usize,
    /// nx × ny, x fastest.
    pub axial: Vec<f32>,
    /// nx × nz, x fastest.
    pub sagittal: Vec<f32>,
}

/// The figures of a treatment so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreatmentSummary {
    pub ablated_fraction: f64,
    pub lesion_volume_mm3: f64,
    /// Volume with CEM43 ≥ 240 anywhere (mm³), sub-voxel (`lesion_volume::threshold_volume_mm3`).
    pub ablated_volume_mm3: f64,
    /// The same counted in whole voxels (the staircase estimate reported before).
    pub ablated_voxel_count_mm3: f64,
    /// Over every organ at risk (skin and bowel).
    pub oar_max_temp_c: f32,
    pub oar_max_cem43: f32,
    pub oar_within_limits: bool,
    /// Each followed organ's peaks: skin, abdominal wall (fat and muscle), bowel.
    pub organs: Vec<OrganFigures>,
    pub energy_j: f64,
    pub eef_j_per_mm3: f64,
    pub treatment_time_s: f64,
    pub peak_temperature_c: f32,
    /// Fraction of the lesion with Arrhenius damage Ω ≥ 1 (when the model tracks Ω).
    pub arrhenius_damaged_fraction: Option<f64>,
    /// Volume with Ω ≥ 1 (when the model tracks Ω), sub-voxel.
    pub arrhenius_damaged_volume_mm3: Option<f64>,
}

/// The patient model under treatment; advanced one solver step at a time.
pub struct Treatment {
    medium: Medium,
    bowl: Bowl,
    pattern: HeatPattern,
    model: BioheatModel,
    /// Multi-rate stepping: the same model at the scheme's own (longer) step, taken while the
    /// beam is off (`multi_rate.rs`).
    off_beam: Option<BioheatModel>,
    state: BioheatState,
    lesion: Vec<u32>,
    organs: Vec<Organ>,
    limits: OarLimits,
    active: Option<Sonication>,
    last_focus: Option<Voxel>,
    energy_j: f64,
    oar_max_temp_c: f32,
    peak_temperature_c: f32,
    slices: SlicePeaks,
    /// The voxels `track` reads, kept after the first step of each pair.
    probes: Probes,
}

impl Treatment {
    /// A treatment of `medium` (lesion = fibroid voxels, organs at risk = skin and bowel voxels).
    pub fn new(
        medium: Medium,
        bowl: Bowl,
        pattern: HeatPattern,
        thermal: &ThermalSettings,
        limits: OarLimits,
    ) -> Result<Treatment, HifuError> {
        let (model, state) = BioheatModel::new(&medium, thermal)?;
        let off_beam = multi_rate::off_beam_model(&medium, thermal, &model)?;
        let as_u32 = |v: Vec<usize>| v.into_iter().map(|i| i as u32).collect::<Vec<_>>();
        let lesion = as_u32(medium.indices_of(Tissue::Fibroid));
        // The abdominal wall is the fat and muscle in front of the uterus (not the muscle behind
        // the bowel at the box's deep face).
        let uterus_top = [Tissue::Myometrium, Tissue::Fibroid]
            .iter()
            .flat_map(|&t| medium.indices_of(t))
            .map(|i| medium.grid.voxel(i)[2])
            .min()
            .unwrap_or(usize::MAX);
        let organs = ORGANS
            .iter()
            .map(|&(name, at_risk, tissues)| {
                let mut voxels: Vec<u32> = tissues
                    .iter()
                    .flat_map(|&t| medium.indices_of(t))
                    .filter(|&i| at_risk || medium.grid.voxel(i)[2] < uterus_top)
                    .map(|i| i as u32)
                    .collect();
                voxels.sort_unstable();
                Organ {
                    name,
                    at_risk,
                    voxels,
                    max_temp_c: f32::NEG_INFINITY,
                }
            })
            .filter(|organ| !organ.voxels.is_empty())
            .collect();
        let [nx, ny, nz] = medium.grid.dims;
        let centre_z = lesion_centre_z(&medium, &lesion).unwrap_or(nz / 2);
        let slices = SlicePeaks {
            axial_z: centre_z,
            sagittal_y: ny / 2,
            axial: vec![f32::NEG_INFINITY; nx * ny],
            sagittal: vec![f32::NEG_INFINITY; nx * nz],
        };
        let mut treatment = Treatment {
            medium,
            bowl,
            pattern,
            model,
            off_beam,
            state,
            lesion,
            organs,
            limits,
            active: None,
            last_focus: None,
            energy_j: 0.0,
            oar_max_temp_c: f32::NEG_INFINITY,
            peak_temperature_c: f32::NEG_INFINITY,
            slices,
            probes: Probes::default(),
        };
        treatment.probes = treatment.watched_voxels();
        treatment.track(Field::Current);
        Ok(treatment)
    }

    /// Starts sonicating `focus` at `power_w` for `duration_s`, replacing any sonication under way.
    pub fn sonicate(
        &mut self,
        focus: Voxel,
        power_w: f64,
        duration_s: f64,
    ) -> Result<(), HifuError> {
        if !(duration_s.is_finite() && duration_s > 0.0) {
            return Err(HifuError::Duration(duration_s));
        }
        if !(power_w.is_finite() && (0.0..=self.bowl.power_w).contains(&power_w)) {
            return Err(HifuError::Power(power_w, self.bowl.power_w));
        }
        if focus
            .iter()
            .zip(self.medium.grid.dims)
            .any(|(&v, n)| v >= n)
        {
            return Err(HifuError::Plan(format!(
                "focus {focus:?} is outside the grid"
            )));
        }
        // Ordered by voxel, as the two-step sweep wants them.
        let sources = spot_sources(
            &self.medium,
            &self.pattern,
            &self.bowl,
            focus,
            power_w,
            &|i| self.model.is_free(i),
        );
        let grid = self.medium.grid;
        let half = self.pattern.half;
        let focal = sources
            .iter()
            .map(|&(i, _)| i)
            .filter(|&i| {
                let v = grid.voxel(i as usize);
                (0..3).all(|a| v[a].abs_diff(focus[a]) <= half[a])
            })
            .collect();
        self.active = Some(Sonication {
            power_w,
            remaining_s: duration_s,
            sources,
            focal,
        });
        self.last_focus = Some(focus);
        self.probes = self.watched_voxels();
        Ok(())
    }

    /// Switches the beam off at once.
    pub fn stop(&mut self) {
        self.active = None;
    }

    pub fn is_sonicating(&self) -> bool {
        self.active.is_some()
    }

    /// Advances one solver step (`dt_s`): the beam's heat, then diffusion, perfusion and dose.
    pub fn step(&mut self) {
        let ended = self.beam_on_for_one_step();
        self.model.step(&mut self.state);
        // The step in which a sonication ends still counts for its focal peak.
        self.track(Field::Current);
        if ended {
            self.active = None;
        }
    }

    /// Advances two solver steps in one sweep over memory, with exactly the results of two calls
    /// to `step`; returns the time and focal temperature after the first of them.
    pub fn step_pair(&mut self) -> (f64, f32) {
        let dt = f64::from(self.model.dt_s);
        let first_time_s = self.state.time_s + dt;
        // A sonication done with the first step heats the second for no time and ends after it.
        let ended_with_first = self.beam_on_for_one_step();
        // The beam between the two steps: what `beam_on_for_one_step` would do after the first.
        let (sources, seconds, ends) = match &mut self.active {
            Some(sonication) => {
                let on = sonication.remaining_s.min(dt);
                self.energy_j += sonication.power_w * on;
                sonication.remaining_s -= on;
                (
                    &sonication.sources[..],
                    on as f32,
                    sonication.remaining_s <= 1e-9,
                )
            }
            None => (&[][..], 0.0, false),
        };
        self.model
            .step_pair(&mut self.state, sources, seconds, &mut self.probes);
        self.track(Field::FirstOfPair);
        let first_focal_c = self.focal_c(self.probes.temperature());
        // As with single steps, the step in which a sonication ends still counts for its focal
        // peak, and the steps after it do not.
        if ended_with_first {
            self.active = None;
        }
        self.track(Field::Current);
        if ends {
            self.active = None;
        }
        (first_time_s, first_focal_c)
    }

    /// Heats by the beam for the coming step and counts its energy; whether the sonication is done
    /// with this step (the caller ends it after the step).
    fn beam_on_for_one_step(&mut self) -> bool {
        let dt = f64::from(self.model.dt_s);
        let Some(sonication) = &mut self.active else {
            return false;
        };
        let on = sonication.remaining_s.min(dt);
        self.state.heat(&sonication.sources, on as f32);
        self.energy_j += sonication.power_w * on;
        sonication.remaining_s -= on;
        sonication.remaining_s <= 1e-9
    }

    /// Every voxel `track` and the focal trace read: organs at risk, the beam's sources, the two
    /// slices and the focus.
    fn watched_voxels(&self) -> Probes {
        let grid = self.medium.grid;
        let [nx, ny, nz] = grid.dims;
        let axial = (0..nx * ny).map(|i| grid.index([i % nx, i / nx, self.slices.axial_z]));
        let sagittal = (0..nx * nz).map(|i| grid.index([i % nx, self.slices.sagittal_y, i / nx]));
        let focal = self.active.iter().flat_map(|s| s.focal.iter().copied());
        let organs = self.organs.iter().flat_map(|o| o.voxels.iter().copied());
        let indices = axial
            .chain(sagittal)
            .chain(self.focus_index())
            .map(|i| i as u32)
            .chain(focal)
            .chain(organs)
            .collect();
        Probes::new(indices, &grid)
    }

    /// Updates the running maxima from `field` after a step.
    fn track(&mut self, field: Field) {
        let t = match field {
            Field::Current => &self.state.temperature[..],
            Field::FirstOfPair => self.probes.temperature(),
        };
        for organ in &mut self.organs {
            let hottest = hottest(t, &organ.voxels);
            organ.max_temp_c = organ.max_temp_c.max(hottest);
            if organ.at_risk {
                self.oar_max_temp_c = self.oar_max_temp_c.max(hottest);
            }
        }
        if let Some(sonication) = &self.active {
            self.peak_temperature_c = self.peak_temperature_c.max(hottest(t, &sonication.focal));
        }
        let grid = self.medium.grid;
        let [nx, ny, nz] = grid.dims;
        let axial = &t[grid.index([0, 0, self.slices.axial_z])..][..nx * ny];
        self.slices
            .axial
            .iter_mut()
            .zip(axial)
            .for_each(|(peak, &v)| *peak = peak.max(v));
        for z in 0..nz {
            let row = &t[grid.index([0, self.slices.sagittal_y, z])..][..nx];
            let peaks = &mut self.slices.sagittal[z * nx..(z + 1) * nx];
            peaks
                .iter_mut()
                .zip(row)
                .for_each(|(peak, &v)| *peak = peak.max(v));
        }
    }

    pub fn time_s(&self) -> f64 {
        self.state.time_s
    }

    pub fn dt_s(&self) -> f64 {
        f64::from(self.model.dt_s)
    }

    pub fn medium(&self) -> &Medium {
        &self.medium
    }

    pub fn state(&self) -> &BioheatState {
        &self.state
    }

    pub fn slice_peaks(&self) -> &SlicePeaks {
        &self.slices
    }

    /// Temperature at the latest focus (body temperature before the first sonication).
    pub fn focal_temperature_c(&self) -> f32 {
        self.focal_c(&self.state.temperature)
    }

    /// The latest focus's value in `temperature` (a field indexed like the grid), or body temperature
    /// before the first sonication.
    fn focal_c(&self, temperature: &[f32]) -> f32 {
        self.focus_index()
            .map_or(self.model.body_c(), |i| temperature[i])
    }

    /// The focus of the latest sonication (none before the first).
    pub fn latest_focus(&self) -> Option<Voxel> {
        self.last_focus
    }

    /// Linear index of the latest focus.
    fn focus_index(&self) -> Option<usize> {
        self.last_focus.map(|f| self.medium.grid.index(f))
    }

    /// Highest organ-at-risk temperature seen so far.
    pub fn oar_max_temp_c(&self) -> f32 {
        self.oar_max_temp_c
    }

    /// The organs-at-risk limits the treatment was set up with.
    pub fn oar_limits(&self) -> OarLimits {
        self.limits
    }

    /// The hottest voxel the beam heats in its focal zone now, or the focus when it is off (°C):
    /// what the supervisor's focal ceiling judges (the hottest point can sit beside the focal
    /// voxel); the tissue the rest of the path heats is judged as organs at risk.
    pub fn hottest_heated_c(&self) -> f32 {
        let t = &self.state.temperature;
        let focal = self.focal_temperature_c();
        self.active.as_ref().map_or(focal, |sonication| {
            sonication
                .focal
                .iter()
                .map(|&i| t[i as usize])
                .fold(focal, |hottest, v| {
                    if v.is_nan() || hottest.is_nan() {
                        f32::NAN
                    } else {
                        hottest.max(v)
                    }
                })
        })
    }

    /// Energy the beam has delivered so far (J).
    pub fn energy_j(&self) -> f64 {
        self.energy_j
    }

    /// The organs at risk now, for the HIFU supervisor: each one's hottest voxel at this step
    /// and its highest accumulated dose (empty when the scene has no organ at risk).
    pub fn oar_readings(&self) -> Vec<safety::hifu::OarReading> {
        let (t, dose) = (&self.state.temperature, &self.state.dose);
        self.organs
            .iter()
            .filter(|organ| organ.at_risk)
            .map(|organ| {
                let (temp_c, cem43) = organ
                    .voxels
                    .iter()
                    .map(|&i| (t[i as usize], dose[i as usize]))
                    .fold((f32::NEG_INFINITY, 0.0f32), |(tm, dm), (tv, dv)| {
                        // NaN propagates, so that an unreadable voxel stops the beam.
                        (
                            if tv.is_nan() || tm.is_nan() {
                                f32::NAN
                            } else {
                                tm.max(tv)
                            },
                            dm.max(dv),
                        )
                    });
                safety::hifu::OarReading {
                    organ: organ.name,
                    temp_c,
                    cem43,
                }
            })
            .collect()
    }

    /// Cells the solver updates per step (for throughput figures).
    pub fn cells_per_step(&self) -> usize {
        self.model.updated_cells()
    }

    pub fn summary(&self) -> TreatmentSummary {
        let dose = &self.state.dose;
        let voxel = self.medium.grid.voxel_volume_mm3();
        let ablated_lesion = self
            .lesion
            .iter()
            .filter(|&&i| dose[i as usize] >= NECROSIS_CEM43)
            .count();
        let grid = self.medium.grid;
        let ablated_volume_mm3 = threshold_volume_mm3(&grid, dose, NECROSIS_CEM43);
        let ablated_voxel_count_mm3 = voxel_count_volume_mm3(&grid, dose, NECROSIS_CEM43);
        let organs: Vec<OrganFigures> = self
            .organs
            .iter()
            .map(|organ| OrganFigures {
                organ: organ.name.to_string(),
                at_risk: organ.at_risk,
                max_temp_c: organ.max_temp_c,
                max_cem43: organ
                    .voxels
                    .iter()
                    .map(|&i| dose[i as usize])
                    .fold(0.0, f32::max),
            })
            .collect();
        let at_risk = || organs.iter().filter(|o| o.at_risk);
        let any_at_risk = at_risk().next().is_some();
        let oar_max_cem43 = at_risk().map(|o| o.max_cem43).fold(0.0, f32::max);
        let oar_max_temp_c = if any_at_risk {
            self.oar_max_temp_c
        } else {
            f32::NAN
        };
        TreatmentSummary {
            ablated_fraction: if self.lesion.is_empty() {
                0.0
            } else {
                ablated_lesion as f64 / self.lesion.len() as f64
            },
            lesion_volume_mm3: self.lesion.len() as f64 * voxel,
            ablated_volume_mm3,
            ablated_voxel_count_mm3,
            oar_max_temp_c,
            oar_max_cem43,
            oar_within_limits: !any_at_risk
                || (oar_max_temp_c <= self.limits.max_temp_c
                    && oar_max_cem43 <= self.limits.max_cem43),
            organs,
            energy_j: self.energy_j,
            eef_j_per_mm3: if ablated_volume_mm3 > 0.0 {
                EEF_ETA * self.energy_j / ablated_volume_mm3
            } else {
                f64::INFINITY
            },
            treatment_time_s: self.state.time_s,
            peak_temperature_c: self.peak_temperature_c,
            arrhenius_damaged_fraction: self.state.damage.as_ref().map(|omega| {
                let damaged = self.lesion.iter().filter(|&&i| omega[i as usize] >= 1.0);
                damaged.count() as f64 / self.lesion.len().max(1) as f64
            }),
            arrhenius_damaged_volume_mm3: self
                .state
                .damage
                .as_ref()
                .map(|omega| threshold_volume_mm3(&grid, omega, 1.0)),
        }
    }
}

/// Which temperature field a step left to track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// The state's temperature now.
    Current,
    /// The probed temperatures after the first step of the latest pair.
    FirstOfPair,
}

/// The highest of `t` over `voxels` (NaN is skipped; −∞ for none).
fn hottest(t: &[f32], voxels: &[u32]) -> f32 {
    voxels
        .iter()
        .map(|&i| t[i as usize])
        .fold(f32::NEG_INFINITY, f32::max)
}

/// Depth (voxel z) of the lesion's centre of mass.
fn lesion_centre_z(medium: &Medium, lesion: &[u32]) -> Option<usize> {
    let sum: usize = lesion
        .iter()
        .map(|&i| medium.grid.voxel(i as usize)[2])
        .sum();
    sum.checked_div(lesion.len())
}

mod multi_rate;
#[cfg(test)]
mod tests;
