//! Pennes bioheat solver in f32 with CEM43 (and optional Arrhenius damage) accumulation, two schemes:
//! explicit (a conservative 7-point update, the stable time step chosen automatically, two steps per
//! sweep over memory in [`BioheatModel::step_pair`]) and ADI (Douglas–Gunn, unconditionally stable,
//! any time step); both multi-threaded (rayon) over depth planes.

use crate::HifuError;
use crate::dose::{Arrhenius, ArrheniusRule, Cem43Rule, Cem43Variant};
use crate::grid::Grid;
use crate::medium::Medium;
use crate::tissue::Tissue;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Temperatures, boundaries and time-step policy of the thermal model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThermalSettings {
    /// Body (arterial) temperature; also held on every face of the box except the bolus.
    pub body_c: f32,
    /// Temperature of the circulated coupling water: every water voxel is held at it.
    pub bolus_c: f32,
    /// Fraction of the explicit positivity limit used as the time step (≤ 1; 0.5 never oscillates).
    pub stability_fraction: f64,
    /// The longest time step (s), whatever the stability limit allows: the device caps it so that
    /// the HIFU supervisor judges the heating at least this often. `None`: the limit alone.
    pub max_dt_s: Option<f64>,
    pub cem43: Cem43Variant,
    /// Accumulate the Arrhenius damage integral Ω too (off by default: it costs bandwidth).
    pub arrhenius: Option<Arrhenius>,
    /// How the equation is advanced in time.
    pub scheme: Scheme,
    /// Multi-rate stepping: `max_dt_s` caps only the steps taken with the beam on; with the beam
    /// off (cooling between spots) the treatment takes the scheme's own step (the explicit
    /// stability limit, or ADI's `dt_s`). Used by `Treatment::advance_to`; off by default.
    pub multi_rate: bool,
}

/// The time-stepping scheme. TOML: `scheme = { kind = "adi", dt_s = 0.5 }` or `{ kind = "explicit" }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scheme {
    /// Explicit 7-point update at `stability_fraction` of its positivity limit.
    Explicit,
    /// Douglas–Gunn ADI (Crank–Nicolson split by axis, perfusion shared by the three axes): stable
    /// for any step; `dt_s` is the step (capped by `max_dt_s`), dose integrated over each step
    /// with the temperature taken linear in time.
    Adi { dt_s: f64 },
}

impl Default for ThermalSettings {
    fn default() -> ThermalSettings {
        ThermalSettings {
            body_c: 37.0,
            bolus_c: 20.0,
            stability_fraction: 0.5,
            max_dt_s: None,
            cem43: Cem43Variant::SaparetoDewey,
            arrhenius: None,
            scheme: Scheme::Explicit,
            multi_rate: false,
        }
    }
}

/// Per-voxel coefficients of the update, precomputed once; fixed voxels have zero gains.
pub struct BioheatModel {
    pub grid: Grid,
    pub dt_s: f32,
    body_c: f32,
    rule: Cem43Rule,
    damage: Option<ArrheniusRule>,
    conductivity: Vec<f32>,
    /// dt/(2·rho·c·dx²): multiplies the sum of (k_i + k_j)(T_j − T_i) over the six faces.
    diffusion_gain: Vec<f32>,
    /// dt·P with P = rho_b·c_b·w_b/(rho·c).
    perfusion_gain: Vec<f32>,
    /// The ADI scheme's line factors (none for the explicit scheme).
    adi: Option<adi::Factors>,
}

/// Temperature (°C), accumulated dose (CEM43 minutes) and, when enabled, Arrhenius damage Ω of every
/// voxel at `time_s`.
#[derive(Debug, Clone)]
pub struct BioheatState {
    pub temperature: Vec<f32>,
    pub dose: Vec<f32>,
    pub damage: Option<Vec<f32>>,
    pub time_s: f64,
    scratch: Vec<f32>,
    /// ADI only: the beam's heat (voxel, K) spread over the coming step instead of added at once.
    pending_heat: Option<Vec<(u32, f32)>>,
}

impl BioheatModel {
    /// Builds the model of `medium`; the box faces and water voxels are held fixed.
    pub fn new(
        medium: &Medium,
        settings: &ThermalSettings,
    ) -> Result<(BioheatModel, BioheatState), HifuError> {
        let grid = medium.grid;
        let labels = medium.labels();
        let fixed: Vec<bool> = (0..grid.cell_count())
            .map(|i| {
                let [x, y, z] = grid.voxel(i);
                let on_face = [x, y, z]
                    .iter()
                    .zip(grid.dims)
                    .any(|(&v, n)| v == 0 || v == n - 1);
                on_face || labels[i] == Tissue::Water
            })
            .collect();
        let conductivity: Vec<f32> = labels
            .iter()
            .map(|&t| medium.properties(t).conductivity as f32)
            .collect();
        let dx2 = grid.spacing_m * grid.spacing_m;
        let limit = (0..grid.cell_count())
            .filter(|&i| !fixed[i])
            .map(|i| {
                let props = medium.properties(labels[i]);
                let faces: f64 = neighbours(&grid, i)
                    .map(|j| 0.5 * f64::from(conductivity[i] + conductivity[j]))
                    .sum();
                1.0 / (faces / (props.heat_capacity() * dx2) + props.perfusion_rate())
            })
            .fold(f64::INFINITY, f64::min);
        if !limit.is_finite() {
            return Err(HifuError::Grid(
                "the volume has no interior tissue to heat".into(),
            ));
        }
        let damage = settings
            .arrhenius
            .map(ArrheniusRule::try_from)
            .transpose()?;
        let cap = settings
            .max_dt_s
            .filter(|cap| cap.is_finite() && *cap > 0.0)
            .unwrap_or(f64::INFINITY);
        let dt = match settings.scheme {
            Scheme::Explicit => limit * settings.stability_fraction.clamp(1e-3, 1.0),
            Scheme::Adi { dt_s } if dt_s.is_finite() && dt_s > 0.0 => dt_s,
            Scheme::Adi { dt_s } => {
                return Err(HifuError::Plan(format!(
                    "the ADI time step must be positive and finite, got {dt_s} s"
                )));
            }
        }
        .min(cap);
        let gain =
            |i: usize, f: &dyn Fn(Tissue) -> f64| if fixed[i] { 0.0 } else { f(labels[i]) as f32 };
        let diffusion_gain = (0..grid.cell_count())
            .map(|i| {
                gain(i, &|t| {
                    dt / (2.0 * medium.properties(t).heat_capacity() * dx2)
                })
            })
            .collect();
        let perfusion_gain = (0..grid.cell_count())
            .map(|i| gain(i, &|t| dt * medium.properties(t).perfusion_rate()))
            .collect();
        let temperature: Vec<f32> = labels
            .iter()
            .map(|&t| {
                if t == Tissue::Water {
                    settings.bolus_c
                } else {
                    settings.body_c
                }
            })
            .collect();
        let mut model = BioheatModel {
            grid,
            dt_s: dt as f32,
            body_c: settings.body_c,
            rule: settings.cem43.into(),
            damage,
            conductivity,
            diffusion_gain,
            perfusion_gain,
            adi: None,
        };
        let implicit = matches!(settings.scheme, Scheme::Adi { .. });
        if implicit {
            model.adi = Some(adi::Factors::new(&model));
        }
        let cells = temperature.len();
        let state = BioheatState {
            dose: vec![0.0; cells],
            damage: damage.map(|_| vec![0.0; cells]),
            // The explicit scheme writes the next temperatures beside the current ones; ADI keeps
            // its increment there instead, and the beam's heat for the coming step.
            scratch: if implicit {
                vec![0.0; cells]
            } else {
                temperature.clone()
            },
            temperature,
            time_s: 0.0,
            pending_heat: implicit.then(Vec::new),
        };
        Ok((model, state))
    }

    /// Bytes one step streams per voxel update: T, k, two gains read, T′ written, dose read and written.
    pub const BYTES_PER_CELL: usize = 28;

    /// Bytes [`BioheatModel::step_pair`] streams per voxel update: the same 28 bytes serve two steps
    /// (the intermediate temperatures stay in a cache-resident ring of planes).
    pub const BYTES_PER_CELL_PAIRED: usize = 14;

    /// Extra bytes per voxel update when Arrhenius damage is accumulated (Ω read and written).
    pub const DAMAGE_BYTES_PER_CELL: usize = 8;

    /// Body (arterial) temperature, °C.
    pub fn body_c(&self) -> f32 {
        self.body_c
    }

    /// Voxels one step updates (the interior).
    pub fn updated_cells(&self) -> usize {
        self.grid.dims.iter().map(|n| n - 2).product()
    }

    /// Whether the voxel's temperature evolves (not a face or coupling-water voxel).
    pub fn is_free(&self, index: usize) -> bool {
        self.diffusion_gain[index] > 0.0
    }

    /// Whether the model accumulates Arrhenius damage.
    pub fn tracks_damage(&self) -> bool {
        self.damage.is_some()
    }

    /// The scheme's name, for reports: "explicit" or "adi".
    pub fn scheme_name(&self) -> &'static str {
        if self.adi.is_some() {
            "adi"
        } else {
            "explicit"
        }
    }

    /// Advances `state` by one time step `dt_s`: diffusion, perfusion and dose (explicit: in one
    /// pass; ADI: the three line solves, the heat given since the last step spread over it).
    pub fn step(&self, state: &mut BioheatState) {
        if let Some(factors) = &self.adi {
            return self.adi_step(factors, state);
        }
        let [nx, ny, nz] = self.grid.dims;
        let plane = nx * ny;
        let t = &state.temperature;
        let fields = Fields {
            temperature: &mut state.scratch,
            dose: &mut state.dose,
            damage: state.damage.as_deref_mut().unwrap_or_default(),
        };
        fields
            .split_into(plane)
            .into_par_iter()
            .enumerate()
            .filter(|(z, _)| *z > 0 && *z < nz - 1)
            .for_each(|(z, out)| {
                let planes = Around {
                    below: &t[(z - 1) * plane..z * plane],
                    centre: &t[z * plane..(z + 1) * plane],
                    above: &t[(z + 1) * plane..(z + 2) * plane],
                };
                self.update_plane(&planes, z, out);
            });
        std::mem::swap(&mut state.temperature, &mut state.scratch);
        state.time_s += f64::from(self.dt_s);
    }
}

impl BioheatState {
    /// Adds `rate` K/s for `seconds` to each listed voxel (the acoustic heat source): the explicit
    /// scheme adds it at once (split from diffusion), the ADI scheme over the next step (a source
    /// term of that step, the temperature field changes when the step is taken).
    pub fn heat(&mut self, sources: &[(u32, f32)], seconds: f32) {
        if let Some(pending) = &mut self.pending_heat {
            let cells = self.temperature.len();
            pending.extend(
                sources
                    .iter()
                    .filter(|s| (s.0 as usize) < cells)
                    .map(|&(index, rate)| (index, rate * seconds)),
            );
            return;
        }
        for &(index, rate) in sources {
            if let Some(t) = self.temperature.get_mut(index as usize) {
                *t += rate * seconds;
            }
        }
    }
}

/// Linear indices of the six face neighbours that exist.
fn neighbours(grid: &Grid, index: usize) -> impl Iterator<Item = usize> + '_ {
    let voxel = grid.voxel(index);
    [
        [-1, 0, 0],
        [1, 0, 0],
        [0, -1, 0],
        [0, 1, 0],
        [0, 0, -1],
        [0, 0, 1],
    ]
    .into_iter()
    .filter_map(move |offset| grid.offset(voxel, offset).map(|v| grid.index(v)))
}

mod adi;
mod fields;
mod kernel;
mod pair;
#[cfg(test)]
mod tests;

use fields::{Around, Fields};
pub use pair::Probes;
