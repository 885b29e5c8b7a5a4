//! Heat deposited along the whole beam outside the focal zone: the converging cone from the bowl
//! through the bolus, skin, fat, muscle and uterus to the focal zone, and the diverging cone past
//! it (the far field, where the bowel lies). Geometric (ray) acoustics: a uniformly driven bowl
//! sends its power along straight rays through the geometric focus, so in water the intensity at
//! distance d from the focus inside the cone is P / (2π d² (1 − cos θmax)) (the power spread over
//! the sphere cap the cone cuts), and zero outside it. Each ray loses e^(−2τ) of its intensity,
//! τ the optical depth along it from the bowl, found plane by plane in depth order: a voxel's τ is
//! the τ where its ray crossed the previous plane (bilinear) plus its own attenuation over the
//! step's slant length. Past the focus the rays start from the mean optical depth to the focus.
//! Inside the focal zone (d < its radius) diffraction matters and the Rayleigh table is used
//! instead (`heating.rs`).

use crate::grid::Voxel;
use crate::medium::Medium;
use crate::tissue::Tissue;
use crate::transducer::Bowl;

/// The beam's cone around one focus, in voxel units of the medium's grid.
struct Cone {
    focus: [f64; 3],
    /// tan θmax: the cone's radius per unit of depth away from the focus.
    spread: f64,
    cos_max: f64,
    /// Radius of curvature in voxels (rays start on the bowl, this far from the focus).
    radius: f64,
}

impl Cone {
    fn new(bowl: &Bowl, focus: Voxel, spacing_m: f64) -> Cone {
        let sin_max = (bowl.aperture_radius_m / bowl.radius_of_curvature_m).clamp(0.0, 1.0);
        let cos_max = (1.0 - sin_max * sin_max).sqrt();
        Cone {
            focus: focus.map(|v| v as f64),
            spread: sin_max / cos_max.max(1e-9),
            cos_max,
            radius: bowl.radius_of_curvature_m / spacing_m,
        }
    }

    /// Lateral half-extent of the cone at plane `z` (voxels).
    fn half_width(&self, z: usize) -> f64 {
        (z as f64 - self.focus[2]).abs() * self.spread
    }
}

/// τ over a rectangle of one plane (x fastest), the bounding box of the cone there plus a margin.
struct PlaneDepth {
    x0: usize,
    y0: usize,
    nx: usize,
    ny: usize,
    tau: Vec<f64>,
}

impl PlaneDepth {
    /// Bilinear τ at (x, y) in voxels, clamped to the rectangle (layers continue past its edge).
    fn at(&self, x: f64, y: f64) -> f64 {
        let fx = (x - self.x0 as f64).clamp(0.0, (self.nx - 1) as f64);
        let fy = (y - self.y0 as f64).clamp(0.0, (self.ny - 1) as f64);
        let (ix, iy) = (
            (fx as usize).min(self.nx.saturating_sub(2)),
            (fy as usize).min(self.ny.saturating_sub(2)),
        );
        let (tx, ty) = (fx - ix as f64, fy - iy as f64);
        let v = |i: usize, j: usize| self.tau[(j.min(self.ny - 1)) * self.nx + i.min(self.nx - 1)];
        (1.0 - ty) * ((1.0 - tx) * v(ix, iy) + tx * v(ix + 1, iy))
            + ty * ((1.0 - tx) * v(ix, iy + 1) + tx * v(ix + 1, iy + 1))
    }
}

/// What the path sources need besides the medium.
pub struct PathBeam<'a> {
    pub bowl: &'a Bowl,
    pub focus: Voxel,
    /// Acoustic power leaving the bowl (W).
    pub power_w: f64,
    /// Radius of the focal zone the Rayleigh table covers (m); no path source inside it.
    pub focal_zone_m: f64,
    /// Mean optical depth (Np) from the bowl to the focus, where the diverging rays start.
    pub focal_optical_depth: f64,
}

/// Heat sources (voxel, K/s) of the beam outside the focal zone, in voxel order.
pub fn path_sources(
    medium: &Medium,
    beam: &PathBeam<'_>,
    is_free: &dyn Fn(usize) -> bool,
) -> Vec<(u32, f32)> {
    let grid = medium.grid;
    let h = grid.spacing_m;
    let cone = Cone::new(beam.bowl, beam.focus, h);
    let props = Tissue::ALL.map(|t| medium.properties(t));
    let alpha = props.map(|p| p.attenuation_np_per_m(beam.bowl.frequency_hz) * h);
    let absorption = props.map(|p| p.absorption_np_per_m(beam.bowl.frequency_hz));
    // W/m² at one voxel (d voxels) from the focus, before attenuation: P/(2π d² h² (1 − cos θmax)).
    let spread_w = beam.power_w / (2.0 * std::f64::consts::PI * (1.0 - cone.cos_max) * h * h);
    let zone = beam.focal_zone_m / h;
    let [nx, ny, nz] = grid.dims;
    let fz = beam.focus[2].min(nz - 1);
    let mut sources = Vec::new();
    // Converging rays from the top plane down to the focus, then diverging rays below it.
    let halves: [(Vec<usize>, f64); 2] = [
        ((0..fz).collect(), 0.0),
        (((fz + 1)..nz).collect(), beam.focal_optical_depth),
    ];
    for (planes, start_tau) in halves {
        let mut previous: Option<PlaneDepth> = None;
        for z in planes {
            let half = cone.half_width(z) + 2.0;
            let span = |c: f64, n: usize| {
                let lo = (c - half).floor().max(0.0) as usize;
                let hi = ((c + half).ceil() as usize).min(n - 1);
                (lo, hi - lo + 1)
            };
            let (x0, wx) = span(cone.focus[0], nx);
            let (y0, wy) = span(cone.focus[1], ny);
            let dz = z as f64 - cone.focus[2];
            let mut tau = vec![0.0; wx * wy];
            for j in 0..wy {
                for i in 0..wx {
                    let (x, y) = ((x0 + i) as f64, (y0 + j) as f64);
                    let (vx, vy) = (x - cone.focus[0], y - cone.focus[1]);
                    let d = (vx * vx + vy * vy + dz * dz).sqrt();
                    let index = grid.index([x0 + i, y0 + j, z]);
                    let tissue = medium.labels()[index];
                    let label = usize::from(tissue.label());
                    // The slant length of a ray through this voxel across one plane.
                    let slant = d / dz.abs();
                    let before = match &previous {
                        // Where this voxel's ray crossed the previous plane (one step nearer the
                        // bowl above the focus, nearer the focus below it).
                        Some(p) => {
                            let scale = if dz < 0.0 {
                                (1.0 - dz) / -dz
                            } else {
                                (dz - 1.0) / dz
                            };
                            p.at(cone.focus[0] + vx * scale, cone.focus[1] + vy * scale)
                        }
                        // The first plane: water from the bowl (above) or the focus (below).
                        None if dz < 0.0 => {
                            alpha[usize::from(Tissue::Water.label())] * (cone.radius - d).max(0.0)
                        }
                        None => start_tau,
                    };
                    let here = before + alpha[label] * slant;
                    tau[j * wx + i] = here;
                    let in_cone = dz.abs() >= d * cone.cos_max;
                    let on_bowl_side = dz > 0.0 || d <= cone.radius;
                    if !(in_cone && on_bowl_side && d >= zone && is_free(index)) {
                        continue;
                    }
                    let intensity = spread_w / (d * d) * (-2.0 * here).exp();
                    let rate = 2.0 * absorption[label] * intensity / props[label].heat_capacity();
                    if rate > 0.0 {
                        sources.push((index as u32, rate as f32));
                    }
                }
            }
            previous = Some(PlaneDepth {
                x0,
                y0,
                nx: wx,
                ny: wy,
                tau,
            });
        }
    }
    sources.sort_by_key(|&(index, _)| index);
    sources
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Grid;
    use crate::medium::Layer;

    fn is_free(_: usize) -> bool {
        true
    }

    /// A column of one tissue under a water bolus, 1 mm voxels, the focus 60 mm deep.
    fn column(tissue: Tissue, dims: [usize; 3]) -> (Medium, Voxel) {
        let grid = Grid::new(dims, 1e-3).unwrap();
        let layers = [
            Layer {
                tissue: Tissue::Water,
                top_mm: 0.0,
            },
            Layer {
                tissue,
                top_mm: 3.0,
            },
        ];
        let medium = Medium::from_shapes(grid, &layers, &[]);
        (medium, [dims[0] / 2, dims[1] / 2, 60])
    }

    /// Heat (W) deposited in planes `z` of `sources`.
    fn power_in_planes(medium: &Medium, sources: &[(u32, f32)], z: std::ops::Range<usize>) -> f64 {
        let h = medium.grid.spacing_m;
        sources
            .iter()
            .filter(|&&(i, _)| z.contains(&medium.grid.voxel(i as usize)[2]))
            .map(|&(i, rate)| {
                let t = medium.labels()[i as usize].properties();
                f64::from(rate) * t.heat_capacity() * h * h * h
            })
            .sum()
    }

    #[test]
    fn the_heat_between_two_planes_is_the_power_the_beam_loses_there() {
        // Weakly absorbing (fat) so the slab loses little and the rays' path lengths barely differ:
        // the power deposited between depths 15 and 35 mm is P·(e^(−2τ1) − e^(−2τ2)) averaged over
        // the cone, τ = alpha·(slant path from the bowl).
        let (medium, focus) = column(Tissue::Fat, [181, 181, 80]);
        let bowl = Bowl::default();
        let beam = PathBeam {
            bowl: &bowl,
            focus,
            power_w: 100.0,
            focal_zone_m: 10e-3,
            focal_optical_depth: 0.0,
        };
        let sources = path_sources(&medium, &beam, &is_free);
        let got = power_in_planes(&medium, &sources, 15..35);
        let alpha = Tissue::Fat
            .properties()
            .attenuation_np_per_m(bowl.frequency_hz);
        let sin_max = bowl.aperture_radius_m / bowl.radius_of_curvature_m;
        let cos_max = (1.0 - sin_max * sin_max).sqrt();
        // Mean over the cap (area-weighted in cos θ) of the power lost by one ray between the planes.
        let steps = 200;
        let mut lost = 0.0;
        for k in 0..steps {
            let cos = cos_max + (1.0 - cos_max) * (k as f64 + 0.5) / steps as f64;
            // Tissue starts at 2.5 mm (voxel 3 spans 2.5-3.5 mm); slant = depth / cos θ.
            let tau = |z_mm: f64| alpha * (z_mm - 2.5).max(0.0) * 1e-3 / cos;
            lost += (-2.0 * tau(14.5)).exp() - (-2.0 * tau(34.5)).exp();
        }
        let want = 100.0 * lost / steps as f64;
        assert!(
            (got - want).abs() / want < 0.05,
            "deposited {got} W, expected {want} W"
        );
    }

    #[test]
    fn the_beam_heats_the_skin_in_front_and_the_tissue_behind_the_focus_but_not_the_zone() {
        let (medium, focus) = column(Tissue::Muscle, [121, 121, 100]);
        let bowl = Bowl::default();
        let zone_mm = 12.0;
        let beam = PathBeam {
            bowl: &bowl,
            focus,
            power_w: 400.0,
            focal_zone_m: zone_mm * 1e-3,
            focal_optical_depth: 0.5,
        };
        let sources = path_sources(&medium, &beam, &is_free);
        let depth_of = |i: u32| medium.grid.voxel(i as usize)[2];
        assert!(
            sources.iter().any(|&(i, _)| depth_of(i) == 3),
            "the first tissue plane is heated"
        );
        assert!(
            sources.iter().any(|&(i, _)| depth_of(i) > 90),
            "the far field is heated"
        );
        let inside_zone = sources.iter().any(|&(i, _)| {
            let v = medium.grid.voxel(i as usize);
            let d2: f64 = (0..3)
                .map(|a| (v[a] as f64 - focus[a] as f64).powi(2))
                .sum();
            d2.sqrt() < zone_mm - 1e-9
        });
        assert!(!inside_zone, "the focal zone is the Rayleigh table's");
        // Geometric intensity falls as 1/d², attenuation aside: nearer the focus is hotter.
        let rate_at = |z: usize| {
            sources
                .iter()
                .find(|&&(i, _)| medium.grid.voxel(i as usize) == [focus[0], focus[1], z])
                .map(|&(_, r)| r)
                .unwrap()
        };
        assert!(rate_at(40) > rate_at(10));
        // Outside the cone nothing is heated: 10 mm above the focus the cone is 8.9 mm wide.
        assert!(
            !sources
                .iter()
                .any(|&(i, _)| medium.grid.voxel(i as usize) == [focus[0] + 12, focus[1], 50])
        );
    }
}
