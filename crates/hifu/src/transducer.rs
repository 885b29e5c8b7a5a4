//! The spherical-bowl transducer and O'Neil's closed-form pressure on its axis and in its focal plane.

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// A lossless fluid the field is computed in (the coupling water).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fluid {
    pub density: f64,
    pub sound_speed: f64,
}

/// Water as in the reference O'Neil check: c = 1500 m/s, rho = 1000 kg/m³.
pub const WATER: Fluid = Fluid {
    density: 1000.0,
    sound_speed: 1500.0,
};

/// A single spherical bowl (Haifu JC200-class defaults: R = 150 mm, a = 100 mm, 0.8 MHz, 400 W).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Bowl {
    pub radius_of_curvature_m: f64,
    pub aperture_radius_m: f64,
    pub frequency_hz: f64,
    pub power_w: f64,
}

impl Default for Bowl {
    fn default() -> Bowl {
        Bowl {
            radius_of_curvature_m: 0.150,
            aperture_radius_m: 0.100,
            frequency_hz: 0.8e6,
            power_w: 400.0,
        }
    }
}

impl Bowl {
    /// Dome height h = R − √(R² − a²).
    pub fn dome_height(&self) -> f64 {
        let (r, a) = (self.radius_of_curvature_m, self.aperture_radius_m);
        r - (r * r - a * a).sqrt()
    }

    /// Area of the spherical cap, 2πRh.
    pub fn area(&self) -> f64 {
        2.0 * PI * self.radius_of_curvature_m * self.dome_height()
    }

    pub fn wavenumber(&self, fluid: Fluid) -> f64 {
        2.0 * PI * self.frequency_hz / fluid.sound_speed
    }

    /// Normal surface velocity u0 that radiates `power_w` as a plane wave: P = A·rho·c·u0²/2.
    pub fn surface_velocity(&self, fluid: Fluid) -> f64 {
        (2.0 * self.power_w / (fluid.density * fluid.sound_speed * self.area())).sqrt()
    }

    /// The same bowl driven at another acoustic power.
    pub fn with_power(&self, power_w: f64) -> Bowl {
        Bowl { power_w, ..*self }
    }

    /// Focal gain G = k·h.
    pub fn focal_gain(&self, fluid: Fluid) -> f64 {
        self.wavenumber(fluid) * self.dome_height()
    }

    /// O'Neil's on-axis pressure amplitude (Pa) at distance `z` from the bowl apex.
    pub fn oneil_axial_pressure(&self, fluid: Fluid, z: f64) -> f64 {
        let (r, a, h) = (
            self.radius_of_curvature_m,
            self.aperture_radius_m,
            self.dome_height(),
        );
        let k = self.wavenumber(fluid);
        let rho_c_u0 = fluid.density * fluid.sound_speed * self.surface_velocity(fluid);
        if ((1.0 - z / r) * r).abs() < 1e-12 {
            return rho_c_u0 * k * h;
        }
        let b = ((z - h).powi(2) + a * a).sqrt();
        rho_c_u0 * (2.0 / (1.0 - z / r) * (k * (b - z) / 2.0).sin()).abs()
    }

    /// O'Neil's focal-plane pressure amplitude (Pa) at radius `r` from the axis: 2ρc·u0·kh·J1(X)/X.
    pub fn oneil_focal_plane_pressure(&self, fluid: Fluid, r: f64) -> f64 {
        let k = self.wavenumber(fluid);
        let rho_c_u0 = fluid.density * fluid.sound_speed * self.surface_velocity(fluid);
        let x = k * r * self.aperture_radius_m / self.radius_of_curvature_m;
        let jinc = if x.abs() < 1e-9 {
            0.5
        } else {
            bessel_j1(x) / x
        };
        (2.0 * rho_c_u0 * k * self.dome_height() * jinc).abs()
    }
}

/// Bessel J1 by its integral J1(x) = (1/π)∫₀^π cos(τ − x·sin τ) dτ; the trapezoid rule on this periodic
/// integrand converges spectrally, so 256 points give near machine precision for |x| < 60.
pub fn bessel_j1(x: f64) -> f64 {
    const N: usize = 256;
    let sum: f64 = (0..N)
        .map(|i| {
            let tau = PI * (i as f64 + 0.5) / N as f64;
            (tau - x * tau.sin()).cos()
        })
        .sum();
    sum / N as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_j1_matches_tabulated_values() {
        assert!((bessel_j1(1.0) - 0.440_050_585_744_933_5).abs() < 1e-12);
        assert!((bessel_j1(3.831_705_970_207_512)).abs() < 1e-12);
        assert!((bessel_j1(10.0) - 0.043_472_746_168_861_44).abs() < 1e-12);
    }

    #[test]
    fn reference_geometry_matches_the_reference_check() {
        let bowl = Bowl::default();
        assert!((bowl.dome_height() * 1e3 - 38.2).abs() < 0.05);
        assert!((bowl.focal_gain(WATER) - 128.0).abs() < 0.5);
        assert!((bowl.area() * 1e4 - 360.0).abs() < 1.0);
        let p0 = WATER.density * WATER.sound_speed * bowl.surface_velocity(WATER);
        assert!((p0 / 1e3 - 183.0).abs() < 1.0);
        let focal = bowl.oneil_axial_pressure(WATER, bowl.radius_of_curvature_m);
        assert!((focal / 1e6 - 23.4).abs() < 0.1);
        assert!((bowl.oneil_focal_plane_pressure(WATER, 0.0) - focal).abs() / focal < 1e-9);
        let near_focus = bowl.oneil_axial_pressure(WATER, bowl.radius_of_curvature_m - 1e-9);
        assert!((near_focus - focal).abs() / focal < 1e-6);
    }

    #[test]
    fn intensity_half_maximum_widths_match_the_reference() {
        let bowl = Bowl::default();
        let peak = bowl.oneil_focal_plane_pressure(WATER, 0.0).powi(2);
        let steps = (0..20_000).map(|i| i as f64 * 1e-6);
        let lateral = steps
            .clone()
            .find(|&r| bowl.oneil_focal_plane_pressure(WATER, r).powi(2) < peak / 2.0);
        assert!((2e3 * lateral.unwrap() - 1.45).abs() < 0.03);
        let axial_peak = steps
            .clone()
            .map(|d| bowl.oneil_axial_pressure(WATER, 0.14 + d))
            .fold(0.0, f64::max);
        let half = axial_peak.powi(2) / 2.0;
        let inside: Vec<f64> = (0..40_000)
            .map(|i| 0.13 + i as f64 * 1e-6)
            .filter(|&z| bowl.oneil_axial_pressure(WATER, z).powi(2) >= half)
            .collect();
        let width_mm = (inside[inside.len() - 1] - inside[0]) * 1e3;
        assert!((width_mm - 6.5).abs() < 0.1, "axial width {width_mm} mm");
    }
}
