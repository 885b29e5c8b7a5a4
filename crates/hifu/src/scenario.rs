//! The 10 cm uterine fibroid scenario: a layered abdominal wall over a uterus holding a spherical
//! fibroid, with bowel behind it as an organ at risk and tissue behind the bowel, in a box whose
//! faces (held at body temperature) lie far enough from the fibroid and the bowel not to act as
//! heat sinks near them (docs/hifu.md, "Boundaries"). Every field has a default.

use crate::HifuError;
use crate::grid::Grid;
use crate::medium::{Ellipsoid, Layer, Medium};
use crate::tissue::Tissue;
use serde::{Deserialize, Serialize};

/// Geometry of the fibroid scenario, millimetres; depth z grows away from the transducer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FibroidScenario {
    pub spacing_mm: f64,
    /// Margin of tissue around the fibroid on each lateral side: about three perfusion lengths of
    /// muscle (14 mm), where a steady temperature excess has fallen to e^−3 ≈ 5 %.
    pub lateral_margin_mm: f64,
    pub bolus_mm: f64,
    pub skin_mm: f64,
    pub fat_mm: f64,
    pub muscle_mm: f64,
    /// Uterine wall in front of the fibroid.
    pub myometrium_mm: f64,
    /// Fibroid semi-axes (x, y, z).
    pub fibroid_semi_axes_mm: [f64; 3],
    /// Uterine tissue between the back of the fibroid and the bowel.
    pub bowel_gap_mm: f64,
    pub bowel_mm: f64,
    /// Tissue (muscle) behind the bowel, so the box's deep face is not against the organ at risk.
    pub posterior_mm: f64,
}

impl Default for FibroidScenario {
    fn default() -> FibroidScenario {
        FibroidScenario {
            spacing_mm: 1.5,
            lateral_margin_mm: 40.0,
            bolus_mm: 3.0,
            skin_mm: 2.0,
            fat_mm: 10.0,
            muscle_mm: 8.0,
            myometrium_mm: 5.0,
            fibroid_semi_axes_mm: [50.0; 3],
            bowel_gap_mm: 15.0,
            bowel_mm: 12.0,
            posterior_mm: 30.0,
        }
    }
}

impl FibroidScenario {
    /// Depth of the fibroid's front surface.
    fn fibroid_top_mm(&self) -> f64 {
        self.bolus_mm + self.skin_mm + self.fat_mm + self.muscle_mm + self.myometrium_mm
    }

    /// Centre of the fibroid in grid coordinates (mm).
    pub fn fibroid_centre_mm(&self) -> [f64; 3] {
        let [ax, ay, az] = self.fibroid_semi_axes_mm;
        [
            ax + self.lateral_margin_mm,
            ay + self.lateral_margin_mm,
            self.fibroid_top_mm() + az,
        ]
    }

    /// Builds the voxel model; the fibroid is centred laterally.
    pub fn build(&self) -> Result<Medium, HifuError> {
        let [ax, ay, az] = self.fibroid_semi_axes_mm;
        if [ax, ay, az, self.spacing_mm]
            .iter()
            .any(|v| !(v.is_finite() && *v > 0.0))
        {
            return Err(HifuError::Grid(
                "fibroid axes and spacing must be positive".into(),
            ));
        }
        if !(self.posterior_mm.is_finite() && self.posterior_mm >= 0.0) {
            return Err(HifuError::Grid(format!(
                "posterior_mm must be 0 or more, got {}",
                self.posterior_mm
            )));
        }
        let top = self.fibroid_top_mm();
        let bowel_top = top + 2.0 * az + self.bowel_gap_mm;
        let depth = bowel_top + self.bowel_mm + self.posterior_mm;
        let cells = |extent: f64| (extent / self.spacing_mm).round() as usize + 1;
        let width = |semi: f64| 2.0 * (semi + self.lateral_margin_mm);
        let grid = Grid::new(
            [cells(width(ax)), cells(width(ay)), cells(depth)],
            self.spacing_mm * 1e-3,
        )?;
        let mut depth_so_far = 0.0;
        let mut layers = Vec::new();
        for (tissue, thickness) in [
            (Tissue::Water, self.bolus_mm),
            (Tissue::Skin, self.skin_mm),
            (Tissue::Fat, self.fat_mm),
            (Tissue::Muscle, self.muscle_mm),
            (
                Tissue::Myometrium,
                self.myometrium_mm + 2.0 * az + self.bowel_gap_mm,
            ),
            (Tissue::Bowel, self.bowel_mm),
            (Tissue::Muscle, self.posterior_mm),
        ] {
            layers.push(Layer {
                tissue,
                top_mm: depth_so_far,
            });
            depth_so_far += thickness;
        }
        let fibroid = Ellipsoid {
            tissue: Tissue::Fibroid,
            centre_mm: self.fibroid_centre_mm(),
            semi_axes_mm: self.fibroid_semi_axes_mm,
        };
        Ok(Medium::from_shapes(grid, &layers, &[fibroid]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_scenario_holds_a_10_cm_fibroid_above_the_bowel() {
        let medium = FibroidScenario::default().build().unwrap();
        let voxel = medium.grid.voxel_volume_mm3();
        let fibroid = medium.indices_of(Tissue::Fibroid).len() as f64 * voxel;
        let sphere = 4.0 / 3.0 * std::f64::consts::PI * 50f64.powi(3);
        assert!((fibroid - sphere).abs() / sphere < 0.02, "{fibroid} mm³");
        let [nx, ny, nz] = medium.grid.dims;
        assert_eq!(medium.tissue([nx / 2, ny / 2, 0]), Tissue::Water);
        assert_eq!(medium.tissue([nx / 2, ny / 2, nz - 1]), Tissue::Muscle);
        let behind = FibroidScenario::default();
        let bowel_depth_mm = behind.fibroid_centre_mm()[2] + 50.0 + behind.bowel_gap_mm + 1.0;
        let bowel_z = (bowel_depth_mm / behind.spacing_mm).round() as usize;
        assert_eq!(medium.tissue([nx / 2, ny / 2, bowel_z]), Tissue::Bowel);
        assert_eq!(medium.tissue([nx / 2, ny / 2, nz / 2]), Tissue::Fibroid);
    }
}
