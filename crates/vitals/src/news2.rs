//! NEWS2 (Royal College of Physicians, 2017): sub-scores, aggregate, red-score rule, risk bands.
//!
//! Rounding rule for device values between the integer edges of the chart: values are rounded
//! half up before scoring (temperature to 0.1 °C, everything else to whole units), so 90.5 /min
//! scores as 91 and 38.05 °C as 38.1.

use crate::model::{Acvpu, SpO2Scale, Vitals};
use serde::Serialize;

/// Clinical risk band of the NEWS2 response table, ordered from least to most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskBand {
    /// Aggregate 0-4 and no single parameter scoring 3.
    Low,
    /// A single parameter scores 3 (the red score) while the aggregate is under 5.
    LowMedium,
    /// Aggregate 5-6: the key threshold for urgent review.
    Medium,
    /// Aggregate 7 or more: emergency response.
    High,
}

impl RiskBand {
    /// Stable label for APIs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            RiskBand::Low => "low",
            RiskBand::LowMedium => "low_medium",
            RiskBand::Medium => "medium",
            RiskBand::High => "high",
        }
    }
}

/// Per-parameter NEWS2 sub-scores; `None` where the parameter was not measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SubScores {
    pub resp_rate: Option<u8>,
    pub spo2: Option<u8>,
    pub air_or_oxygen: Option<u8>,
    pub systolic: Option<u8>,
    pub pulse: Option<u8>,
    pub consciousness: Option<u8>,
    pub temperature: Option<u8>,
}

impl SubScores {
    fn all(&self) -> [Option<u8>; 7] {
        [
            self.resp_rate,
            self.spo2,
            self.air_or_oxygen,
            self.systolic,
            self.pulse,
            self.consciousness,
            self.temperature,
        ]
    }
}

/// A NEWS2 result. With parameters missing the aggregate is a lower bound of the true score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct News2 {
    pub sub_scores: SubScores,
    pub aggregate: u8,
    /// Some parameter scored 3.
    pub red_score: bool,
    pub band: RiskBand,
    /// All seven parameters were present.
    pub complete: bool,
}

/// Rounds half up to a whole number (the rule for every parameter but temperature).
pub fn round_half_up(value: f64) -> i64 {
    (value + 0.5).floor() as i64
}

/// Rounds half up to tenths and returns tenths (the temperature rule): 36.05 -> 361.
pub fn round_half_up_tenths(value: f64) -> i64 {
    // The small epsilon absorbs binary error, e.g. 36.05 * 10 = 360.49999999999994.
    (value * 10.0 + 0.5 + 1e-9).floor() as i64
}

/// Respiration rate sub-score.
pub fn score_resp_rate(per_min: f64) -> u8 {
    match round_half_up(per_min) {
        ..=8 => 3,
        9..=11 => 1,
        12..=20 => 0,
        21..=24 => 2,
        _ => 3,
    }
}

/// SpO2 sub-score on the given scale; `on_oxygen` matters only on Scale 2.
pub fn score_spo2(percent: f64, scale: SpO2Scale, on_oxygen: bool) -> u8 {
    let spo2 = round_half_up(percent);
    match scale {
        SpO2Scale::Scale1 => match spo2 {
            ..=91 => 3,
            92..=93 => 2,
            94..=95 => 1,
            _ => 0,
        },
        SpO2Scale::Scale2 => match (spo2, on_oxygen) {
            (..=83, _) => 3,
            (84..=85, _) => 2,
            (86..=87, _) => 1,
            (88..=92, _) | (_, false) => 0,
            (93..=94, true) => 1,
            (95..=96, true) => 2,
            (_, true) => 3,
        },
    }
}

/// Air or oxygen sub-score.
pub fn score_air_or_oxygen(on_oxygen: bool) -> u8 {
    if on_oxygen { 2 } else { 0 }
}

/// Systolic blood pressure sub-score.
pub fn score_systolic(mmhg: f64) -> u8 {
    match round_half_up(mmhg) {
        ..=90 => 3,
        91..=100 => 2,
        101..=110 => 1,
        111..=219 => 0,
        _ => 3,
    }
}

/// Pulse sub-score.
pub fn score_pulse(per_min: f64) -> u8 {
    match round_half_up(per_min) {
        ..=40 => 3,
        41..=50 => 1,
        51..=90 => 0,
        91..=110 => 1,
        111..=130 => 2,
        _ => 3,
    }
}

/// Consciousness sub-score: Alert 0, new confusion / voice / pain / unresponsive 3.
pub fn score_consciousness(level: Acvpu) -> u8 {
    if level == Acvpu::Alert { 0 } else { 3 }
}

/// Temperature sub-score.
pub fn score_temperature(celsius: f64) -> u8 {
    match round_half_up_tenths(celsius) {
        ..=350 => 3,
        351..=360 => 1,
        361..=380 => 0,
        381..=390 => 1,
        _ => 2,
    }
}

/// Risk band from the aggregate and the red-score rule.
pub fn band(aggregate: u8, red_score: bool) -> RiskBand {
    match aggregate {
        7.. => RiskBand::High,
        5..=6 => RiskBand::Medium,
        _ if red_score => RiskBand::LowMedium,
        _ => RiskBand::Low,
    }
}

/// Scores a set of vitals on a patient's SpO2 scale.
pub fn score(vitals: &Vitals, scale: SpO2Scale) -> News2 {
    let on_oxygen = vitals.on_oxygen.unwrap_or(false);
    let sub_scores = SubScores {
        resp_rate: vitals.resp_rate.map(score_resp_rate),
        spo2: vitals.spo2.map(|s| score_spo2(s, scale, on_oxygen)),
        air_or_oxygen: vitals.on_oxygen.map(score_air_or_oxygen),
        systolic: vitals.systolic.map(score_systolic),
        pulse: vitals.heart_rate.map(score_pulse),
        consciousness: vitals.consciousness.map(score_consciousness),
        temperature: vitals.temperature.map(score_temperature),
    };
    let all = sub_scores.all();
    let aggregate = all.iter().flatten().sum();
    let red_score = all.iter().flatten().any(|&s| s == 3);
    News2 {
        sub_scores,
        aggregate,
        red_score,
        band: band(aggregate, red_score),
        complete: all.iter().all(Option::is_some),
    }
}
