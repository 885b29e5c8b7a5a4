//! Temporal blocking: two solver steps per sweep over memory. Each slab of depth planes runs a
//! wavefront: the first step of plane p goes into a ring of three cache-resident planes, then the
//! second step of plane p − 1 reads the ring and writes the result. Temperatures, coefficients and
//! dose are streamed once for two steps, with exactly the arithmetic of two calls to `step`.

use super::fields::split_runs;
use super::{Around, BioheatModel, BioheatState, Fields};
use crate::grid::Grid;
use rayon::prelude::*;
use std::borrow::Cow;

/// Voxels whose temperature after the first step of a pair is kept (the rest of that intermediate
/// field only ever lives in the ring).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Probes {
    indices: Vec<u32>,
    temperature: Vec<f32>,
}

impl Probes {
    /// Probes at `indices` (sorted, repeats and voxels outside `grid` dropped).
    pub fn new(mut indices: Vec<u32>, grid: &Grid) -> Probes {
        let cells = grid.cell_count();
        indices.retain(|&i| (i as usize) < cells);
        indices.sort_unstable();
        indices.dedup();
        Probes {
            indices,
            temperature: vec![0.0; cells],
        }
    }

    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// Temperatures after the first step of the latest pair, indexed like the grid; only the
    /// probed voxels are meaningful.
    pub fn temperature(&self) -> &[f32] {
        &self.temperature
    }
}

/// Depth planes over which a slab is too thin to be worth its two recomputed halo planes.
const PLANES_PER_SLAB: usize = 24;

impl BioheatModel {
    /// Advances `state` by two time steps in one sweep, exactly as `step` twice would with
    /// `state.heat(heat, seconds)` between them (heat goes to free voxels). The temperature after the
    /// first step, before that heat, is kept at the probed voxels.
    pub fn step_pair(
        &self,
        state: &mut BioheatState,
        heat: &[(u32, f32)],
        seconds: f32,
        probes: &mut Probes,
    ) {
        let interior = self.grid.dims[2] - 2;
        let slabs = (interior / PLANES_PER_SLAB).clamp(1, 2 * rayon::current_num_threads());
        self.step_pair_in_slabs(state, heat, seconds, probes, slabs);
    }

    /// [`BioheatModel::step_pair`] with the interior planes cut into `slabs` slabs.
    pub(super) fn step_pair_in_slabs(
        &self,
        state: &mut BioheatState,
        heat: &[(u32, f32)],
        seconds: f32,
        probes: &mut Probes,
        slabs: usize,
    ) {
        let [nx, ny, nz] = self.grid.dims;
        let plane = nx * ny;
        let interior = nz - 2;
        let slabs = slabs.clamp(1, interior);
        let bounds: Vec<usize> = (0..=slabs).map(|s| 1 + s * interior / slabs).collect();
        let heat = if heat.is_sorted_by_key(|s| s.0) {
            Cow::Borrowed(heat)
        } else {
            let mut sorted = heat.to_vec();
            sorted.sort_by_key(|s| s.0);
            Cow::Owned(sorted)
        };
        probes.temperature.resize(self.grid.cell_count(), 0.0);
        let run_lens: Vec<usize> = std::iter::once(plane)
            .chain(bounds.windows(2).map(|w| (w[1] - w[0]) * plane))
            .collect();
        let t0 = &state.temperature;
        let fields = Fields {
            temperature: &mut state.scratch,
            dose: &mut state.dose,
            damage: state.damage.as_deref_mut().unwrap_or_default(),
        };
        let mut probe_runs = split_runs(&mut probes.temperature, &run_lens).into_iter();
        probe_runs.next();
        let indices = &probes.indices[..];
        let tasks: Vec<Slab> = fields
            .split_runs(&run_lens)
            .into_iter()
            .skip(1)
            .zip(probe_runs)
            .zip(bounds.windows(2))
            .map(|((out, probed), w)| {
                let (first, last) = (w[0] * plane, w[1] * plane);
                let from = indices.partition_point(|&i| (i as usize) < first);
                let to = indices.partition_point(|&i| (i as usize) < last);
                Slab {
                    planes: w[0]..w[1],
                    out,
                    probes: &indices[from..to],
                    probed,
                }
            })
            .collect();
        tasks
            .into_par_iter()
            .for_each(|slab| self.sweep_slab(t0, &heat, seconds, slab));
        // The first and last planes are held fixed: after the first step they are what they were.
        for face in [0, nz - 1] {
            for &i in in_plane(indices, face, plane, |&i| i) {
                probes.temperature[i as usize] = t0[i as usize];
            }
        }
        std::mem::swap(&mut state.temperature, &mut state.scratch);
        state.time_s += f64::from(self.dt_s);
        state.time_s += f64::from(self.dt_s);
    }

    /// The two-step wavefront over one slab of planes.
    fn sweep_slab(&self, t0: &[f32], heat: &[(u32, f32)], seconds: f32, mut slab: Slab) {
        let [nx, ny, nz] = self.grid.dims;
        let plane = nx * ny;
        let first = slab.planes.start;
        let mut ring = vec![0f32; 3 * plane];
        let mut spare_dose = vec![0f32; plane];
        let mut spare_damage = vec![0f32; if self.tracks_damage() { plane } else { 0 }];
        let original = |p: usize| &t0[p * plane..(p + 1) * plane];
        for p in first - 1..=slab.planes.end {
            let slot = &mut ring[(p % 3) * plane..(p % 3 + 1) * plane];
            if p == 0 || p == nz - 1 {
                slot.copy_from_slice(original(p));
            } else {
                copy_borders(slot, original(p), nx, ny);
                let around = Around {
                    below: original(p - 1),
                    centre: original(p),
                    above: original(p + 1),
                };
                let own = slab.planes.contains(&p);
                let (dose, damage) = if own {
                    let accumulators = slab.out.row((p - first) * plane, plane);
                    (accumulators.dose, accumulators.damage)
                } else {
                    (&mut spare_dose[..], &mut spare_damage[..])
                };
                let out = Fields {
                    temperature: &mut *slot,
                    dose,
                    damage,
                };
                self.update_plane(&around, p, out);
                if own {
                    for &i in in_plane(slab.probes, p, plane, |&i| i) {
                        slab.probed[i as usize - first * plane] = slot[i as usize - p * plane];
                    }
                }
            }
            for &(index, rate) in in_plane(heat, p, plane, |s| s.0) {
                slot[index as usize - p * plane] += rate * seconds;
            }
            let Some(q) = p.checked_sub(1).filter(|q| slab.planes.contains(q)) else {
                continue;
            };
            let slot_of = |z: usize| &ring[(z % 3) * plane..(z % 3 + 1) * plane];
            let around = Around {
                below: slot_of(q - 1),
                centre: slot_of(q),
                above: slot_of(p),
            };
            self.update_plane(&around, q, slab.out.row((q - first) * plane, plane));
        }
    }
}

/// One slab's share of the work: its planes, its part of the output fields and of the probes.
struct Slab<'a> {
    planes: std::ops::Range<usize>,
    out: Fields<'a>,
    probes: &'a [u32],
    /// The probe temperature field over the slab's planes.
    probed: &'a mut [f32],
}

/// The fixed border of a plane (rows y = 0 and ny − 1, columns x = 0 and nx − 1), copied from `from`.
fn copy_borders(to: &mut [f32], from: &[f32], nx: usize, ny: usize) {
    let last = (ny - 1) * nx;
    to[..nx].copy_from_slice(&from[..nx]);
    to[last..].copy_from_slice(&from[last..]);
    for y in 1..ny - 1 {
        to[y * nx] = from[y * nx];
        to[y * nx + nx - 1] = from[y * nx + nx - 1];
    }
}

/// The entries of `sorted` (ordered by voxel index) that lie in plane `z`.
fn in_plane<T>(sorted: &[T], z: usize, plane: usize, index: impl Fn(&T) -> u32) -> &[T] {
    let from = sorted.partition_point(|e| (index(e) as usize) < z * plane);
    let to = sorted.partition_point(|e| (index(e) as usize) < (z + 1) * plane);
    &sorted[from..to]
}

#[cfg(test)]
mod tests;
