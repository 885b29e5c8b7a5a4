//! Tissue types of the voxel model and their acoustic and thermal properties (reference/hifu.md §4,
//! reference/hifu-tissue.md §1-2). Attenuation is the IT'IS Foundation tissue database V4.1 fit
//! α = a·f^b (Np/m, f in MHz) to the published measurements it collects, evaluated at the working
//! frequency, instead of a 5-10 MHz ex-vivo fit extrapolated down to it.

use serde::{Deserialize, Serialize};

/// Density of blood (kg/m³) in the Pennes perfusion term.
pub const BLOOD_DENSITY: f64 = 1049.75;
/// Specific heat of blood (J/kg/K) in the Pennes perfusion term.
pub const BLOOD_SPECIFIC_HEAT: f64 = 3617.0;
/// dB to neper.
const DB_PER_NEPER: f64 = 8.685_889_638;

/// An IT'IS power-law prefactor a (Np/m/MHz^b) in dB/(cm·MHz^b), the unit the properties keep.
fn itis_db_cm(np_per_m_mhz: f64) -> f64 {
    np_per_m_mhz * DB_PER_NEPER / 100.0
}

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

    /// Acoustic and thermal properties. Attenuation: IT'IS V4.1 (as bundled by OptimUS, reference
    /// hifu-tissue.md §1): skin a = 21.16, b = 1; subcutaneous fat ("SAT") 7.0, 1; muscle 7.109,
    /// 1.083; uterus 8.116, 1; intestine wall 5.743, 1; water 0.0253, 2. The fibroid has no IT'IS
    /// row and takes the uterus row: the ex-vivo leiomyoma fit (5-10 MHz, PMC3056396) extrapolated
    /// to 0.8 MHz gives 0.25 dB/cm and sets the low end of the sensitivity range instead. Absorption
    /// equals attenuation in every soft tissue (Goss, Frizzell & Dunn, "Absorption of ultrasound in
    /// tissues": with reflection and phase-distortion losses minimised the two differ little), which
    /// is also the worst case for heating the organs at risk. Thermal rows are unchanged: IT'IS
    /// V4.2 skin, fat, muscle; myometrium = muscle; fibroid = muscle with half its perfusion;
    /// bowel = muscle with twice (docs/hifu.md; the sensitivity study spans the IT'IS and DCE ranges).
    pub fn properties(self) -> TissueProperties {
        let muscle = TissueProperties {
            density: 1090.4,
            sound_speed: 1588.4,
            attenuation_db_cm_mhz: itis_db_cm(7.109),
            attenuation_power: 1.083,
            absorption_fraction: 1.0,
            conductivity: 0.495,
            specific_heat: 3421.2,
            perfusion_per_s: 6.7e-4,
        };
        let uterus_attenuation = TissueProperties {
            attenuation_db_cm_mhz: itis_db_cm(8.116),
            attenuation_power: 1.0,
            ..muscle
        };
        match self {
            Tissue::Water => TissueProperties {
                density: 994.0,
                sound_speed: 1500.0,
                attenuation_db_cm_mhz: itis_db_cm(0.0253),
                attenuation_power: 2.0,
                absorption_fraction: 1.0,
                conductivity: 0.6045,
                specific_heat: 4178.0,
                perfusion_per_s: 0.0,
            },
            Tissue::Skin => TissueProperties {
                density: 1109.0,
                sound_speed: 1624.0,
                attenuation_db_cm_mhz: itis_db_cm(21.16),
                attenuation_power: 1.0,
                absorption_fraction: 1.0,
                conductivity: 0.372,
                specific_heat: 3390.5,
                perfusion_per_s: 1.97e-3,
            },
            Tissue::Fat => TissueProperties {
                density: 911.0,
                sound_speed: 1477.0,
                attenuation_db_cm_mhz: itis_db_cm(7.0),
                attenuation_power: 1.0,
                absorption_fraction: 1.0,
                conductivity: 0.209,
                specific_heat: 2348.0,
                perfusion_per_s: 7.1e-4,
            },
            Tissue::Muscle => muscle,
            Tissue::Myometrium => uterus_attenuation,
            Tissue::Fibroid => TissueProperties {
                perfusion_per_s: 0.5 * muscle.perfusion_per_s,
                ..uterus_attenuation
            },
            Tissue::Bowel => TissueProperties {
                attenuation_db_cm_mhz: itis_db_cm(5.743),
                attenuation_power: 1.0,
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
    /// Absorption over attenuation (1: all the attenuated power turns into heat).
    pub absorption_fraction: f64,
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

    /// Amplitude absorption in Np/m at `frequency_hz`: the part of the attenuation that heats.
    pub fn absorption_np_per_m(&self, frequency_hz: f64) -> f64 {
        self.absorption_fraction * self.attenuation_np_per_m(frequency_hz)
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

    /// dB/cm of a tissue at `frequency_hz`.
    fn db_cm(tissue: Tissue, frequency_hz: f64) -> f64 {
        tissue.properties().attenuation_np_per_m(frequency_hz) * DB_PER_NEPER / 100.0
    }

    #[test]
    fn attenuation_at_the_working_frequency_matches_the_itis_table() {
        // reference/hifu-tissue.md §1, dB/cm at 0.8 / 1.0 / 1.2 MHz (two decimals printed there).
        let table = [
            (Tissue::Skin, [1.47, 1.84, 2.21]),
            (Tissue::Fat, [0.49, 0.61, 0.73]),
            (Tissue::Muscle, [0.49, 0.62, 0.75]),
            (Tissue::Myometrium, [0.56, 0.71, 0.85]),
            (Tissue::Fibroid, [0.56, 0.71, 0.85]),
            (Tissue::Bowel, [0.40, 0.50, 0.60]),
            (Tissue::Water, [0.001, 0.002, 0.003]),
        ];
        for (tissue, expected) in table {
            for (f, want) in [0.8e6, 1.0e6, 1.2e6].into_iter().zip(expected) {
                let got = db_cm(tissue, f);
                assert!(
                    (got - want).abs() < 0.006,
                    "{tissue:?} at {f} Hz: {got} dB/cm"
                );
            }
        }
    }

    #[test]
    fn the_fibroid_is_not_the_extrapolated_ex_vivo_fit_any_more() {
        // The ex-vivo 5-10 MHz power law (5.1 dB/cm at 5 MHz, 16 at 10) extrapolates to 0.25 dB/cm
        // at 0.8 MHz; the 1 MHz-band value is more than twice that.
        let ex_vivo_at_0_8 = 5.1 * (0.8f64 / 5.0).powf((16.0f64 / 5.1).ln() / 2f64.ln());
        assert!((ex_vivo_at_0_8 - 0.25).abs() < 0.01);
        assert!(db_cm(Tissue::Fibroid, 0.8e6) > 2.0 * ex_vivo_at_0_8);
    }

    #[test]
    fn absorption_is_the_attenuation_times_its_fraction() {
        let mut fat = Tissue::Fat.properties();
        assert_eq!(
            fat.absorption_np_per_m(0.8e6),
            fat.attenuation_np_per_m(0.8e6)
        );
        fat.absorption_fraction = 0.6;
        let ratio = fat.absorption_np_per_m(0.8e6) / fat.attenuation_np_per_m(0.8e6);
        assert!((ratio - 0.6).abs() < 1e-12);
    }
}
