//! The station's HIFU device thread: it owns the simulated device (`hifu::device`, whose HIFU
//! supervisor judges every solver step on the station's clock), builds it for each plan the
//! station core accepted, takes the core's orders, and hands back what the device reports: beam
//! changes and finished spots to the core (news, audit), thermometry frames straight to the
//! network thread for the consoles' bulk channel. The solver never runs on the servo thread, and
//! the supervisor never waits for the network: with no heartbeat for the survival time the beam
//! goes off here, whatever else happens.

use crate::shared::Shared;
use hifu::device::{DeviceOutput, HifuDevice, ThermometryFrame};
use hifu::heating::HeatPattern;
use hifu::medium::Medium;
use hifu::plan::Plan;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;
use teleop::StationInput;
use teleop::hifu::device_kit::{DevicePace, build_device, command_device, report_of};
use teleop::hifu::procedure::HifuStationConfig;
use teleop::hifu::{DeviceOrder, DeviceReport, PlanLimits};

/// The longest the thread waits for an order when the device has nothing due.
const IDLE_WAIT: Duration = Duration::from_millis(50);

/// How the station runs its HIFU device (the `[hifu]` table of the station's configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HifuSettings {
    /// Simulated seconds between thermometry frames (the consoles' view; the supervisor judges
    /// every solver step whatever this is).
    pub frame_interval_s: f64,
    /// The longest solver step (s): the supervisor judges the heating at least this often.
    pub max_step_s: f64,
    /// Simulated seconds per second of the station's clock (1: real time).
    pub speed: f64,
    pub plan_limits: PlanLimits,
    pub limits: safety::hifu::HifuLimits,
}

impl Default for HifuSettings {
    fn default() -> Self {
        Self {
            frame_interval_s: 0.5,
            max_step_s: 0.25,
            speed: 1.0,
            plan_limits: PlanLimits::default(),
            limits: safety::hifu::HifuLimits::default(),
        }
    }
}

/// Everything the device thread needs: the station's own plan (patient model, transducer) with
/// its medium and heat pattern already computed, and the settings.
pub struct HifuKit {
    pub reference: Plan,
    pub medium: Medium,
    pub pattern: HeatPattern,
    pub settings: HifuSettings,
}

impl HifuKit {
    /// The station core's part of the configuration.
    pub fn station_config(&self) -> HifuStationConfig {
        HifuStationConfig {
            reference: Box::new(self.reference.clone()),
            plan_limits: self.settings.plan_limits.clone(),
            device_limits: self.settings.limits.clone(),
        }
    }
}

/// The running thread and where its orders go.
pub struct HifuThread {
    pub orders: Sender<DeviceOrder>,
    pub handle: JoinHandle<()>,
}

/// Starts the device thread; it ends when the order sender is dropped.
pub fn spawn(
    kit: HifuKit,
    shared: Arc<Shared>,
    frames: tokio::sync::mpsc::UnboundedSender<ThermometryFrame>,
) -> std::io::Result<HifuThread> {
    let (orders, receive) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("station-hifu".into())
        .spawn(move || run(kit, &shared, &receive, &frames))?;
    Ok(HifuThread { orders, handle })
}

fn run(
    kit: HifuKit,
    shared: &Shared,
    orders: &Receiver<DeviceOrder>,
    frames: &tokio::sync::mpsc::UnboundedSender<ThermometryFrame>,
) {
    let mut device: Option<HifuDevice> = None;
    loop {
        let now = shared.now();
        let wait = device
            .as_ref()
            .and_then(|d| d.poll_timeout())
            .map_or(IDLE_WAIT, |due| due.saturating_sub(now).min(IDLE_WAIT));
        match orders.recv_timeout(wait) {
            Ok(order) => {
                let now = shared.now();
                if let Some(report) = obey(&kit, &mut device, order, now) {
                    report_to_core(shared, report);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                if let Some(d) = device.as_mut() {
                    d.input_ended(shared.now());
                    drain(d, shared, frames);
                }
                return;
            }
        }
        if let Some(d) = device.as_mut() {
            d.handle_timeout(shared.now());
            drain(d, shared, frames);
        }
    }
}

/// Carries out one order; a report for the core when there is one to make at once.
fn obey(
    kit: &HifuKit,
    device: &mut Option<HifuDevice>,
    order: DeviceOrder,
    now: Duration,
) -> Option<DeviceReport> {
    match order {
        DeviceOrder::Load { plan, digest } => {
            if let Some(old) = device.as_mut() {
                // A new plan replaces the old device: its beam goes off first.
                old.input_ended(now);
            }
            match build(kit, &plan, now) {
                Ok(built) => {
                    tracing::info!(%digest, spots = plan.spots.len(), "HIFU device ready for the plan");
                    *device = Some(built);
                    Some(DeviceReport::Loaded { digest })
                }
                Err(reason) => {
                    tracing::warn!(%digest, %reason, "HIFU device could not take the plan");
                    *device = None;
                    Some(DeviceReport::LoadFailed { digest, reason })
                }
            }
        }
        DeviceOrder::Command(command) => command_device(device.as_mut()?, command, now),
    }
}

/// A device over the station's own patient model for the plan's spots.
fn build(kit: &HifuKit, plan: &Plan, now: Duration) -> Result<HifuDevice, String> {
    let pace = DevicePace {
        max_step_s: kit.settings.max_step_s,
        speed: kit.settings.speed,
        frame_interval_s: kit.settings.frame_interval_s,
    };
    build_device(
        &kit.reference,
        &kit.medium,
        &kit.pattern,
        plan,
        pace,
        &kit.settings.limits,
        now,
    )
}

/// Frames to the network thread (latest wins there), everything else to the core.
fn drain(
    device: &mut HifuDevice,
    shared: &Shared,
    frames: &tokio::sync::mpsc::UnboundedSender<ThermometryFrame>,
) {
    let mut woke = false;
    while let Some(output) = device.poll_output() {
        if let DeviceOutput::Frame(frame) = output {
            let _ = frames.send(frame);
            woke = true;
            continue;
        }
        if let Some(report) = report_of(output) {
            log_report(&report);
            report_to_core(shared, report);
        }
    }
    if woke {
        shared.wake_network();
    }
}

/// Every beam change and spot end in the station's log.
fn log_report(report: &DeviceReport) {
    match report {
        DeviceReport::Beam {
            state,
            rule,
            reason,
            time_s,
        } => {
            tracing::info!(%state, rule = rule.as_deref().unwrap_or("-"), reason = reason.as_deref().unwrap_or("-"), time_s, "HIFU beam")
        }
        DeviceReport::SonicationDone { spot, time_s } => {
            tracing::info!(spot, time_s, "HIFU spot ended")
        }
        _ => {}
    }
}

fn report_to_core(shared: &Shared, report: DeviceReport) {
    shared.push_inbound(StationInput::HifuDevice { report });
}
