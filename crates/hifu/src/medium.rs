//! The voxel model of the patient: a tissue label per voxel, built from layers and ellipsoids, and
//! the properties of each tissue (the defaults of `tissue.rs` unless a study changes them).

use crate::HifuError;
use crate::grid::{Grid, Voxel};
use crate::tissue::{Tissue, TissueProperties};
use serde::{Deserialize, Serialize};

/// A labelled volume: which tissue each voxel holds, and what each tissue is like.
#[derive(Debug, Clone, PartialEq)]
pub struct Medium {
    pub grid: Grid,
    labels: Vec<Tissue>,
    properties: [TissueProperties; Tissue::ALL.len()],
}

/// An ellipsoid of one tissue, centre and semi-axes in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ellipsoid {
    pub tissue: Tissue,
    pub centre_mm: [f64; 3],
    pub semi_axes_mm: [f64; 3],
}

impl Ellipsoid {
    /// Whether a point (mm) lies inside.
    pub fn contains(&self, point_mm: [f64; 3]) -> bool {
        (0..3)
            .map(|a| ((point_mm[a] - self.centre_mm[a]) / self.semi_axes_mm[a]).powi(2))
            .sum::<f64>()
            <= 1.0
    }
}

/// A slab of one tissue from `top_mm` down to the next layer (depth along z).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub tissue: Tissue,
    pub top_mm: f64,
}

impl Medium {
    /// A medium filled with one tissue.
    pub fn uniform(grid: Grid, tissue: Tissue) -> Medium {
        Medium {
            grid,
            labels: vec![tissue; grid.cell_count()],
            properties: Tissue::ALL.map(Tissue::properties),
        }
    }

    /// A medium from one label per voxel; the count must match the grid.
    pub fn from_labels(grid: Grid, labels: Vec<Tissue>) -> Result<Medium, HifuError> {
        if labels.len() != grid.cell_count() {
            return Err(HifuError::VolumeSize {
                expected: grid.cell_count(),
                actual: labels.len(),
            });
        }
        Ok(Medium {
            grid,
            labels,
            properties: Tissue::ALL.map(Tissue::properties),
        })
    }

    /// Layers by depth (sorted by `top_mm`), then ellipsoids painted over them in order.
    pub fn from_shapes(grid: Grid, layers: &[Layer], ellipsoids: &[Ellipsoid]) -> Medium {
        let mut sorted = layers.to_vec();
        sorted.sort_by(|a, b| a.top_mm.total_cmp(&b.top_mm));
        let mut medium = Medium::uniform(grid, sorted.first().map_or(Tissue::Water, |l| l.tissue));
        for index in 0..grid.cell_count() {
            let point = grid.position(grid.voxel(index)).map(|m| m * 1e3);
            if let Some(layer) = sorted.iter().rev().find(|l| l.top_mm <= point[2]) {
                medium.labels[index] = layer.tissue;
            }
            if let Some(shape) = ellipsoids.iter().rev().find(|e| e.contains(point)) {
                medium.labels[index] = shape.tissue;
            }
        }
        medium
    }

    pub fn labels(&self) -> &[Tissue] {
        &self.labels
    }

    /// The properties of `tissue` in this medium.
    pub fn properties(&self, tissue: Tissue) -> TissueProperties {
        self.properties[usize::from(tissue.label())]
    }

    /// This medium with `tissue`'s properties replaced (sensitivity studies).
    pub fn with_properties(mut self, tissue: Tissue, properties: TissueProperties) -> Medium {
        self.properties[usize::from(tissue.label())] = properties;
        self
    }

    pub fn tissue(&self, voxel: Voxel) -> Tissue {
        self.labels[self.grid.index(voxel)]
    }

    /// Tissue at a point in metres; outside the box the nearest face voxel continues the layers
    /// sideways and downwards, and everything above the top face is coupling water.
    pub fn tissue_at_extended(&self, position_m: [f64; 3]) -> Tissue {
        if position_m[2] < -0.5 * self.grid.spacing_m {
            return Tissue::Water;
        }
        let mut voxel = [0; 3];
        for axis in 0..3 {
            let v = (position_m[axis] / self.grid.spacing_m).round();
            voxel[axis] = v.clamp(0.0, (self.grid.dims[axis] - 1) as f64) as usize;
        }
        self.tissue(voxel)
    }

    /// Linear indices of every voxel holding `tissue`.
    pub fn indices_of(&self, tissue: Tissue) -> Vec<usize> {
        (0..self.labels.len())
            .filter(|&i| self.labels[i] == tissue)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_paint_layers_then_ellipsoids() {
        let grid = Grid::new([21, 21, 21], 1e-3).unwrap();
        let layers = [
            Layer {
                tissue: Tissue::Skin,
                top_mm: 0.0,
            },
            Layer {
                tissue: Tissue::Muscle,
                top_mm: 2.5,
            },
        ];
        let ball = Ellipsoid {
            tissue: Tissue::Fibroid,
            centre_mm: [10.0; 3],
            semi_axes_mm: [5.0; 3],
        };
        let medium = Medium::from_shapes(grid, &layers, &[ball]);
        assert_eq!(medium.tissue([0, 0, 2]), Tissue::Skin);
        assert_eq!(medium.tissue([0, 0, 3]), Tissue::Muscle);
        assert_eq!(medium.tissue([10, 10, 10]), Tissue::Fibroid);
        assert_eq!(medium.tissue([10, 10, 16]), Tissue::Muscle);
        let fibroid = medium.indices_of(Tissue::Fibroid).len() as f64;
        let exact = 4.0 / 3.0 * std::f64::consts::PI * 125.0;
        assert!((fibroid - exact).abs() / exact < 0.05);
        assert_eq!(
            medium.tissue_at_extended([-0.05, 0.01, 0.01]),
            Tissue::Muscle
        );
        assert_eq!(medium.tissue_at_extended([0.0, 0.0, -0.01]), Tissue::Water);
    }
}
