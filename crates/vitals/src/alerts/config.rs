//! Alert configuration (TOML, every field with a default).

use crate::news2::RiskBand;
use serde::Deserialize;

/// The sustained-low-SpO2 rule: SpO2 under `threshold` % for at least `for_ms`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SustainedLowSpo2 {
    pub threshold: f64,
    pub for_ms: i64,
}

impl Default for SustainedLowSpo2 {
    fn default() -> Self {
        SustainedLowSpo2 {
            threshold: 90.0,
            for_ms: 30_000,
        }
    }
}

/// All alert rules and the escalation chain.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertConfig {
    /// Roles paged in turn while an alert stays unacknowledged.
    pub escalation_chain: Vec<String>,
    /// How long a role has to acknowledge before the next one is paged.
    pub escalate_after_ms: i64,
    /// Lowest NEWS2 band that raises an alert.
    pub news2_min_band: RiskBand,
    pub sustained_low_spo2: Option<SustainedLowSpo2>,
    /// A device with no message (data, heartbeat or status) for this long is offline.
    pub offline_after_ms: i64,
    /// A live device with no measurement for this long raises "no data".
    pub no_data_after_ms: i64,
    /// In the high band, a NEWS2 aggregate this much above the one last paged pages again
    /// (0: never).
    pub renotify_rise: u8,
    /// Consecutive readings under `news2_min_band` needed before a NEWS2 alert resolves (at
    /// least 1): one better reading between bad ones does not resolve and re-raise. The same
    /// count of SpO2 readings at or above its threshold resolves a sustained-low-SpO2 alert.
    pub resolve_after_readings: u32,
    /// And for at least this long since the first of them (0: the readings alone decide).
    pub resolve_after_ms: i64,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            escalation_chain: ["nurse", "charge_nurse", "doctor", "rapid_response_team"]
                .map(String::from)
                .to_vec(),
            escalate_after_ms: 120_000,
            news2_min_band: RiskBand::LowMedium,
            sustained_low_spo2: Some(SustainedLowSpo2::default()),
            offline_after_ms: 30_000,
            no_data_after_ms: 120_000,
            renotify_rise: 2,
            resolve_after_readings: 2,
            resolve_after_ms: 0,
        }
    }
}

impl<'de> Deserialize<'de> for RiskBand {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let label = String::deserialize(d)?;
        [
            RiskBand::Low,
            RiskBand::LowMedium,
            RiskBand::Medium,
            RiskBand::High,
        ]
        .into_iter()
        .find(|band| band.label() == label)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown NEWS2 band {label:?}")))
    }
}

impl AlertConfig {
    /// The role at an escalation level (the last role once the chain is exhausted).
    pub fn role(&self, level: usize) -> String {
        self.escalation_chain
            .get(level)
            .or(self.escalation_chain.last())
            .cloned()
            .unwrap_or_else(|| "on_call".to_string())
    }
}
