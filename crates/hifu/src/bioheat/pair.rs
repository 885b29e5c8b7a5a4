//! Temporal blocking: two solver steps per sweep over memory. Each slab of depth planes runs a
//! wavefront: the first step of plane p goes into a ring of three cache-resident planes, then the
//! second step of plane p − 1 reads the ring and writes the result. Temperatures, coefficients and
//! dose are streamed once for two steps, with exactly the arithmetic of two calls to `step`.

use super::fields::split_runs;
use super::{Around, BioheatModel, BioheatState, Fields};
use crate::grid::Grid;
use rayon::prelude::*;
use std::borrow::Cow;
use std::ops::Range;

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

/// Voxels per tile of rows: a tile's planes (ring, temperatures, coefficients, dose), about 16 of them,
/// then take about 1 MB and stay in a core's L2 cache while the wavefront passes; the first step
/// recomputes one row on either side of each tile.
const CELLS_PER_TILE: usize = 16_384;

impl BioheatModel {
    /// Advances `state` by two time steps in one sweep, exactly as `step` twice would with
    /// `state.heat(heat, seconds)` between them (heat goes to free voxels). The temperature after the
    /// first step, before that heat, is kept at the probed voxels. (The ADI scheme takes the two
    /// steps one after the other.)
    pub fn step_pair(
        &self,
        state: &mut BioheatState,
        heat: &[(u32, f32)],
        seconds: f32,
        probes: &mut Probes,
    ) {
        if self.adi.is_some() {
            // ADI streams its fields several times per step: two plain steps, the probes between.
            self.step(state);
            probes.temperature.resize(self.grid.cell_count(), 0.0);
            for &i in &probes.indices {
                probes.temperature[i as usize] = state.temperature[i as usize];
            }
            state.heat(heat, seconds);
            return self.step(state);
        }
        let interior = self.grid.dims[2] - 2;
        let slabs = (interior / PLANES_PER_SLAB).clamp(1, 2 * rayon::current_num_threads());
        let rows = (CELLS_PER_TILE / self.grid.dims[0]).max(1);
        self.step_pair_in_slabs(state, heat, seconds, probes, [slabs, rows]);
    }

    /// [`BioheatModel::step_pair`] with the interior planes cut into `slabs` slabs, each swept in
    /// tiles of `rows` rows.
    pub(super) fn step_pair_in_slabs(
        &self,
        state: &mut BioheatState,
        heat: &[(u32, f32)],
        seconds: f32,
        probes: &mut Probes,
        [slabs, rows]: [usize; 2],
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
            .for_each(|slab| self.sweep_slab(t0, &heat, seconds, slab, rows));
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

    /// The two-step wavefront over one slab of planes, one tile of rows at a time.
    fn sweep_slab(
        &self,
        t0: &[f32],
        heat: &[(u32, f32)],
        seconds: f32,
        mut slab: Slab,
        rows: usize,
    ) {
        let ny = self.grid.dims[1];
        let plane = self.grid.dims[0] * ny;
        let mut ring = Ring {
            planes: vec![0f32; 3 * plane],
            spare_dose: vec![0f32; plane],
            spare_damage: vec![0f32; if self.tracks_damage() { plane } else { 0 }],
        };
        let (interior, rows) = (1..ny - 1, rows.max(1));
        for tile in interior.clone().step_by(rows) {
            let tile = tile..(tile + rows).min(interior.end);
            self.sweep_tile(t0, heat, seconds, &mut slab, &mut ring, tile);
        }
    }

    /// The wavefront over the rows `tile` of a slab: the first step also computes the row on either
    /// side (into the ring only: its dose goes to the spare planes), which the second step reads.
    fn sweep_tile(
        &self,
        t0: &[f32],
        heat: &[(u32, f32)],
        seconds: f32,
        slab: &mut Slab,
        ring: &mut Ring,
        tile: Range<usize>,
    ) {
        let [nx, ny, nz] = self.grid.dims;
        let plane = nx * ny;
        let first = slab.planes.start;
        // Ring rows the second step reads, and the interior ones among them the first step computes.
        let read = tile.start - 1..tile.end + 1;
        let computed = read.start.max(1)..read.end.min(ny - 1);
        let halos = [computed.start..tile.start, tile.end..computed.end];
        let original = |p: usize| &t0[p * plane..(p + 1) * plane];
        for p in first - 1..=slab.planes.end {
            let slot = &mut ring.planes[(p % 3) * plane..(p % 3 + 1) * plane];
            if p == 0 || p == nz - 1 {
                let rows = read.start * nx..read.end * nx;
                slot[rows.clone()].copy_from_slice(&original(p)[rows]);
            } else {
                copy_borders(slot, original(p), [nx, ny], read.clone());
                let around = Around {
                    below: original(p - 1),
                    centre: original(p),
                    above: original(p + 1),
                };
                let own = slab.planes.contains(&p);
                let mut spare = Fields {
                    temperature: &mut *slot,
                    dose: &mut ring.spare_dose,
                    damage: &mut ring.spare_damage,
                };
                for halo in halos.clone() {
                    self.update_rows(&around, p, halo, spare.row(0, plane));
                }
                let out = if own {
                    let accumulators = slab.out.row((p - first) * plane, plane);
                    Fields {
                        temperature: &mut *slot,
                        ..accumulators
                    }
                } else {
                    spare
                };
                self.update_rows(&around, p, tile.clone(), out);
                if own {
                    // The tile's rows, and the fixed border rows next to it.
                    let probed = if tile.start == 1 { 0 } else { tile.start }
                        ..if tile.end == ny - 1 { ny } else { tile.end };
                    let rows = p * plane + probed.start * nx..p * plane + probed.end * nx;
                    for &i in in_range(slab.probes, rows, |&i| i) {
                        slab.probed[i as usize - first * plane] = slot[i as usize - p * plane];
                    }
                }
            }
            let rows = p * plane + read.start * nx..p * plane + read.end * nx;
            for &(index, rate) in in_range(heat, rows, |s| s.0) {
                slot[index as usize - p * plane] += rate * seconds;
            }
            let Some(q) = p.checked_sub(1).filter(|q| slab.planes.contains(q)) else {
                continue;
            };
            let slot_of = |z: usize| &ring.planes[(z % 3) * plane..(z % 3 + 1) * plane];
            let around = Around {
                below: slot_of(q - 1),
                centre: slot_of(q),
                above: slot_of(p),
            };
            let out = slab.out.row((q - first) * plane, plane);
            self.update_rows(&around, q, tile.clone(), out);
        }
    }
}

/// A slab's working planes: the ring of three first-step planes, and the dose and damage planes that
/// take what the first step accumulates outside the slab's own voxels (recomputed halos).
struct Ring {
    planes: Vec<f32>,
    spare_dose: Vec<f32>,
    spare_damage: Vec<f32>,
}

/// One slab's share of the work: its planes, its part of the output fields and of the probes.
struct Slab<'a> {
    planes: std::ops::Range<usize>,
    out: Fields<'a>,
    probes: &'a [u32],
    /// The probe temperature field over the slab's planes.
    probed: &'a mut [f32],
}

/// The fixed border cells among rows `rows` of a plane (whole rows y = 0 and ny − 1, columns x = 0
/// and nx − 1 of the others), copied from `from`.
fn copy_borders(to: &mut [f32], from: &[f32], [nx, ny]: [usize; 2], rows: Range<usize>) {
    for y in rows {
        let row = y * nx..(y + 1) * nx;
        if y == 0 || y == ny - 1 {
            to[row.clone()].copy_from_slice(&from[row]);
        } else {
            to[row.start] = from[row.start];
            to[row.end - 1] = from[row.end - 1];
        }
    }
}

/// The entries of `sorted` (ordered by voxel index) whose voxel lies in `range`.
fn in_range<T>(sorted: &[T], range: Range<usize>, index: impl Fn(&T) -> u32) -> &[T] {
    let from = sorted.partition_point(|e| (index(e) as usize) < range.start);
    let to = sorted.partition_point(|e| (index(e) as usize) < range.end);
    &sorted[from..to]
}

/// The entries of `sorted` (ordered by voxel index) that lie in plane `z`.
fn in_plane<T>(sorted: &[T], z: usize, plane: usize, index: impl Fn(&T) -> u32) -> &[T] {
    in_range(sorted, z * plane..(z + 1) * plane, index)
}

#[cfg(test)]
mod tests;
