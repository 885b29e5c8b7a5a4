//! The simulated device: commands, pacing by `now`, frames and completion reports.

use super::*;
use crate::simulate::treatment_for;
use crate::testing::small_plan;
use safety::hifu::{BeamState, BeamStop, HifuLimits};

/// The small plan's device at `speed`, with no operator heartbeat expected.
fn device(speed: f64) -> HifuDevice {
    device_with(
        speed,
        HifuLimits {
            survival_time: None,
            ..Default::default()
        },
    )
}

fn device_with(speed: f64, limits: HifuLimits) -> HifuDevice {
    let (medium, pattern, plan) = small_plan();
    device_on(medium, pattern, &plan, speed, limits)
}

/// A device over `plan`'s spots on `medium`.
fn device_on(
    medium: crate::medium::Medium,
    pattern: crate::heating::HeatPattern,
    plan: &crate::plan::Plan,
    speed: f64,
    limits: HifuLimits,
) -> HifuDevice {
    let spots = plan
        .spots
        .iter()
        .map(|s| crate::plan::Plan::focus_voxel(&medium.grid, s).unwrap())
        .collect();
    let treatment = treatment_for(plan, medium, pattern).unwrap();
    HifuDevice::new(treatment, spots, speed, 2.0, limits).unwrap()
}

fn drain(device: &mut HifuDevice) -> Vec<DeviceOutput> {
    std::iter::from_fn(|| device.poll_output()).collect()
}

#[test]
fn sonicating_a_spot_heats_it_and_reports_completion() {
    let mut device = device(10.0);
    let start = Duration::from_secs(100);
    device
        .handle_command(
            DeviceCommand::Sonicate {
                spot: 0,
                power_w: 100.0,
                duration_s: 10.0,
            },
            start,
        )
        .unwrap();
    // One real second at 10x is 10 simulated seconds.
    device.handle_timeout(start + Duration::from_millis(500));
    let midway = device.treatment().time_s();
    assert!(
        (midway - 5.0).abs() <= device.treatment().dt_s(),
        "{midway}"
    );
    device.handle_timeout(start + Duration::from_secs(2));
    let outputs = drain(&mut device);
    let frames: Vec<&ThermometryFrame> = outputs
        .iter()
        .filter_map(|o| {
            if let DeviceOutput::Frame(f) = o {
                Some(f)
            } else {
                None
            }
        })
        .collect();
    assert!(frames.len() >= 9, "{} frames", frames.len());
    assert!(
        frames
            .iter()
            .any(|f| f.focal_temperature_c > 45.0 && f.sonicating_spot == Some(0))
    );
    assert!(
        outputs
            .iter()
            .any(|o| matches!(o, DeviceOutput::SonicationDone { spot: 0, .. }))
    );
    let last = frames.last().unwrap();
    assert_eq!(last.temperature_c.len(), last.dims[0] * last.dims[1]);
    assert!(last.dose_cem43.iter().any(|&d| d > 0.0));
}

#[test]
fn bad_commands_are_errors_and_time_never_runs_backwards() {
    let mut device = device(1.0);
    let now = Duration::from_secs(5);
    let bad_spot = DeviceCommand::Sonicate {
        spot: 10_000,
        power_w: 10.0,
        duration_s: 1.0,
    };
    assert!(matches!(
        device.handle_command(bad_spot, now),
        Err(HifuError::NoSuchSpot { .. })
    ));
    let bad_power = DeviceCommand::Sonicate {
        spot: 0,
        power_w: 1e9,
        duration_s: 1.0,
    };
    assert!(matches!(
        device.handle_command(bad_power, now),
        Err(HifuError::Power(..))
    ));
    let bad_time = DeviceCommand::Sonicate {
        spot: 0,
        power_w: 10.0,
        duration_s: -1.0,
    };
    assert!(matches!(
        device.handle_command(bad_time, now),
        Err(HifuError::Duration(_))
    ));
    device.handle_timeout(now + Duration::from_secs(3));
    let t = device.treatment().time_s();
    device.handle_timeout(now);
    assert_eq!(device.treatment().time_s(), t);
    assert!(device.poll_timeout().unwrap() > now + Duration::from_secs(2));
}

#[test]
fn stop_switches_the_beam_off_at_once() {
    let mut device = device(1.0);
    let now = Duration::ZERO;
    device
        .handle_command(
            DeviceCommand::Sonicate {
                spot: 1,
                power_w: 50.0,
                duration_s: 30.0,
            },
            now,
        )
        .unwrap();
    device
        .handle_command(DeviceCommand::Stop, now + Duration::from_secs(3))
        .unwrap();
    assert!(!device.treatment().is_sonicating());
    assert!(
        drain(&mut device)
            .iter()
            .any(|o| matches!(o, DeviceOutput::SonicationDone { spot: 1, .. }))
    );
}

#[test]
fn frames_stay_on_the_latest_focus_slice_after_the_beam_is_off() {
    let mut device = device(100.0);
    // A spot off the middle slice, which frames show before any sonication.
    let middle = device.treatment().medium().grid.dims[2] / 2;
    let spot = (device.spots.iter())
        .position(|focus| focus[2] != middle)
        .expect("a spot off the middle slice");
    let focus_z = device.spots[spot][2];
    device
        .handle_command(
            DeviceCommand::Sonicate {
                spot,
                power_w: 50.0,
                duration_s: 4.0,
            },
            Duration::ZERO,
        )
        .unwrap();
    device.handle_timeout(Duration::from_secs(1));
    let outputs = drain(&mut device);
    let done = outputs
        .iter()
        .position(|o| matches!(o, DeviceOutput::SonicationDone { .. }))
        .expect("the sonication ends");
    let after: Vec<&ThermometryFrame> = outputs[done..]
        .iter()
        .filter_map(|o| match o {
            DeviceOutput::Frame(f) => Some(f),
            _ => None,
        })
        .collect();
    assert!(!after.is_empty());
    for frame in after {
        assert_eq!(frame.sonicating_spot, None);
        assert_eq!(frame.slice_z, focus_z);
    }
}

#[test]
fn a_pace_too_fast_to_keep_runs_in_bounded_slices_without_owing_the_lag() {
    let mut device = device(1e9);
    device.handle_timeout(Duration::ZERO);
    let late = Duration::from_secs(1);
    device.handle_timeout(late);
    let dt = device.treatment().dt_s();
    let one_slice = MAX_STEPS_PER_CALL as f64 * dt;
    let reached = device.treatment().time_s();
    assert!((reached - one_slice).abs() < 1e-6 * one_slice, "{reached}");
    // The lag is let go: a command at the same `now` applies where the simulation got to.
    let sonicate = DeviceCommand::Sonicate {
        spot: 0,
        power_w: 10.0,
        duration_s: 1.0,
    };
    device.handle_command(sonicate, late).unwrap();
    assert_eq!(device.treatment().time_s(), reached);
    // Later calls go on at the fastest pace, a slice at a time.
    device.handle_timeout(late + Duration::from_millis(1));
    let next = device.treatment().time_s();
    assert!((next - reached - one_slice).abs() < 1e-6 * next, "{next}");
}

/// Steps the device one solver step at a time until the beam is off; returns the largest rise of
/// the focal and the organ-at-risk temperature in one step, and the last readings.
fn step_until_off(device: &mut HifuDevice, mut now: Duration) -> (f32, f32, f32, f32) {
    let step = Duration::from_secs_f64(device.treatment().dt_s());
    let (mut focal_rise, mut oar_rise) = (0.0f32, 0.0f32);
    let reading = |d: &HifuDevice| {
        let oar = d
            .treatment()
            .oar_readings()
            .iter()
            .map(|o| o.temp_c)
            .fold(f32::NEG_INFINITY, f32::max);
        (d.treatment().focal_temperature_c(), oar)
    };
    let (mut focal, mut oar) = reading(device);
    for _ in 0..200_000 {
        if device.beam() != BeamState::On {
            break;
        }
        now += step;
        device.handle_timeout(now);
        let (f, o) = reading(device);
        focal_rise = focal_rise.max(f - focal);
        oar_rise = oar_rise.max(o - oar);
        (focal, oar) = (f, o);
    }
    (focal_rise, oar_rise, focal, oar)
}

#[test]
fn full_power_for_two_minutes_stops_at_the_first_thermal_limit_within_one_step() {
    let mut device = device(1.0);
    let start = Duration::from_secs(1);
    device
        .handle_command(
            DeviceCommand::Sonicate {
                spot: 0,
                power_w: 400.0,
                duration_s: 120.0,
            },
            start,
        )
        .unwrap();
    let (focal_rise, oar_rise, focal, oar) = step_until_off(&mut device, start);
    let limits = HifuLimits::default();
    let stop = match device.beam() {
        BeamState::Stopped(stop) => stop,
        other => panic!("the beam did not stop by a rule: {other:?}"),
    };
    assert!(
        device.treatment().time_s() < 120.0,
        "stopped at {} s",
        device.treatment().time_s()
    );
    match stop {
        BeamStop::FocalCeiling { .. } => {
            assert!(focal <= limits.focal_ceiling_c + focal_rise, "{focal}")
        }
        BeamStop::OarTemperature { .. } => {
            assert!(oar <= limits.oar_max_temp_c + oar_rise, "{oar}")
        }
        other => panic!("stopped by {other:?}, not a thermal limit"),
    }
    // The stop is reported with its rule, and the next spot waits for an acknowledgement.
    let outputs = drain(&mut device);
    assert!(outputs.iter().any(|o| matches!(
        o,
        DeviceOutput::Beam { state, rule: Some(rule), .. } if state == "stopped" && rule == stop.name()
    )));
    let next = DeviceCommand::Sonicate {
        spot: 0,
        power_w: 10.0,
        duration_s: 1.0,
    };
    let later = start + Duration::from_secs(200);
    assert!(matches!(
        device.handle_command(next, later),
        Err(HifuError::Refused(_))
    ));
    device
        .handle_command(DeviceCommand::Acknowledge, later)
        .unwrap();
    device.handle_command(next, later).unwrap();
    assert_eq!(device.beam(), BeamState::On);
}

#[test]
fn the_end_of_input_switches_the_beam_off_at_once() {
    let mut device = device(1.0);
    let start = Duration::from_secs(1);
    let long = DeviceCommand::Sonicate {
        spot: 0,
        power_w: 20.0,
        duration_s: 60.0,
    };
    device.handle_command(long, start).unwrap();
    device.input_ended(start + Duration::from_millis(10));
    assert!(!device.treatment().is_sonicating());
    assert_eq!(device.beam(), BeamState::Off);
}

#[test]
fn a_silent_operator_switches_the_beam_off_within_the_survival_time_and_a_step() {
    let limits = HifuLimits {
        survival_time: Some(Duration::from_millis(500)),
        ..HifuLimits::default()
    };
    let mut device = device_with(1.0, limits);
    let start = Duration::from_secs(1);
    device
        .handle_command(DeviceCommand::Heartbeat, start)
        .unwrap();
    let spot = DeviceCommand::Sonicate {
        spot: 0,
        power_w: 20.0,
        duration_s: 30.0,
    };
    device.handle_command(spot, start).unwrap();
    device.handle_timeout(start + Duration::from_millis(500));
    assert_eq!(device.beam(), BeamState::On, "on up to the survival time");
    let dt = Duration::from_secs_f64(device.treatment().dt_s());
    device.handle_timeout(start + Duration::from_millis(501) + dt);
    assert!(matches!(
        device.beam(),
        BeamState::Stopped(BeamStop::HeartbeatLost { .. })
    ));
    assert!(!device.treatment().is_sonicating());
    assert!(device.poll_timeout().is_some());
}

#[test]
fn the_skin_is_an_organ_at_risk_whose_limit_switches_the_beam_off() {
    let (medium, pattern, mut plan) = small_plan();
    // A bolus at body temperature: the skin's warming is the beam's alone.
    plan.thermal.bolus_c = 37.0;
    let limits = HifuLimits {
        survival_time: None,
        focal_ceiling_c: 1000.0,
        oar_max_temp_c: 37.1,
        ..Default::default()
    };
    let mut device = device_on(medium, pattern, &plan, 1.0, limits);
    let start = Duration::from_secs(1);
    let sonicate = DeviceCommand::Sonicate {
        spot: 0,
        power_w: 400.0,
        duration_s: 60.0,
    };
    device.handle_command(sonicate, start).unwrap();
    step_until_off(&mut device, start);
    match device.beam() {
        BeamState::Stopped(BeamStop::OarTemperature { organ, .. }) => assert_eq!(organ, "skin"),
        other => panic!("expected the skin's limit to stop the beam, got {other:?}"),
    }
}
