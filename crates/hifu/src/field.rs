//! How the acoustic field is sampled for heating: Rayleigh patch size, table resolution, the focal
//! zone the table covers, and whether the beam outside it (the whole path) heats.

use crate::heating::HeatPattern;
use crate::rayleigh::IntensityTable;
use crate::transducer::{Bowl, WATER};
use serde::{Deserialize, Serialize};

/// Sampling of the field that feeds the heat source.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldSettings {
    /// Bowl patches per wavelength (side); 3 keeps the focal pressure within 0.1 % of 4 or more.
    pub patches_per_wavelength: f64,
    pub table_dr_mm: f64,
    pub table_dz_mm: f64,
    /// Heat the whole beam path (bowl face to past the focus): the Rayleigh table within
    /// `focal_zone_mm` of the focus, geometric rays outside it. `false`: only the window below
    /// (the model before issue 17, which left skin, abdominal wall and far field unheated).
    pub whole_beam: bool,
    /// Radius of the focal zone where the Rayleigh table gives the intensity.
    pub focal_zone_mm: f64,
    /// Half-size of the heated window around the focus when `whole_beam` is off.
    pub window_lateral_mm: f64,
    pub window_axial_mm: f64,
    /// Sub-samples per voxel edge when averaging intensity over a voxel.
    pub subsamples: usize,
}

impl Default for FieldSettings {
    fn default() -> FieldSettings {
        FieldSettings {
            patches_per_wavelength: 3.0,
            table_dr_mm: 0.2,
            table_dz_mm: 0.5,
            whole_beam: true,
            focal_zone_mm: 12.0,
            window_lateral_mm: 6.0,
            window_axial_mm: 15.0,
            subsamples: 4,
        }
    }
}

impl FieldSettings {
    /// The axisymmetric intensity table (Rayleigh integral, once) covering the window.
    pub fn intensity_table(
        &self,
        bowl: &Bowl,
        spacing_m: f64,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> IntensityTable {
        let (r_max, z_half) = if self.whole_beam {
            let reach = self.focal_zone_mm * 1e-3 + spacing_m;
            (reach, reach)
        } else {
            (
                (self.window_lateral_mm * 1e-3 + spacing_m) * std::f64::consts::SQRT_2,
                self.window_axial_mm * 1e-3 + spacing_m,
            )
        };
        IntensityTable::compute(
            bowl,
            WATER,
            self.patches_per_wavelength,
            (r_max, z_half),
            (self.table_dr_mm * 1e-3, self.table_dz_mm * 1e-3),
            progress,
        )
    }

    /// The voxel heat pattern for a grid of `spacing_m`.
    pub fn heat_pattern(
        &self,
        bowl: &Bowl,
        spacing_m: f64,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> HeatPattern {
        let table = self.intensity_table(bowl, spacing_m, progress);
        if self.whole_beam {
            HeatPattern::focal_zone(
                &table,
                spacing_m,
                self.focal_zone_mm * 1e-3,
                self.subsamples,
            )
        } else {
            HeatPattern::from_table(
                &table,
                spacing_m,
                (self.window_lateral_mm * 1e-3, self.window_axial_mm * 1e-3),
                self.subsamples,
            )
        }
    }
}
