//! Every boundary value of the NEWS2 chart (RCP 2017), both SpO2 scales, red score and bands.

use proptest::prelude::*;
use vitals::news2::*;
use vitals::{Acvpu, SpO2Scale, Vitals};

/// Checks `score` at each (value, expected) pair.
fn check(name: &str, score: impl Fn(f64) -> u8, cases: &[(f64, u8)]) {
    for &(value, expected) in cases {
        assert_eq!(score(value), expected, "{name} at {value}");
    }
}

#[test]
fn respiration_rate_edges() {
    let cases = [
        (0.0, 3),
        (8.0, 3),
        (9.0, 1),
        (11.0, 1),
        (12.0, 0),
        (20.0, 0),
        (21.0, 2),
        (24.0, 2),
        (25.0, 3),
        (60.0, 3),
    ];
    check("rr", score_resp_rate, &cases);
}

#[test]
fn spo2_scale_1_edges() {
    let cases = [
        (91.0, 3),
        (92.0, 2),
        (93.0, 2),
        (94.0, 1),
        (95.0, 1),
        (96.0, 0),
        (100.0, 0),
    ];
    check(
        "spo2 scale 1 air",
        |v| score_spo2(v, SpO2Scale::Scale1, false),
        &cases,
    );
    check(
        "spo2 scale 1 oxygen",
        |v| score_spo2(v, SpO2Scale::Scale1, true),
        &cases,
    );
}

#[test]
fn spo2_scale_2_edges_on_air_and_oxygen() {
    let shared = [
        (83.0, 3),
        (84.0, 2),
        (85.0, 2),
        (86.0, 1),
        (87.0, 1),
        (88.0, 0),
        (92.0, 0),
    ];
    check(
        "spo2 scale 2 air",
        |v| score_spo2(v, SpO2Scale::Scale2, false),
        &shared,
    );
    check(
        "spo2 scale 2 oxygen",
        |v| score_spo2(v, SpO2Scale::Scale2, true),
        &shared,
    );
    let air = [(93.0, 0), (94.0, 0), (97.0, 0), (100.0, 0)];
    check(
        "spo2 scale 2 air high",
        |v| score_spo2(v, SpO2Scale::Scale2, false),
        &air,
    );
    let oxygen = [
        (93.0, 1),
        (94.0, 1),
        (95.0, 2),
        (96.0, 2),
        (97.0, 3),
        (100.0, 3),
    ];
    check(
        "spo2 scale 2 oxygen high",
        |v| score_spo2(v, SpO2Scale::Scale2, true),
        &oxygen,
    );
}

#[test]
fn air_or_oxygen() {
    assert_eq!(score_air_or_oxygen(false), 0);
    assert_eq!(score_air_or_oxygen(true), 2);
}

#[test]
fn systolic_edges() {
    let cases = [
        (90.0, 3),
        (91.0, 2),
        (100.0, 2),
        (101.0, 1),
        (110.0, 1),
        (111.0, 0),
        (219.0, 0),
        (220.0, 3),
    ];
    check("sbp", score_systolic, &cases);
}

#[test]
fn pulse_edges() {
    let cases = [
        (40.0, 3),
        (41.0, 1),
        (50.0, 1),
        (51.0, 0),
        (90.0, 0),
        (91.0, 1),
        (110.0, 1),
        (111.0, 2),
        (130.0, 2),
        (131.0, 3),
    ];
    check("pulse", score_pulse, &cases);
}

#[test]
fn consciousness_levels() {
    assert_eq!(score_consciousness(Acvpu::Alert), 0);
    for level in [
        Acvpu::Confusion,
        Acvpu::Voice,
        Acvpu::Pain,
        Acvpu::Unresponsive,
    ] {
        assert_eq!(score_consciousness(level), 3, "{level:?}");
    }
}

#[test]
fn temperature_edges() {
    let cases = [
        (35.0, 3),
        (35.1, 1),
        (36.0, 1),
        (36.1, 0),
        (38.0, 0),
        (38.1, 1),
        (39.0, 1),
        (39.1, 2),
        (41.0, 2),
    ];
    check("temp", score_temperature, &cases);
}

#[test]
fn values_between_edges_round_half_up() {
    assert_eq!(score_pulse(90.4), 0);
    assert_eq!(score_pulse(90.5), 1);
    assert_eq!(score_resp_rate(8.49), 3);
    assert_eq!(score_resp_rate(8.5), 1);
    assert_eq!(score_temperature(36.04), 1);
    assert_eq!(score_temperature(36.05), 0);
    assert_eq!(score_temperature(35.05), 1);
    assert_eq!(score_spo2(95.5, SpO2Scale::Scale1, false), 0);
}

#[test]
fn risk_bands_and_red_score() {
    assert_eq!(band(0, false), RiskBand::Low);
    assert_eq!(band(4, false), RiskBand::Low);
    assert_eq!(band(3, true), RiskBand::LowMedium);
    assert_eq!(band(4, true), RiskBand::LowMedium);
    assert_eq!(band(5, false), RiskBand::Medium);
    assert_eq!(band(6, true), RiskBand::Medium);
    assert_eq!(band(7, false), RiskBand::High);
    assert_eq!(band(20, true), RiskBand::High);
}

fn normal() -> Vitals {
    Vitals {
        heart_rate: Some(70.0),
        resp_rate: Some(16.0),
        spo2: Some(97.0),
        on_oxygen: Some(false),
        temperature: Some(37.0),
        systolic: Some(120.0),
        diastolic: Some(80.0),
        consciousness: Some(Acvpu::Alert),
    }
}

#[test]
fn aggregate_of_a_worked_example() {
    assert_eq!(score(&normal(), SpO2Scale::Scale1).aggregate, 0);
    assert!(score(&normal(), SpO2Scale::Scale1).complete);
    // RR 22 (2) + SpO2 93 on O2 scale 1 (2) + O2 (2) + SBP 105 (1) + pulse 115 (2) + A (0) + 38.5 (1) = 10
    let sick = Vitals {
        resp_rate: Some(22.0),
        spo2: Some(93.0),
        on_oxygen: Some(true),
        systolic: Some(105.0),
        heart_rate: Some(115.0),
        temperature: Some(38.5),
        ..normal()
    };
    let result = score(&sick, SpO2Scale::Scale1);
    assert_eq!(result.aggregate, 10);
    assert_eq!(result.band, RiskBand::High);
    assert!(!result.red_score);
}

#[test]
fn a_single_red_parameter_sets_low_medium() {
    let confused = Vitals {
        consciousness: Some(Acvpu::Confusion),
        ..normal()
    };
    let result = score(&confused, SpO2Scale::Scale1);
    assert_eq!(
        (result.aggregate, result.red_score, result.band),
        (3, true, RiskBand::LowMedium)
    );
}

#[test]
fn missing_parameters_give_an_incomplete_lower_bound() {
    let only_pulse = Vitals {
        heart_rate: Some(135.0),
        ..Vitals::default()
    };
    let result = score(&only_pulse, SpO2Scale::Scale1);
    assert!(!result.complete);
    assert_eq!(result.aggregate, 3);
    assert_eq!(result.sub_scores.resp_rate, None);
}

proptest! {
    #[test]
    fn aggregate_is_the_sum_of_sub_scores_and_within_0_to_20(
        hr in 0.0..300.0f64, rr in 0.0..80.0f64, spo2 in 50.0..100.0f64, o2: bool,
        temp in 30.0..43.0f64, sbp in 40.0..260.0f64, level in 0usize..5, scale2: bool,
    ) {
        let consciousness = [Acvpu::Alert, Acvpu::Confusion, Acvpu::Voice, Acvpu::Pain, Acvpu::Unresponsive][level];
        let vitals = Vitals {
            heart_rate: Some(hr), resp_rate: Some(rr), spo2: Some(spo2), on_oxygen: Some(o2),
            temperature: Some(temp), systolic: Some(sbp), diastolic: None, consciousness: Some(consciousness),
        };
        let scale = if scale2 { SpO2Scale::Scale2 } else { SpO2Scale::Scale1 };
        let result = score(&vitals, scale);
        prop_assert!(result.aggregate <= 20);
        prop_assert_eq!(result.band, band(result.aggregate, result.red_score));
        prop_assert!(result.complete);
    }

    #[test]
    fn pulse_score_never_improves_as_pulse_moves_away_from_normal(a in 70.0..300.0f64, b in 70.0..300.0f64) {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        prop_assert!(score_pulse(lo) <= score_pulse(hi));
    }
}
