//! Acoustic heating on the voxel grid: in the focal zone (a sphere around the focus) the intensity
//! of the Rayleigh table, computed once, voxel-averaged so deposited power is conserved, translated
//! to each focus and scaled by the power-law attenuation along rays from the bowl; outside it the
//! geometric cone of `beam_path.rs` from the bowl face to past the focus; Q = 2·alpha_abs·I.

use crate::beam_path::{PathBeam, path_sources};
use crate::grid::{Grid, Voxel};
use crate::medium::Medium;
use crate::rayleigh::IntensityTable;
use crate::tissue::Tissue;
use crate::transducer::Bowl;

/// Voxel-averaged intensity per watt (1/m²) on the voxels of the focal zone around the focus voxel.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatPattern {
    /// Half-extent of the window in voxels along x, y and z.
    pub half: [usize; 3],
    pub spacing_m: f64,
    /// Radius of the focal zone (m): voxel centres nearer the focus take the table, the others the
    /// beam-path model; `None`: the table's window alone (the beam outside it is not modelled).
    pub zone_m: Option<f64>,
    per_watt: Vec<f32>,
}

impl HeatPattern {
    /// Averages the table over `subsamples`³ points in each voxel of a window of half-size
    /// `lateral_m` × `lateral_m` × `axial_m` (no beam outside it).
    pub fn from_table(
        table: &IntensityTable,
        spacing_m: f64,
        (lateral_m, axial_m): (f64, f64),
        subsamples: usize,
    ) -> HeatPattern {
        Self::averaged(table, spacing_m, (lateral_m, axial_m), subsamples, None)
    }

    /// The focal zone of radius `zone_m`, voxel-averaged like [`HeatPattern::from_table`]; the
    /// beam outside it comes from the beam-path model.
    pub fn focal_zone(
        table: &IntensityTable,
        spacing_m: f64,
        zone_m: f64,
        subsamples: usize,
    ) -> HeatPattern {
        Self::averaged(table, spacing_m, (zone_m, zone_m), subsamples, Some(zone_m))
    }

    fn averaged(
        table: &IntensityTable,
        spacing_m: f64,
        (lateral_m, axial_m): (f64, f64),
        subsamples: usize,
        zone_m: Option<f64>,
    ) -> HeatPattern {
        let hl = (lateral_m / spacing_m).ceil() as usize;
        let half = [hl, hl, (axial_m / spacing_m).ceil() as usize];
        let outside_zone = |dx: isize, dy: isize, dz: isize| {
            zone_m.is_some_and(|zone| {
                let d2 = (dx * dx + dy * dy + dz * dz) as f64 * spacing_m * spacing_m;
                d2.sqrt() >= zone
            })
        };
        let n = subsamples.max(1);
        let sub = |i: usize| ((i as f64 + 0.5) / n as f64 - 0.5) * spacing_m;
        let mut per_watt =
            Vec::with_capacity((2 * half[0] + 1) * (2 * half[1] + 1) * (2 * half[2] + 1));
        for dz in -(half[2] as isize)..=half[2] as isize {
            for dy in -(half[1] as isize)..=half[1] as isize {
                for dx in -(half[0] as isize)..=half[0] as isize {
                    if outside_zone(dx, dy, dz) {
                        per_watt.push(0.0);
                        continue;
                    }
                    let mut sum = 0.0;
                    for (i, j, k) in (0..n)
                        .flat_map(|i| (0..n).flat_map(move |j| (0..n).map(move |k| (i, j, k))))
                    {
                        let x = dx as f64 * spacing_m + sub(i);
                        let y = dy as f64 * spacing_m + sub(j);
                        let z = dz as f64 * spacing_m + sub(k);
                        sum += table.at(x.hypot(y), z);
                    }
                    per_watt.push((sum / (n * n * n) as f64) as f32);
                }
            }
        }
        HeatPattern {
            half,
            spacing_m,
            zone_m,
            per_watt,
        }
    }

    /// Every window offset with its intensity per watt.
    pub fn offsets(&self) -> impl Iterator<Item = ([isize; 3], f32)> + '_ {
        let [hx, hy, hz] = self.half.map(|h| h as isize);
        (-hz..=hz)
            .flat_map(move |z| (-hy..=hy).flat_map(move |y| (-hx..=hx).map(move |x| [x, y, z])))
            .zip(self.per_watt.iter().copied())
    }
}

/// Amplitude attenuation (Np/m) of each tissue of `medium` at the bowl's frequency, by label.
fn attenuation_table(medium: &Medium, bowl: &Bowl) -> [f64; Tissue::ALL.len()] {
    Tissue::ALL.map(|t| medium.properties(t).attenuation_np_per_m(bowl.frequency_hz))
}

/// Intensity transmission to `focus_m` (metres in grid coordinates): the mean over rays from an
/// area-weighted set of bowl points of e^(−2∫alpha ds), marched at half-voxel steps.
pub fn transmission(medium: &Medium, bowl: &Bowl, focus_m: [f64; 3]) -> f64 {
    const RINGS: usize = 5;
    const AZIMUTHS: usize = 8;
    let alpha = attenuation_table(medium, bowl);
    let r = bowl.radius_of_curvature_m;
    let theta_max = (bowl.aperture_radius_m / r).asin();
    let step = medium.grid.spacing_m / 2.0;
    let steps = (r / step).ceil() as usize;
    let (mut total, mut weights) = (0.0, 0.0);
    for ring in 0..RINGS {
        let theta = (ring as f64 + 0.5) / RINGS as f64 * theta_max;
        for j in 0..AZIMUTHS {
            let phi = 2.0 * std::f64::consts::PI * j as f64 / AZIMUTHS as f64;
            let direction = [
                theta.sin() * phi.cos(),
                theta.sin() * phi.sin(),
                -theta.cos(),
            ];
            let optical_depth: f64 = (0..steps)
                .map(|i| {
                    let s = (i as f64 + 0.5) * r / steps as f64;
                    let point = [0, 1, 2].map(|a| focus_m[a] + s * direction[a]);
                    alpha[usize::from(medium.tissue_at_extended(point).label())]
                })
                .sum::<f64>()
                * r
                / steps as f64;
            total += theta.sin() * (-2.0 * optical_depth).exp();
            weights += theta.sin();
        }
    }
    total / weights
}

/// The heat sources (voxel, K/s) of a sonication at `focus` and `power_w`, in voxel order:
/// Q = 2·alpha_abs·I/(rho·c), with I in the focal zone the pattern scaled by the ray transmission
/// and the local attenuation past the focus depth, and outside it (when the pattern has a zone)
/// the beam path from the bowl face through the focus and beyond.
pub fn spot_sources(
    medium: &Medium,
    pattern: &HeatPattern,
    bowl: &Bowl,
    focus: Voxel,
    power_w: f64,
    is_free: &dyn Fn(usize) -> bool,
) -> Vec<(u32, f32)> {
    let path = transmission(medium, bowl, medium.grid.position(focus));
    let mut sources =
        sources_with_transmission(medium, pattern, bowl, focus, power_w * path, is_free);
    if let Some(zone_m) = pattern.zone_m {
        let beam = PathBeam {
            bowl,
            focus,
            power_w,
            focal_zone_m: zone_m,
            focal_optical_depth: -0.5 * path.max(f64::MIN_POSITIVE).ln(),
        };
        sources.extend(path_sources(medium, &beam, is_free));
    }
    // Ordered by voxel, as the two-step sweep wants them (the two sets do not overlap).
    sources.sort_by_key(|&(index, _)| index);
    sources
}

/// Like [`spot_sources`] with the power already scaled by the path transmission.
pub fn sources_with_transmission(
    medium: &Medium,
    pattern: &HeatPattern,
    bowl: &Bowl,
    focus: Voxel,
    focal_intensity_scale: f64,
    is_free: &dyn Fn(usize) -> bool,
) -> Vec<(u32, f32)> {
    let grid: &Grid = &medium.grid;
    let alpha = attenuation_table(medium, bowl);
    pattern
        .offsets()
        .filter_map(|(offset, per_watt)| {
            let voxel = grid.offset(focus, offset)?;
            let index = grid.index(voxel);
            if !is_free(index) || per_watt <= 0.0 {
                return None;
            }
            let tissue = medium.tissue(voxel);
            let a = alpha[usize::from(tissue.label())];
            let past_focus = offset[2] as f64 * grid.spacing_m;
            let intensity =
                focal_intensity_scale * f64::from(per_watt) * (-2.0 * a * past_focus).exp();
            let props = medium.properties(tissue);
            let rate = 2.0 * props.absorption_np_per_m(bowl.frequency_hz) * intensity
                / props.heat_capacity();
            Some((index as u32, rate as f32))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Grid;
    use crate::transducer::WATER;

    #[test]
    fn the_focal_plane_of_the_window_carries_most_of_the_power() {
        let bowl = Bowl::default();
        let table = IntensityTable::compute(
            &bowl,
            WATER,
            2.5,
            (5.0e-3, 1.0e-3),
            (0.1e-3, 0.5e-3),
            &|_, _| {},
        );
        let spacing = 0.5e-3;
        let pattern = HeatPattern::from_table(&table, spacing, (3.5e-3, 0.0), 4);
        let in_plane: f64 =
            pattern.offsets().map(|(_, w)| f64::from(w)).sum::<f64>() * spacing * spacing;
        // The Airy main lobe holds 84 % of the power and the window adds side lobes; p²/(2ρc) counts
        // waves arriving obliquely at full weight, which overstates the flux by 1/<cos θ> ≤ 1.146.
        let mean_cos = (1.0 + (1.0 - (0.1f64 / 0.15).powi(2)).sqrt()) / 2.0;
        assert!(
            in_plane > 0.84 && in_plane <= 1.0 / mean_cos,
            "power fraction through the window {in_plane}"
        );
    }

    #[test]
    fn transmission_falls_with_depth_and_is_one_in_water() {
        let bowl = Bowl::default();
        let water = Medium::uniform(Grid::new([11, 11, 11], 1e-3).unwrap(), Tissue::Water);
        assert!((transmission(&water, &bowl, [5e-3; 3]) - 1.0).abs() < 1e-2);
        let tissue = Medium::uniform(Grid::new([11, 11, 101], 1e-3).unwrap(), Tissue::Fibroid);
        let shallow = transmission(&tissue, &bowl, [5e-3, 5e-3, 20e-3]);
        let deep = transmission(&tissue, &bowl, [5e-3, 5e-3, 80e-3]);
        assert!(deep < shallow && shallow < 1.0);
        // Along the axis alone the loss would be e^(−2·alpha·depth); the oblique rays are longer.
        let alpha = Tissue::Fibroid
            .properties()
            .attenuation_np_per_m(bowl.frequency_hz);
        assert!(deep < (-2.0 * alpha * 0.080f64).exp());
    }
}
