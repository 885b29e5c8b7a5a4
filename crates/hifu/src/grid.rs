//! A regular 3D voxel grid: dimensions, spacing and index arithmetic (x fastest, then y, then z = depth).

use crate::HifuError;
use serde::{Deserialize, Serialize};

/// Voxel coordinates (x, y, z); z is depth along the beam axis, away from the transducer.
pub type Voxel = [usize; 3];

/// Grid dimensions and isotropic spacing in metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    pub dims: [usize; 3],
    pub spacing_m: f64,
}

impl Grid {
    /// A grid with at least 3 cells along every axis (so it has an interior) and a positive spacing.
    pub fn new(dims: [usize; 3], spacing_m: f64) -> Result<Grid, HifuError> {
        if dims.iter().any(|&n| n < 3) {
            return Err(HifuError::Grid(format!(
                "every dimension needs 3 cells or more, got {dims:?}"
            )));
        }
        if dims
            .iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
            .is_none_or(|n| n > 1 << 31)
        {
            return Err(HifuError::Grid(format!("{dims:?} has too many cells")));
        }
        if !(spacing_m.is_finite() && spacing_m > 0.0 && spacing_m < 1.0) {
            return Err(HifuError::Grid(format!(
                "spacing {spacing_m} m is not in (0, 1)"
            )));
        }
        Ok(Grid { dims, spacing_m })
    }

    pub fn cell_count(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    /// Linear index of a voxel.
    pub fn index(&self, [x, y, z]: Voxel) -> usize {
        (z * self.dims[1] + y) * self.dims[0] + x
    }

    /// Voxel of a linear index.
    pub fn voxel(&self, index: usize) -> Voxel {
        let [nx, ny, _] = self.dims;
        [index % nx, (index / nx) % ny, index / (nx * ny)]
    }

    /// Centre of a voxel in metres.
    pub fn position(&self, voxel: Voxel) -> [f64; 3] {
        voxel.map(|v| v as f64 * self.spacing_m)
    }

    /// The voxel whose centre is nearest to `position` (metres), if inside the grid.
    pub fn nearest_voxel(&self, position: [f64; 3]) -> Option<Voxel> {
        let mut voxel = [0; 3];
        for axis in 0..3 {
            let v = (position[axis] / self.spacing_m).round();
            if !(v >= 0.0 && v < self.dims[axis] as f64) {
                return None;
            }
            voxel[axis] = v as usize;
        }
        Some(voxel)
    }

    /// The voxel shifted by `offset`, if it stays inside the grid.
    pub fn offset(&self, voxel: Voxel, offset: [isize; 3]) -> Option<Voxel> {
        let mut out = [0; 3];
        for axis in 0..3 {
            let v = voxel[axis].checked_add_signed(offset[axis])?;
            if v >= self.dims[axis] {
                return None;
            }
            out[axis] = v;
        }
        Some(out)
    }

    /// Volume of one voxel in mm³.
    pub fn voxel_volume_mm3(&self) -> f64 {
        (self.spacing_m * 1e3).powi(3)
    }
}
