//! The supervisor's limits and timers, with defaults for the dVRK PSM (reference/telesurgery.md).

use crate::Joints;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupervisorConfig {
    /// A command older than this (on the station clock) is never applied.
    #[serde(with = "millis")]
    pub max_command_age: Duration,
    /// A command stamped further in the future than this is refused (clock-sync error bound).
    #[serde(with = "millis")]
    pub max_future_skew: Duration,
    /// No valid command for this long while ENGAGED → HOLD.
    #[serde(with = "millis")]
    pub survival_time: Duration,
    /// No valid command for this long → READY (disengaged).
    #[serde(with = "millis")]
    pub disengage_after: Duration,
    /// More than this between two servo ticks is a stall: ENGAGED → HOLD. It also caps the time
    /// one tick of the slew limiter integrates over.
    #[serde(with = "millis")]
    pub max_servo_gap: Duration,
    /// A command more than this many sequence numbers beyond the session's newest accepted one
    /// (or the engagement's first, before any) is refused as out of range.
    pub max_sequence_jump: u64,
    pub joint_min: Joints,
    pub joint_max: Joints,
    /// Workspace gate: no Cartesian following with the tool tip closer to the RCM than this (m).
    pub min_insertion_m: f64,
    /// Workspace: the tool tip must stay inside this sphere around the RCM (m).
    pub workspace_radius_m: f64,
    /// Per-joint speed limit (rad/s, m/s for insertion); setpoint motion is clamped to it.
    pub max_velocity: Joints,
    /// Per-joint acceleration limit (rad/s², m/s²); setpoint motion is clamped to it.
    pub max_acceleration: Joints,
    /// Measured-vs-setpoint error beyond this → FAULT (dVRK PID tracking-error limits).
    pub max_tracking_error: Joints,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            max_command_age: Duration::from_millis(100),
            max_future_skew: Duration::from_millis(5),
            survival_time: Duration::from_millis(50),
            disengage_after: Duration::from_secs(2),
            max_servo_gap: Duration::from_millis(5),
            max_sequence_jump: 100_000,
            joint_min: [-1.588, -0.925025, 0.0, -4.53786, -1.39626, -1.39626],
            joint_max: [1.588, 0.925025, 0.24, 4.53786, 1.39626, 1.39626],
            min_insertion_m: 0.045,
            workspace_radius_m: 0.24,
            max_velocity: [1.0, 1.0, 0.2, 3.0, 3.0, 3.0],
            max_acceleration: [20.0, 20.0, 4.0, 60.0, 60.0, 60.0],
            max_tracking_error: [0.5, 0.5, 0.05, 0.6, 0.6, 0.6],
        }
    }
}

/// Durations in TOML as whole or fractional milliseconds.
mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64() * 1e3)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let ms = f64::deserialize(d)?;
        Duration::try_from_secs_f64(ms / 1e3).map_err(serde::de::Error::custom)
    }
}
