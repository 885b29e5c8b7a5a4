//! Thermal dose: CEM43 (Sapareto–Dewey, with the variant below 37 °C made explicit) and Arrhenius damage.

use crate::HifuError;
use serde::{Deserialize, Serialize};

/// The usual necrosis threshold in CEM43 minutes.
pub const NECROSIS_CEM43: f32 = 240.0;

/// How CEM43 treats temperatures below 43 °C (reference/hifu.md §3: implementations differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cem43Variant {
    /// R = 0.25 below 43 °C down to any temperature, as written by Sapareto & Dewey.
    #[default]
    SaparetoDewey,
    /// k-Wave: R = 0.25 from 37 to 43 °C and nothing accumulates below 37 °C.
    KWave,
    /// FDA HITU simulator: R = 0.5 everywhere.
    Hitu,
}

/// The CEM43 rule folded into the constants the fused solver loop needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cem43Rule {
    /// Exponent of 2 per kelvin below 43 °C (2 for R = 0.25, 1 for R = 0.5).
    below_slope: f32,
    /// Temperatures below this accumulate nothing.
    floor_c: f32,
}

impl From<Cem43Variant> for Cem43Rule {
    fn from(variant: Cem43Variant) -> Cem43Rule {
        match variant {
            Cem43Variant::SaparetoDewey => Cem43Rule {
                below_slope: 2.0,
                floor_c: f32::NEG_INFINITY,
            },
            Cem43Variant::KWave => Cem43Rule {
                below_slope: 2.0,
                floor_c: 37.0,
            },
            Cem43Variant::Hitu => Cem43Rule {
                below_slope: 1.0,
                floor_c: f32::NEG_INFINITY,
            },
        }
    }
}

impl Cem43Rule {
    /// Equivalent minutes at 43 °C per second spent at `temperature_c`: R^(43 − T)/60.
    #[inline(always)]
    pub fn minutes_per_second(&self, temperature_c: f32) -> f32 {
        self.minutes_per_second_with::<false>(temperature_c)
    }

    /// [`Cem43Rule::minutes_per_second`], with fused multiply-adds when `FUSED` (see [`mul_add`]).
    #[inline(always)]
    pub(crate) fn minutes_per_second_with<const FUSED: bool>(&self, temperature_c: f32) -> f32 {
        let above = temperature_c - 43.0;
        let exponent = if above >= 0.0 {
            above
        } else {
            above * self.below_slope
        };
        let rate = fast_exp2_with::<FUSED>(exponent) * (1.0 / 60.0);
        if temperature_c < self.floor_c {
            0.0
        } else {
            rate
        }
    }
}

/// 2^x for x in about [-126, 60], relative error below 2e-7; branch-free so the solver loop vectorises.
#[inline(always)]
pub fn fast_exp2(x: f32) -> f32 {
    fast_exp2_with::<false>(x)
}

/// a·b + c: fused into one rounding when `FUSED`, which only code compiled for a CPU with FMA should
/// ask for (elsewhere `f32::mul_add` is a slow library call); separately rounded otherwise.
#[inline(always)]
pub(crate) fn mul_add<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED { a.mul_add(b, c) } else { a * b + c }
}

/// [`fast_exp2`], with fused multiply-adds when `FUSED`.
#[inline(always)]
pub(crate) fn fast_exp2_with<const FUSED: bool>(x: f32) -> f32 {
    // Adding 1.5·2^23 rounds x to the nearest integer, which lands in the low mantissa bits.
    const ROUNDER: f32 = 12_582_912.0;
    const TAYLOR: [f32; 7] = [
        1.0,
        std::f32::consts::LN_2,
        0.240_226_5,
        0.055_504_11,
        0.009_618_13,
        0.001_333_36,
        0.000_154_04,
    ];
    let x = x.clamp(-126.0, 60.0);
    let shifted = x + ROUNDER;
    let whole = (shifted.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
    let f = x - (shifted - ROUNDER);
    // Taylor series of 2^f = e^(f·ln2) on [-0.5, 0.5] (Horner), relative error below 2e-7.
    let p = TAYLOR[..6]
        .iter()
        .rev()
        .fold(TAYLOR[6], |acc, &coefficient| {
            mul_add::<FUSED>(acc, f, coefficient)
        });
    f32::from_bits(((whole + 127) as u32) << 23) * p
}

/// Arrhenius damage integral rate A·e^(−Ea/(R·T)) per second (T in °C).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Arrhenius {
    pub frequency_factor_per_s: f64,
    pub activation_energy_j_per_mol: f64,
}

/// Henriques–Moritz skin parameters: A = 3.1e98 1/s, Ea = 6.28e5 J/mol.
pub const HENRIQUES_MORITZ: Arrhenius = Arrhenius {
    frequency_factor_per_s: 3.1e98,
    activation_energy_j_per_mol: 6.28e5,
};

impl Arrhenius {
    pub fn rate_per_s(&self, temperature_c: f64) -> f64 {
        const GAS_CONSTANT: f64 = 8.314_462_618;
        self.frequency_factor_per_s
            * (-self.activation_energy_j_per_mol / (GAS_CONSTANT * (temperature_c + 273.15))).exp()
    }
}

/// An [`Arrhenius`] law folded into f32 constants for the fused solver loop: the rate is computed as
/// 2^(log2 A − Ea/(R·ln2·T)) so that A (1e98 and more) never overflows f32.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArrheniusRule {
    log2_frequency: f32,
    activation_log2_kelvin: f32,
}

impl TryFrom<Arrhenius> for ArrheniusRule {
    type Error = HifuError;

    fn try_from(law: Arrhenius) -> Result<ArrheniusRule, HifuError> {
        const GAS_CONSTANT: f64 = 8.314_462_618;
        let (a, ea) = (law.frequency_factor_per_s, law.activation_energy_j_per_mol);
        if !(a.is_finite() && a > 0.0 && ea.is_finite() && ea > 0.0) {
            return Err(HifuError::Plan(format!(
                "Arrhenius parameters A = {a} 1/s and Ea = {ea} J/mol must be positive and finite"
            )));
        }
        Ok(ArrheniusRule {
            log2_frequency: a.log2() as f32,
            activation_log2_kelvin: (ea / (GAS_CONSTANT * std::f64::consts::LN_2)) as f32,
        })
    }
}

impl ArrheniusRule {
    /// A law that stands in where damage is not tracked (the loop compiled without damage never uses it).
    pub(crate) const INERT: ArrheniusRule = ArrheniusRule {
        log2_frequency: -1000.0,
        activation_log2_kelvin: 0.0,
    };

    /// Damage integral Ω gained per second at `temperature_c`.
    #[inline(always)]
    pub fn damage_per_second(&self, temperature_c: f32) -> f32 {
        self.damage_per_second_with::<false>(temperature_c)
    }

    /// [`ArrheniusRule::damage_per_second`], with fused multiply-adds when `FUSED`.
    #[inline(always)]
    pub(crate) fn damage_per_second_with<const FUSED: bool>(&self, temperature_c: f32) -> f32 {
        fast_exp2_with::<FUSED>(
            self.log2_frequency - self.activation_log2_kelvin / (temperature_c + 273.15),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// reference/hifu.md §3: constant temperature and the time it takes to reach 240 CEM43.
    const TIME_TO_240: [(f32, f64); 8] = [
        (43.0, 4.0 * 3600.0),
        (45.0, 3600.0),
        (50.0, 112.5),
        (55.0, 3.52),
        (56.0, 1.76),
        (57.0, 0.88),
        (60.0, 0.11),
        (65.0, 3.4e-3),
    ];

    #[test]
    fn cem43_of_constant_temperatures_matches_the_reference_table() {
        let rule = Cem43Rule::from(Cem43Variant::SaparetoDewey);
        for (temperature, seconds) in TIME_TO_240 {
            let dose = f64::from(rule.minutes_per_second(temperature)) * seconds;
            // The table prints 2–3 significant digits.
            assert!(
                (dose - 240.0).abs() / 240.0 < 0.025,
                "{temperature} °C for {seconds} s gave {dose}"
            );
        }
    }

    #[test]
    fn variants_differ_only_below_43() {
        let [sd, kwave, hitu] = [
            Cem43Variant::SaparetoDewey,
            Cem43Variant::KWave,
            Cem43Variant::Hitu,
        ]
        .map(Cem43Rule::from);
        let rel = |a: f32, b: f32| ((a - b) / b).abs();
        assert!(rel(sd.minutes_per_second(50.0), hitu.minutes_per_second(50.0)) < 1e-6);
        assert!(rel(sd.minutes_per_second(40.0), 0.25f32.powi(3) / 60.0) < 1e-5);
        assert!(rel(hitu.minutes_per_second(40.0), 0.5f32.powi(3) / 60.0) < 1e-5);
        assert_eq!(kwave.minutes_per_second(36.9), 0.0);
        assert!(sd.minutes_per_second(36.9) > 0.0);
    }

    #[test]
    fn arrhenius_times_to_unit_damage_match_the_reference() {
        for (temperature, seconds) in [
            (50.0, 1056.0),
            (55.0, 30.0),
            (57.0, 7.4),
            (60.0, 0.95),
            (65.0, 0.033),
        ] {
            let omega = HENRIQUES_MORITZ.rate_per_s(temperature) * seconds;
            assert!(
                (omega - 1.0).abs() < 0.05,
                "{temperature} °C: omega {omega}"
            );
        }
    }

    #[test]
    fn the_f32_arrhenius_rule_matches_the_f64_rate() {
        let rule = ArrheniusRule::try_from(HENRIQUES_MORITZ).unwrap();
        for temperature in [37.0f32, 43.0, 50.0, 57.0, 65.0, 80.0, 95.0] {
            let exact = HENRIQUES_MORITZ.rate_per_s(f64::from(temperature));
            let fast = f64::from(rule.damage_per_second(temperature));
            assert!(
                (fast - exact).abs() / exact < 1e-4,
                "{temperature} °C: {fast} vs {exact}"
            );
        }
    }

    #[test]
    fn bad_arrhenius_parameters_are_errors() {
        for (a, ea) in [
            (0.0, 6e5),
            (3e98, -1.0),
            (f64::NAN, 6e5),
            (f64::INFINITY, 6e5),
        ] {
            let law = Arrhenius {
                frequency_factor_per_s: a,
                activation_energy_j_per_mol: ea,
            };
            assert!(ArrheniusRule::try_from(law).is_err());
        }
    }

    proptest! {
        #[test]
        fn fast_exp2_is_accurate(x in -100.0f32..50.0) {
            let exact = 2f64.powf(f64::from(x));
            prop_assert!((f64::from(fast_exp2(x)) - exact).abs() / exact < 1e-6);
        }
    }
}
