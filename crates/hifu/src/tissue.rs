//! Tissue types of the voxel model and their acoustic and thermal properties (reference/hifu.md §4).

use serde::{Deserialize, Serialize};

/// Density of blood (kg/m³) in the Pennes perfusion term.
pub const BLOOD_DENSITY: f64 = 1049.75;
/// Specific heat of blood (J/kg/K) in the Pennes perfusion term.
pub const BLOOD_SPECIFIC_HEAT: f64 = 3617.0;
/// dB to neper.
const DB_PER_NEPER: f64 = 8.685_889_638;

/// The tissues a voxel can hold. The discriminant is the label stored in volume files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Tissue {
    Water = 0,
    Skin = 1,
    Fat = 2,
    Muscle = 3,
    Myometrium = 4,
    Fibroid = 5,
    Bowel = 6,
}

impl Tissue {
    /// Every tissue, in label order.
    pub const ALL: [Tissue; 7] = [
        Tissue::Water,
        Tissue::Skin,
        Tissue::Fat,
        Tissue::Muscle,
        Tissue::Myometrium,
        Tissue::Fibroid,
        Tissue::Bowel,
    ];

    /// The tissue stored under a volume-file label, if any.
    pub fn from_label(label: u8) -> Option<Tissue> {
        Tissue::ALL.get(usize::from(label)).copied()
    }

    /// The volume-file label of this tissue.
    pub fn label(self) -> u8 {
        self as u8
    }

    /// Acoustic and thermal properties. Rows marked [U] in the reference are documented in docs/hifu.md.
    pub fn properties(self) -> TissueProperties {
        let muscle = TissueProperties {
            density: 1090.4,
            sound_speed: 1588.4,
            attenuation_db_cm_mhz: 0.316,
            attenuation_power: 1.6,
            conductivity: 0.495,
            specific_heat: 3421.2,
            perfusion_per_s: 6.7e-4,
        };
        match self {
            Tissue::Water => TissueProperties {
                density: 994.0,
                sound_speed: 1500.0,
                attenuation_db_cm_mhz: 0.00217,
                attenuation_power: 2.0,
                conductivity: 0.6045,
                specific_heat: 4178.0,
                perfusion_per_s: 0.0,
            },
            Tissue::Skin => TissueProperties {
                density: 1109.0,
                sound_speed: 1500.0,
                attenuation_db_cm_mhz: 0.4,
                attenuation_power: 1.0,
                conductivity: 0.372,
                specific_heat: 3390.5,
                perfusion_per_s: 1.97e-3,
            },
            Tissue::Fat => TissueProperties {
                density: 911.0,
                sound_speed: 1440.2,
                attenuation_db_cm_mhz: 0.48,
                attenuation_power: 1.0,
                conductivity: 0.209,
                specific_heat: 2348.0,
                perfusion_per_s: 7.1e-4,
            },
            Tissue::Muscle | Tissue::Myometrium => muscle,
            Tissue::Fibroid => TissueProperties {
                attenuation_db_cm_mhz: 0.388,
                perfusion_per_s: 0.5 * muscle.perfusion_per_s,
                ..muscle
            },
            Tissue::Bowel => TissueProperties {
                perfusion_per_s: 2.0 * muscle.perfusion_per_s,
                ..muscle
            },
        }
    }
}

/// Properties of one tissue, SI units unless the name says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TissueProperties {
    pub density: f64,
    pub sound_speed: f64,
    /// Power-law attenuation prefactor alpha0 in dB/(cm·MHz^y).
    pub attenuation_db_cm_mhz: f64,
    /// Power-law exponent y.
    pub attenuation_power: f64,
    pub conductivity: f64,
    pub specific_heat: f64,
    /// Blood perfusion w_b in 1/s.
    pub perfusion_per_s: f64,
}

impl TissueProperties {
    /// Amplitude attenuation in Np/m at `frequency_hz` (power law alpha0·f^y).
    pub fn attenuation_np_per_m(&self, frequency_hz: f64) -> f64 {
        let db_per_cm =
            self.attenuation_db_cm_mhz * (frequency_hz / 1e6).powf(self.attenuation_power);
        db_per_cm * 100.0 / DB_PER_NEPER
    }

    /// Volumetric heat capacity rho·c in J/m³/K.
    pub fn heat_capacity(&self) -> f64 {
        self.density * self.specific_heat
    }

    /// Thermal diffusivity D = k/(rho·c) in m²/s.
    pub fn diffusivity(&self) -> f64 {
        self.conductivity / self.heat_capacity()
    }

    /// Perfusion rate P = rho_b·c_b·w_b/(rho·c) in 1/s.
    pub fn perfusion_rate(&self) -> f64 {
        BLOOD_DENSITY * BLOOD_SPECIFIC_HEAT * self.perfusion_per_s / self.heat_capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_unknown_labels_are_rejected() {
        for tissue in Tissue::ALL {
            assert_eq!(Tissue::from_label(tissue.label()), Some(tissue));
        }
        assert_eq!(Tissue::from_label(7), None);
    }

    #[test]
    fn muscle_matches_the_reference_diffusivity_and_perfusion() {
        let muscle = Tissue::Muscle.properties();
        assert!((muscle.diffusivity() - 1.33e-7).abs() < 0.01e-7);
        assert!((muscle.perfusion_rate() - 6.8e-4).abs() < 0.1e-4);
    }

    #[test]
    fn fibroid_attenuation_fits_the_ex_vivo_points() {
        let fibroid = Tissue::Fibroid.properties();
        let db_cm = |f: f64| fibroid.attenuation_np_per_m(f) * 8.685_889_638 / 100.0;
        assert!((db_cm(5e6) - 5.1).abs() < 0.1);
        assert!((db_cm(10e6) - 16.0).abs() < 0.6);
    }
}
