//! One test per rule of the closed loop: each fails when its rule is removed.

use super::*;

const FOCUS: [usize; 3] = [2, 2, 3];

/// A 5 × 5 frame of slice `slice_z` at 37 °C and no dose, with the given focal and OAR readings.
fn frame(slice_z: usize, focal_c: f32, oar_c: f32) -> ThermometryFrame {
    ThermometryFrame {
        time_s: 0.0,
        slice_z,
        dims: [5, 5],
        spacing_m: 1.5e-3,
        temperature_c: vec![37.0; 25],
        dose_cem43: vec![0.0; 25],
        focal_temperature_c: focal_c,
        oar_max_temp_c: oar_c,
        sonicating_spot: Some(0),
    }
}

fn controller() -> SpotController {
    // 1.5 mm voxels: the 2 mm cell is the focus and its four face neighbours.
    SpotController::start(ClosedLoopSettings::default(), FOCUS, 1.5, 2.0, 10.0)
}

fn reason(decision: Decision) -> Option<StopReason> {
    match decision {
        Decision::Continue => None,
        Decision::StopSpot { reason } => Some(reason),
    }
}

#[test]
fn a_spot_goes_on_until_its_whole_cell_has_the_target_dose_then_stops() {
    let mut loop_ = controller();
    let mut f = frame(3, 70.0, 37.0);
    let cell = [2 * 5 + 2, 2 * 5 + 1, 2 * 5 + 3, 5 + 2, 3 * 5 + 2];
    for &i in &cell {
        f.dose_cem43[i] = 500.0;
    }
    // One voxel of the cell short of the target keeps the spot going.
    f.dose_cem43[2 * 5 + 3] = 239.0;
    assert_eq!(loop_.on_frame(&f, 10.5), Decision::Continue);
    f.dose_cem43[2 * 5 + 3] = 241.0;
    assert!(matches!(
        reason(loop_.on_frame(&f, 11.0)),
        Some(StopReason::TargetDose { cem43 }) if cem43 == 241.0
    ));
}

#[test]
fn dose_on_another_slice_is_not_the_focus_dose() {
    let mut loop_ = controller();
    let mut f = frame(4, 70.0, 37.0);
    f.dose_cem43 = vec![1000.0; 25];
    assert_eq!(loop_.on_frame(&f, 10.5), Decision::Continue);
}

#[test]
fn a_focus_near_the_ceiling_stops_the_spot() {
    let mut loop_ = controller();
    assert_eq!(
        loop_.on_frame(&frame(3, 84.9, 37.0), 10.5),
        Decision::Continue
    );
    assert!(matches!(
        reason(loop_.on_frame(&frame(3, 85.0, 37.0), 10.6)),
        Some(StopReason::FocalTemperature { .. })
    ));
    let mut unreadable = controller();
    assert!(matches!(
        reason(unreadable.on_frame(&frame(3, f32::NAN, 37.0), 10.5)),
        Some(StopReason::FocalTemperature { .. })
    ));
}

#[test]
fn an_organ_at_risk_warming_past_its_warning_during_the_spot_stops_it() {
    let mut loop_ = controller();
    assert_eq!(
        loop_.on_frame(&frame(3, 60.0, 42.0), 10.2),
        Decision::Continue
    );
    assert!(matches!(
        reason(loop_.on_frame(&frame(3, 60.0, 43.2), 10.4)),
        Some(StopReason::OarWarning { .. })
    ));
    // A peak over the warning from before the spot (the frames carry the running peak) that does
    // not grow does not stop it.
    let mut after = controller();
    assert_eq!(
        after.on_frame(&frame(3, 60.0, 43.5), 10.2),
        Decision::Continue
    );
    assert_eq!(
        after.on_frame(&frame(3, 60.0, 43.5), 10.4),
        Decision::Continue
    );
}

#[test]
fn the_planned_on_time_ends_the_spot() {
    let mut loop_ = controller();
    assert_eq!(
        loop_.on_frame(&frame(3, 60.0, 37.0), 11.9),
        Decision::Continue
    );
    assert!(matches!(
        reason(loop_.on_frame(&frame(3, 60.0, 37.0), 12.0)),
        Some(StopReason::OnTimeElapsed { on_s }) if on_s == 2.0
    ));
}

#[test]
fn the_next_spot_waits_until_its_neighbourhood_has_cooled() {
    let settings = ClosedLoopSettings::default();
    let gate = CoolingGate::new(settings, FOCUS, 1.5, 100.0);
    let mut hot = frame(3, 37.0, 37.0);
    // 3 mm from the next focus: inside the 4 mm neighbourhood.
    hot.temperature_c[2 * 5 + 4] = 50.0;
    assert!(!gate.ready(&hot, 110.0));
    let mut cooled = hot.clone();
    cooled.temperature_c[2 * 5 + 4] = 41.9;
    assert!(gate.ready(&cooled, 110.0));
    // Heat outside the neighbourhood (4.2 mm away) does not hold it.
    let mut far = frame(3, 37.0, 37.0);
    far.temperature_c[4 * 5 + 4] = 50.0;
    assert!(gate.ready(&far, 110.0));
    // A frame of another slice tells nothing; the longest wait opens the gate anyway.
    assert!(!gate.ready(&frame(4, 37.0, 37.0), 110.0));
    assert!(gate.ready(&hot, 100.0 + settings.max_wait_s));
    assert_eq!(gate.slice_z(), 3);
}
