//! Rayleigh–Sommerfeld integral over the bowl surface, summed over sub-wavelength patches, and the
//! axisymmetric intensity table it fills once so the field can be translated with the focus.

use crate::transducer::{Bowl, Fluid};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// One surface patch: position (m, apex at the origin, axis along +z) and area (m²).
#[derive(Debug, Clone, Copy)]
struct Patch {
    position: [f64; 3],
    area: f64,
}

/// The bowl cut into rings of equal polar step and patches of about λ/`patches_per_wavelength` a side.
pub struct RayleighSource {
    patches: Vec<Patch>,
    wavenumber: f64,
    /// ωρ·u0/(2π): turns the patch sum into pressure in Pa.
    scale: f64,
}

impl RayleighSource {
    pub fn new(bowl: &Bowl, fluid: Fluid, patches_per_wavelength: f64) -> RayleighSource {
        let r = bowl.radius_of_curvature_m;
        let k = bowl.wavenumber(fluid);
        let patch = 2.0 * PI / k / patches_per_wavelength.max(1.0);
        let theta_max = (bowl.aperture_radius_m / r).asin();
        let rings = (r * theta_max / patch).ceil().max(1.0) as usize;
        let d_theta = theta_max / rings as f64;
        let mut patches = Vec::new();
        for ring in 0..rings {
            let theta = (ring as f64 + 0.5) * d_theta;
            let ring_area =
                2.0 * PI * r * r * ((theta - d_theta / 2.0).cos() - (theta + d_theta / 2.0).cos());
            let count = (2.0 * PI * r * theta.sin() / patch).ceil().max(1.0) as usize;
            for j in 0..count {
                let phi = 2.0 * PI * (j as f64 + 0.5 * (ring % 2) as f64) / count as f64;
                let position = [
                    r * theta.sin() * phi.cos(),
                    r * theta.sin() * phi.sin(),
                    r - r * theta.cos(),
                ];
                patches.push(Patch {
                    position,
                    area: ring_area / count as f64,
                });
            }
        }
        let omega = 2.0 * PI * bowl.frequency_hz;
        let scale = omega * fluid.density * bowl.surface_velocity(fluid) / (2.0 * PI);
        RayleighSource {
            patches,
            wavenumber: k,
            scale,
        }
    }

    pub fn patch_count(&self) -> usize {
        self.patches.len()
    }

    /// Pressure amplitude (Pa) at a point (m, apex at the origin).
    pub fn pressure(&self, point: [f64; 3]) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for patch in &self.patches {
            let d = ((point[0] - patch.position[0]).powi(2)
                + (point[1] - patch.position[1]).powi(2)
                + (point[2] - patch.position[2]).powi(2))
            .sqrt();
            let (sin, cos) = (self.wavenumber * d).sin_cos();
            let weight = patch.area / d;
            re += weight * cos;
            im -= weight * sin;
        }
        self.scale * re.hypot(im)
    }

    /// Pressures at many points, in parallel.
    pub fn pressures(&self, points: &[[f64; 3]]) -> Vec<f64> {
        points.par_iter().map(|&p| self.pressure(p)).collect()
    }
}

/// Intensity per watt of acoustic power, I(r, z)/P in 1/m², on a regular (r, z) grid around the
/// geometric focus (z relative to the focus, positive away from the transducer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntensityTable {
    pub dr_m: f64,
    pub dz_m: f64,
    pub nr: usize,
    pub nz: usize,
    pub z_min_m: f64,
    /// Row-major in z, then r.
    pub per_watt: Vec<f64>,
}

impl IntensityTable {
    /// Fills the table by the Rayleigh integral at 1 W; `progress` is told how many rows are done.
    pub fn compute(
        bowl: &Bowl,
        fluid: Fluid,
        patches_per_wavelength: f64,
        (r_max_m, z_half_m): (f64, f64),
        (dr_m, dz_m): (f64, f64),
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> IntensityTable {
        let source = RayleighSource::new(&bowl.with_power(1.0), fluid, patches_per_wavelength);
        let nr = (r_max_m / dr_m).ceil() as usize + 1;
        let nz = (2.0 * z_half_m / dz_m).ceil() as usize + 1;
        let focus = bowl.radius_of_curvature_m;
        let done = std::sync::atomic::AtomicUsize::new(0);
        let rows: Vec<Vec<f64>> = (0..nz)
            .into_par_iter()
            .map(|iz| {
                let z = focus - z_half_m + iz as f64 * dz_m;
                let row = (0..nr)
                    .map(|ir| {
                        source.pressure([ir as f64 * dr_m, 0.0, z]).powi(2)
                            / (2.0 * fluid.density * fluid.sound_speed)
                    })
                    .collect();
                progress(
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                    nz,
                );
                row
            })
            .collect();
        IntensityTable {
            dr_m,
            dz_m,
            nr,
            nz,
            z_min_m: -z_half_m,
            per_watt: rows.concat(),
        }
    }

    /// Bilinear interpolation at radius `r` and axial offset `z` from the focus; 0 outside the table.
    pub fn at(&self, r: f64, z: f64) -> f64 {
        let fr = r / self.dr_m;
        let fz = (z - self.z_min_m) / self.dz_m;
        if !(fr >= 0.0 && fz >= 0.0 && fr <= (self.nr - 1) as f64 && fz <= (self.nz - 1) as f64) {
            return 0.0;
        }
        let (ir, iz) = (
            (fr as usize).min(self.nr - 2),
            (fz as usize).min(self.nz - 2),
        );
        let (tr, tz) = (fr - ir as f64, fz - iz as f64);
        let v = |iz: usize, ir: usize| self.per_watt[iz * self.nr + ir];
        (1.0 - tz) * ((1.0 - tr) * v(iz, ir) + tr * v(iz, ir + 1))
            + tz * ((1.0 - tr) * v(iz + 1, ir) + tr * v(iz + 1, ir + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transducer::WATER;

    /// Location and value of the on-axis maximum, scanned at `step` from `start` over `span` metres.
    fn axial_peak(f: impl Fn(f64) -> f64, start: f64, span: f64, step: f64) -> (f64, f64) {
        (0..=(span / step) as usize)
            .map(|i| start + i as f64 * step)
            .map(|z| (z, f(z)))
            .fold(
                (0.0, 0.0),
                |best, next| if next.1 > best.1 { next } else { best },
            )
    }

    #[test]
    fn rayleigh_focus_position_and_peak_match_oneil_for_the_clinical_bowl() {
        let bowl = Bowl::default();
        let source = RayleighSource::new(&bowl, WATER, 4.0);
        let (start, span, step) = (0.140, 0.020, 0.1e-3);
        let (z_oneil, p_oneil) =
            axial_peak(|z| bowl.oneil_axial_pressure(WATER, z), start, span, step);
        let (z_ray, p_ray) = axial_peak(|z| source.pressure([0.0, 0.0, z]), start, span, step);
        assert!(
            (z_ray - z_oneil).abs() <= step + 1e-9,
            "focus {z_ray} vs O'Neil {z_oneil}"
        );
        assert!(
            (p_ray - p_oneil).abs() / p_oneil < 0.02,
            "peak {p_ray} vs O'Neil {p_oneil}"
        );
    }

    #[test]
    fn rayleigh_focus_position_and_peak_match_oneil_for_a_small_bowl() {
        let bowl = Bowl {
            radius_of_curvature_m: 0.030,
            aperture_radius_m: 0.015,
            frequency_hz: 0.5e6,
            power_w: 10.0,
        };
        let source = RayleighSource::new(&bowl, WATER, 6.0);
        let (start, span, step) = (0.015, 0.025, 0.05e-3);
        let (z_oneil, p_oneil) =
            axial_peak(|z| bowl.oneil_axial_pressure(WATER, z), start, span, step);
        let (z_ray, p_ray) = axial_peak(|z| source.pressure([0.0, 0.0, z]), start, span, step);
        assert!(
            (z_oneil - 0.0264).abs() < 0.2e-3,
            "O'Neil's focus {z_oneil} is not the reference 26.4 mm"
        );
        assert!(
            (z_ray - z_oneil).abs() <= step + 1e-9,
            "focus {z_ray} vs O'Neil {z_oneil}"
        );
        assert!(
            (p_ray - p_oneil).abs() / p_oneil < 0.02,
            "peak {p_ray} vs O'Neil {p_oneil}"
        );
    }

    #[test]
    fn rayleigh_focal_plane_follows_oneil_near_the_axis() {
        // O'Neil's focal-plane formula is a paraxial approximation; for this deep bowl (a/R = 0.67) it
        // drifts by about 3 % of the peak at the −6 dB edge (1 mm), so the check stays inside it.
        let bowl = Bowl::default();
        let source = RayleighSource::new(&bowl, WATER, 3.0);
        let focus = bowl.radius_of_curvature_m;
        let peak = bowl.oneil_focal_plane_pressure(WATER, 0.0);
        for r in [0.0, 0.3e-3, 0.6e-3, 0.8e-3] {
            let rayleigh = source.pressure([r, 0.0, focus]);
            let oneil = bowl.oneil_focal_plane_pressure(WATER, r);
            assert!(
                (rayleigh - oneil).abs() / peak < 0.02,
                "r = {r}: {rayleigh} vs {oneil}"
            );
        }
    }

    #[test]
    fn the_table_interpolates_its_own_samples_and_is_zero_outside() {
        let bowl = Bowl::default();
        let table =
            IntensityTable::compute(&bowl, WATER, 2.0, (2e-3, 2e-3), (0.5e-3, 1e-3), &|_, _| {});
        let direct = RayleighSource::new(&bowl.with_power(1.0), WATER, 2.0).pressure([
            0.5e-3,
            0.0,
            0.150 + 1e-3,
        ]);
        let expected = direct.powi(2) / (2.0 * WATER.density * WATER.sound_speed);
        assert!((table.at(0.5e-3, 1e-3) - expected).abs() / expected < 1e-9);
        assert_eq!(table.at(3e-3, 0.0), 0.0);
        assert_eq!(table.at(0.0, -3e-3), 0.0);
    }

    /// Where `f` first falls to half of `f(from)` stepping by `step` (linear between samples).
    fn half_point(f: &dyn Fn(f64) -> f64, from: f64, step: f64) -> f64 {
        let half = 0.5 * f(from);
        let mut x = from;
        while f(x + step) > half {
            x += step;
        }
        let (a, b) = (f(x), f(x + step));
        x + step * (a - half) / (a - b)
    }

    #[test]
    fn focal_gain_and_minus_6_db_focal_size_match_the_published_analytic_results() {
        // An independent check of the field (issue 17, 4g), in water, against closed forms we did
        // not derive: O'Neil's (JASA 1949) exact on-axis solution for a spherical cap, its focal gain
        // |p(R)|/(ρ c u0) = k h, and the Airy focal-plane pattern 2 J1(x)/x with x = k a r / R, whose
        // −6 dB (half-pressure) full width is 2·2.2152·R/(k a) ≈ 1.41 λ F# (F# = R / 2a).
        let bowl = Bowl::default();
        let source = RayleighSource::new(&bowl, WATER, 3.0);
        let (r, k) = (bowl.radius_of_curvature_m, bowl.wavenumber(WATER));
        let rho_c_u0 = WATER.density * WATER.sound_speed * bowl.surface_velocity(WATER);
        let gain = source.pressure([0.0, 0.0, r]) / rho_c_u0;
        let oneil_gain = k * bowl.dome_height();
        assert!(
            (gain - oneil_gain).abs() / oneil_gain < 0.01,
            "gain {gain} vs k·h {oneil_gain}"
        );
        // Lateral: the Rayleigh field in the focal plane against the Airy width.
        let lateral = |x: f64| source.pressure([x, 0.0, r]);
        let width = 2.0 * half_point(&lateral, 0.0, 0.01e-3);
        let airy = 2.0 * 2.2152 * r / (k * bowl.aperture_radius_m);
        let wavelength = WATER.sound_speed / bowl.frequency_hz;
        let f_number = r / (2.0 * bowl.aperture_radius_m);
        assert!((airy - 1.41 * wavelength * f_number).abs() < 0.01e-3);
        assert!(
            (width - airy).abs() / airy < 0.05,
            "−6 dB width {width} vs {airy}"
        );
        // Axial: the Rayleigh field on the axis against O'Neil's exact on-axis solution, both
        // measured from their own peak.
        let (step, start, span) = (0.02e-3, 0.140, 0.020);
        let (z_ray, _) = axial_peak(|z| source.pressure([0.0, 0.0, z]), start, span, step);
        let (z_oneil, _) = axial_peak(|z| bowl.oneil_axial_pressure(WATER, z), start, span, step);
        let length = |f: &dyn Fn(f64) -> f64, peak: f64| {
            half_point(f, peak, step) + half_point(&|d| f(2.0 * peak - d), peak, step) - 2.0 * peak
        };
        let ray_length = length(&|z| source.pressure([0.0, 0.0, z]), z_ray);
        let oneil_length = length(&|z| bowl.oneil_axial_pressure(WATER, z), z_oneil);
        assert!(
            (ray_length - oneil_length).abs() / oneil_length < 0.03,
            "−6 dB length {ray_length} vs O'Neil {oneil_length}"
        );
        // The paraxial depth of focus 7.08 λ F#² does not hold for so wide a bowl (F# 0.75): it is
        // more than 10 % short of the exact solution.
        let paraxial = 7.08 * wavelength * f_number * f_number;
        assert!(
            oneil_length > 1.1 * paraxial,
            "{oneil_length} vs {paraxial}"
        );
    }
}
