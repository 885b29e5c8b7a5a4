//! Building the station's HIFU device for an accepted plan, and what its outputs become for the
//! station core: shared by the station's device thread and the rehearsal, so that both run the
//! same device the same way.

use super::DeviceReport;
use hifu::device::{DeviceCommand, DeviceOutput, HifuDevice};
use hifu::heating::HeatPattern;
use hifu::medium::Medium;
use hifu::plan::Plan;
use safety::hifu::HifuLimits;
use std::time::Duration;

/// How the device runs: its longest solver step (the supervisor's period of judgement), its
/// pace against the station's clock, and the interval of its thermometry frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DevicePace {
    pub max_step_s: f64,
    pub speed: f64,
    pub frame_interval_s: f64,
}

/// A device over the station's own patient model (`reference`, `medium`, `pattern`) for the
/// spots of `plan`, its clock and dead-man's switch starting at `now`. The energy budget is the
/// plan's own when `limits` sets none.
pub fn build_device(
    reference: &Plan,
    medium: &Medium,
    pattern: &HeatPattern,
    plan: &Plan,
    pace: DevicePace,
    limits: &HifuLimits,
    now: Duration,
) -> Result<HifuDevice, String> {
    let spots = plan
        .spots
        .iter()
        .map(|spot| Plan::focus_voxel(&medium.grid, spot))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let treatment = hifu::simulate::treatment_with_step(
        reference,
        medium.clone(),
        pattern.clone(),
        pace.max_step_s,
    )
    .map_err(|e| e.to_string())?;
    let limits = HifuLimits {
        energy_budget_j: limits.energy_budget_j.or(Some(plan.energy_j())),
        ..limits.clone()
    };
    let mut device = HifuDevice::new(treatment, spots, pace.speed, pace.frame_interval_s, limits)
        .map_err(|e| e.to_string())?;
    device.handle_timeout(now);
    device
        .handle_command(DeviceCommand::Heartbeat, now)
        .map_err(|e| e.to_string())?;
    Ok(device)
}

/// What the station core hears of a device output; `None` for a thermometry frame (frames go
/// straight to the consoles).
pub fn report_of(output: DeviceOutput) -> Option<DeviceReport> {
    match output {
        DeviceOutput::Frame(_) => None,
        DeviceOutput::Beam {
            time_s,
            state,
            rule,
            reason,
        } => Some(DeviceReport::Beam {
            state,
            rule,
            reason,
            time_s,
        }),
        DeviceOutput::SonicationDone { spot, time_s } => {
            Some(DeviceReport::SonicationDone { spot, time_s })
        }
    }
}

/// Carries out a command on the device; the report of its refusal, if it refused.
pub fn command_device(
    device: &mut HifuDevice,
    command: DeviceCommand,
    now: Duration,
) -> Option<DeviceReport> {
    device
        .handle_command(command, now)
        .err()
        .map(|e| DeviceReport::Refused {
            command: format!("{command:?}"),
            reason: e.to_string(),
        })
}
