//! Pennes bioheat solver in f32: an explicit conservative 7-point update fused with CEM43 accumulation,
//! the stable time step chosen automatically, multi-threaded over depth planes (rayon).

use crate::HifuError;
use crate::dose::{Cem43Rule, Cem43Variant};
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
    pub cem43: Cem43Variant,
}

impl Default for ThermalSettings {
    fn default() -> ThermalSettings {
        ThermalSettings {
            body_c: 37.0,
            bolus_c: 20.0,
            stability_fraction: 0.5,
            cem43: Cem43Variant::SaparetoDewey,
        }
    }
}

/// Per-voxel coefficients of the update, precomputed once; fixed voxels have zero gains.
pub struct BioheatModel {
    pub grid: Grid,
    pub dt_s: f32,
    body_c: f32,
    rule: Cem43Rule,
    conductivity: Vec<f32>,
    /// dt/(2·rho·c·dx²): multiplies the sum of (k_i + k_j)(T_j − T_i) over the six faces.
    diffusion_gain: Vec<f32>,
    /// dt·P with P = rho_b·c_b·w_b/(rho·c).
    perfusion_gain: Vec<f32>,
}

/// Temperature (°C) and accumulated dose (CEM43 minutes) of every voxel at `time_s`.
#[derive(Debug, Clone)]
pub struct BioheatState {
    pub temperature: Vec<f32>,
    pub dose: Vec<f32>,
    pub time_s: f64,
    scratch: Vec<f32>,
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
            .map(|t| t.properties().conductivity as f32)
            .collect();
        let dx2 = grid.spacing_m * grid.spacing_m;
        let limit = (0..grid.cell_count())
            .filter(|&i| !fixed[i])
            .map(|i| {
                let props = labels[i].properties();
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
        let fraction = settings.stability_fraction.clamp(1e-3, 1.0);
        let dt = limit * fraction;
        let gain =
            |i: usize, f: &dyn Fn(Tissue) -> f64| if fixed[i] { 0.0 } else { f(labels[i]) as f32 };
        let diffusion_gain = (0..grid.cell_count())
            .map(|i| gain(i, &|t| dt / (2.0 * t.properties().heat_capacity() * dx2)))
            .collect();
        let perfusion_gain = (0..grid.cell_count())
            .map(|i| gain(i, &|t| dt * t.properties().perfusion_rate()))
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
        let model = BioheatModel {
            grid,
            dt_s: dt as f32,
            body_c: settings.body_c,
            rule: settings.cem43.into(),
            conductivity,
            diffusion_gain,
            perfusion_gain,
        };
        let state = BioheatState {
            dose: vec![0.0; temperature.len()],
            scratch: temperature.clone(),
            temperature,
            time_s: 0.0,
        };
        Ok((model, state))
    }

    /// Bytes the update streams per voxel: T, k, two gains read, T′ written, dose read and written.
    pub const BYTES_PER_CELL: usize = 28;

    /// Voxels one step updates (the interior).
    pub fn updated_cells(&self) -> usize {
        self.grid.dims.iter().map(|n| n - 2).product()
    }

    /// Whether the voxel's temperature evolves (not a face or coupling-water voxel).
    pub fn is_free(&self, index: usize) -> bool {
        self.diffusion_gain[index] > 0.0
    }

    /// Advances `state` by one time step `dt_s`: diffusion, perfusion and CEM43 in one pass.
    pub fn step(&self, state: &mut BioheatState) {
        let [nx, ny, _] = self.grid.dims;
        let plane = nx * ny;
        let t = &state.temperature;
        state
            .scratch
            .par_chunks_mut(plane)
            .zip(state.dose.par_chunks_mut(plane))
            .enumerate()
            .filter(|(z, _)| *z > 0 && *z < self.grid.dims[2] - 1)
            .for_each(|(z, (out, dose))| {
                for y in 1..ny - 1 {
                    let row = y * nx;
                    self.update_row(
                        t,
                        z * plane + row,
                        &mut out[row + 1..row + nx - 1],
                        &mut dose[row + 1..row + nx - 1],
                    );
                }
            });
        std::mem::swap(&mut state.temperature, &mut state.scratch);
        state.time_s += f64::from(self.dt_s);
    }

    /// The fused update of one x-row starting at linear index `start` (its x = 0 voxel), compiled for
    /// AVX2 when the CPU has it (the loop is the same; wider vectors halve its instruction count).
    fn update_row(&self, t: &[f32], start: usize, out: &mut [f32], dose: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { self.update_row_avx2(t, start, out, dose) };
            return;
        }
        self.update_row_portable(t, start, out, dose);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn update_row_avx2(&self, t: &[f32], start: usize, out: &mut [f32], dose: &mut [f32]) {
        self.update_row_portable(t, start, out, dose);
    }

    #[inline(always)]
    fn update_row_portable(&self, t: &[f32], start: usize, out: &mut [f32], dose: &mut [f32]) {
        let n = out.len();
        let dose = &mut dose[..n];
        let [nx, ny, _] = self.grid.dims;
        let (row, plane) = (nx as isize, (nx * ny) as isize);
        let c = start + 1;
        let at = |offset: isize| -> std::ops::Range<usize> {
            let from = c.wrapping_add_signed(offset);
            from..from + n
        };
        let k = &self.conductivity;
        let (kc, kw, ke, ks, kn, kd, ku) = (
            &k[at(0)],
            &k[at(-1)],
            &k[at(1)],
            &k[at(-row)],
            &k[at(row)],
            &k[at(-plane)],
            &k[at(plane)],
        );
        let (tc, tw, te, ts, tn, td, tu) = (
            &t[at(0)],
            &t[at(-1)],
            &t[at(1)],
            &t[at(-row)],
            &t[at(row)],
            &t[at(-plane)],
            &t[at(plane)],
        );
        let gain = &self.diffusion_gain[c..c + n];
        let perfusion = &self.perfusion_gain[c..c + n];
        let (body, dt, rule) = (self.body_c, self.dt_s, self.rule);
        for i in 0..n {
            let (centre, k) = (tc[i], kc[i]);
            let flux = (k + kw[i]) * (tw[i] - centre)
                + (k + ke[i]) * (te[i] - centre)
                + (k + ks[i]) * (ts[i] - centre)
                + (k + kn[i]) * (tn[i] - centre)
                + (k + kd[i]) * (td[i] - centre)
                + (k + ku[i]) * (tu[i] - centre);
            let next = centre + gain[i] * flux - perfusion[i] * (centre - body);
            out[i] = next;
            dose[i] += dt * rule.minutes_per_second(0.5 * (centre + next));
        }
    }
}

impl BioheatState {
    /// Adds `rate` K/s for `seconds` to each listed voxel (the acoustic heat source, split from diffusion).
    pub fn heat(&mut self, sources: &[(u32, f32)], seconds: f32) {
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

#[cfg(test)]
mod tests;
