//! Sub-voxel volume of a threshold region (lesion = CEM43 ≥ 240, damage = Ω ≥ 1): the logarithm of
//! the field is interpolated between voxel centres (tensor-product Catmull–Rom, exact for
//! quadratics) and the part of each cell between eight centres that lies above the threshold is
//! integrated by sub-samples. Counting whole voxels is a staircase whose error is a shell one voxel
//! thick; a lesion 3-4 voxels across (a 1 s shot at 0.75 mm) then changes by ~10 % with the
//! spacing for no physical reason. Tests compare both against closed-form threshold volumes.

use crate::grid::Grid;
use rayon::prelude::*;

/// Sub-samples per axis in a cell the threshold crosses (8³ = 512 per cell).
const SUBSAMPLES: usize = 8;

/// The smallest value whose logarithm is taken (zero and negative values are clamped to it).
const FLOOR: f32 = 1e-30;

/// Cells whose eight corners are all beyond the threshold by more than this factor are counted
/// whole (above) or not at all (below) without sub-sampling; the interpolant cannot cross back.
const CERTAIN_FACTOR: f32 = std::f32::consts::E;

/// Volume (mm³) where `field` (one value per voxel of `grid`, x fastest) is at or above
/// `threshold`, with the field's logarithm interpolated between voxel centres. The region covered
/// is the box between the outermost voxel centres (half a voxel short of the faces); NaN counts as
/// below.
pub fn threshold_volume_mm3(grid: &Grid, field: &[f32], threshold: f32) -> f64 {
    let [nx, ny, nz] = grid.dims;
    if field.len() != grid.cell_count() || threshold.is_nan() || threshold <= 0.0 {
        return 0.0;
    }
    let level = threshold.ln();
    let weights = catmull_rom_weights();
    let cells: f64 = (0..nz - 1)
        .into_par_iter()
        .map(|z| {
            let mut sum = 0.0f64;
            for y in 0..ny - 1 {
                for x in 0..nx - 1 {
                    sum += cell_fraction(grid, field, [x, y, z], threshold, level, &weights);
                }
            }
            sum
        })
        .sum();
    cells * grid.voxel_volume_mm3()
}

/// Volume (mm³) of the voxels at or above `threshold`, counted whole (the staircase estimate).
pub fn voxel_count_volume_mm3(grid: &Grid, field: &[f32], threshold: f32) -> f64 {
    field.iter().filter(|&&v| v >= threshold).count() as f64 * grid.voxel_volume_mm3()
}

/// Catmull–Rom weights of the four nodes around each sub-sample midpoint t = (m + ½)/S.
fn catmull_rom_weights() -> [[f32; 4]; SUBSAMPLES] {
    std::array::from_fn(|m| {
        let t = (m as f32 + 0.5) / SUBSAMPLES as f32;
        let (t2, t3) = (t * t, t * t * t);
        [
            0.5 * (-t3 + 2.0 * t2 - t),
            0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
            0.5 * (-3.0 * t3 + 4.0 * t2 + t),
            0.5 * (t3 - t2),
        ]
    })
}

/// Fraction of the cell whose lowest corner is voxel `corner` that lies at or above the threshold.
fn cell_fraction(
    grid: &Grid,
    field: &[f32],
    [x, y, z]: [usize; 3],
    threshold: f32,
    level: f32,
    weights: &[[f32; 4]; SUBSAMPLES],
) -> f64 {
    let (mut low, mut high) = (f32::INFINITY, f32::NEG_INFINITY);
    for dz in 0..2 {
        for dy in 0..2 {
            let row = grid.index([x, y + dy, z + dz]);
            for v in [field[row], field[row + 1]] {
                // NaN compares false both ways: treat it as far below.
                let v = if v.is_nan() { 0.0 } else { v };
                low = low.min(v);
                high = high.max(v);
            }
        }
    }
    if low >= threshold * CERTAIN_FACTOR {
        return 1.0;
    }
    if high < threshold / CERTAIN_FACTOR {
        return 0.0;
    }
    // The 4 × 4 × 4 nodes around the cell (clamped at the faces), as log values.
    let dims = grid.dims;
    let node = |c: usize, d: usize, n: usize| (c + d).saturating_sub(1).min(n - 1);
    let mut logs = [[[0.0f32; 4]; 4]; 4];
    for (k, plane) in logs.iter_mut().enumerate() {
        for (j, row) in plane.iter_mut().enumerate() {
            for (i, value) in row.iter_mut().enumerate() {
                let index = grid.index([
                    node(x, i, dims[0]),
                    node(y, j, dims[1]),
                    node(z, k, dims[2]),
                ]);
                let v = field[index];
                *value = if v.is_nan() { FLOOR } else { v.max(FLOOR) }.ln();
            }
        }
    }
    // Separable interpolation: along x, then y, then z, counting sub-samples at or above.
    let blend = |w: &[f32; 4], nodes: [f32; 4]| -> f32 { (0..4).map(|i| w[i] * nodes[i]).sum() };
    let along_x: [[[f32; SUBSAMPLES]; 4]; 4] = std::array::from_fn(|k| {
        std::array::from_fn(|j| std::array::from_fn(|mx| blend(&weights[mx], logs[k][j])))
    });
    let along_y: [[[f32; SUBSAMPLES]; SUBSAMPLES]; 4] = std::array::from_fn(|k| {
        std::array::from_fn(|my| {
            std::array::from_fn(|mx| blend(&weights[my], [0, 1, 2, 3].map(|j| along_x[k][j][mx])))
        })
    });
    let above = weights
        .iter()
        .flat_map(|w| {
            (0..SUBSAMPLES * SUBSAMPLES).map(move |m| {
                let (my, mx) = (m / SUBSAMPLES, m % SUBSAMPLES);
                blend(w, [0, 1, 2, 3].map(|k| along_y[k][my][mx]))
            })
        })
        .filter(|&value| value >= level)
        .count();
    above as f64 / (SUBSAMPLES * SUBSAMPLES * SUBSAMPLES) as f64
}

#[cfg(test)]
mod tests;
