//! Tests of the PSM kinematics: hand-derived poses, the fixed RCM, FK/IK round trips, limits.

use super::*;
use crate::geometry::{angle_between_rotations, column, cross, norm};
use proptest::prelude::*;
use std::f64::consts::FRAC_PI_2;

fn joints_within(limits: JointLimits) -> impl Strategy<Value = Joints> {
    let axis = |j: usize| limits.min[j]..=limits.max[j];
    [axis(0), axis(1), axis(2), axis(3), axis(4), axis(5)]
}

/// The range where teleoperation happens: inserted past the 45 mm safety gate.
fn cartesian_joints() -> impl Strategy<Value = Joints> {
    let mut limits = PSM_JOINT_LIMITS;
    limits.min[INSERTION_JOINT] = SAFE_DISTANCE_FROM_RCM_M;
    joints_within(limits)
}

fn assert_close(actual: [f64; 3], expected: [f64; 3]) {
    let error = norm(crate::geometry::sub(actual, expected));
    assert!(error < 1e-12, "{actual:?} != {expected:?}");
}

#[test]
fn zero_joints_match_the_hand_derived_pose() {
    // R0_3 = Rx(π/2)Rz(π/2)·Rx(−π/2)Rz(−π/2)·Rx(π/2) sends z to −z: the shaft points down. The
    // wrist-pitch point is at (q3 − 0.4318 + 0.4162)·z3 = (0, 0, 0.0156); the tip is 9.1 mm further
    // along the straight wrist; R0_7 = [[0,1,0],[1,0,0],[0,0,−1]] (tip z along the shaft).
    let pose = Psm::dvrk_classic().forward(&[0.0; 6]);
    assert_close(pose.position, [0.0, 0.0, 0.0156 - 0.0091]);
    let expected = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]];
    assert!(angle_between_rotations(&pose.rotation, &expected) < 1e-12);
}

#[test]
fn insertion_moves_the_tip_down_the_shaft() {
    let pose = Psm::dvrk_classic().forward(&[0.0, 0.0, 0.1, 0.0, 0.0, 0.0]);
    assert_close(pose.position, [0.0, 0.0, 0.0065 - 0.1]);
}

#[test]
fn outer_yaw_swings_the_shaft_toward_x_and_pitch_toward_minus_y() {
    let psm = Psm::dvrk_classic();
    let yawed = psm.forward(&[FRAC_PI_2, 0.0, 0.1, 0.0, 0.0, 0.0]);
    assert_close(yawed.position, [0.0935, 0.0, 0.0]);
    let pitched = psm.forward(&[0.0, FRAC_PI_2, 0.1, 0.0, 0.0, 0.0]);
    assert_close(pitched.position, [0.0, -0.0935, 0.0]);
}

#[test]
fn wrist_pitch_bends_the_tip_off_the_shaft_by_the_pitch_to_yaw_link() {
    let q = [0.0, 0.0, 0.1, 0.0, FRAC_PI_2, 0.0];
    let pose = Psm::dvrk_classic().forward(&q);
    let wrist = [0.0, 0.0, -(0.1 - 0.0156)];
    let offset = norm(crate::geometry::sub(pose.position, wrist));
    assert!((offset - 0.0091).abs() < 1e-12);
    assert!((pose.position[2] - wrist[2]).abs() < 1e-12);
}

#[test]
fn insertion_depth_gates_cartesian_control_at_45_mm() {
    assert_eq!(insertion_depth(&[0.0, 0.0, 0.05, 0.0, 0.0, 0.0]), 0.05);
    assert!(is_safe_for_cartesian_control(&[
        0.0, 0.0, 0.045, 0.0, 0.0, 0.0
    ]));
    assert!(!is_safe_for_cartesian_control(&[
        0.0, 0.0, 0.044, 0.0, 0.0, 0.0
    ]));
}

#[test]
fn limits_report_the_first_offending_joint_and_clamp() {
    let mut q = [0.0, 0.0, 0.1, 0.0, 0.0, 0.0];
    assert!(PSM_JOINT_LIMITS.contains(&q));
    q[4] = 1.5;
    let violation = PSM_JOINT_LIMITS.first_violation(&q);
    assert_eq!(violation.map(|v| v.joint), Some(4));
    assert_eq!(PSM_JOINT_LIMITS.clamp(&q)[4], 1.39626);
    q[1] = f64::NAN;
    assert_eq!(
        PSM_JOINT_LIMITS.first_violation(&q).map(|v| v.joint),
        Some(1)
    );
    assert_eq!(PSM_JOINT_LIMITS.clamp(&q)[1], 0.0);
}

#[test]
fn inverse_reports_targets_it_cannot_reach() {
    let psm = Psm::dvrk_classic();
    let seed = [0.0, 0.0, 0.1, 0.0, 0.0, 0.0];
    let mut too_deep = psm.forward(&seed);
    too_deep.position[2] = -0.5;
    assert!(matches!(
        psm.inverse(&too_deep, &seed),
        Err(IkError::OutsideJointLimits { joint: 2, .. })
    ));
    let mut nan = psm.forward(&seed);
    nan.position[0] = f64::NAN;
    assert_eq!(psm.inverse(&nan, &seed), Err(IkError::NonFiniteTarget));
    let mut sheared = psm.forward(&seed);
    sheared.rotation[0][0] += 0.1;
    assert_eq!(psm.inverse(&sheared, &seed), Err(IkError::Unreachable));
    assert_eq!(
        psm.inverse(&psm.forward(&seed), &[f64::NAN; 6]),
        Err(IkError::NonFiniteSeed)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_shaft_always_passes_through_the_rcm(q in joints_within(PSM_JOINT_LIMITS)) {
        let psm = Psm::dvrk_classic();
        let (rotation, wrist) = psm.frame_after(&q, 4);
        prop_assert!(norm(cross(wrist, column(&rotation, 2))) < 1e-12);
    }

    #[test]
    fn inverse_round_trips_forward_over_the_joint_ranges(
        q in joints_within(PSM_JOINT_LIMITS),
        seed in joints_within(PSM_JOINT_LIMITS),
    ) {
        let psm = Psm::dvrk_classic();
        let target = psm.forward(&q);
        let solved = psm.inverse(&target, &seed);
        prop_assert!(solved.is_ok(), "{q:?}: {solved:?}");
        let solved = solved.unwrap_or(q);
        let reached = psm.forward(&solved);
        prop_assert!(reached.distance_m(&target) < 1e-6);
        prop_assert!(reached.angle_to_rad(&target) < 1e-5);
        prop_assert!(PSM_JOINT_LIMITS.contains(&solved));
    }

    #[test]
    fn inverse_seeded_with_the_answer_returns_it(q in cartesian_joints()) {
        let psm = Psm::dvrk_classic();
        let solved = psm.inverse(&psm.forward(&q), &q);
        prop_assert!(solved.is_ok(), "{q:?}: {solved:?}");
        let solved = solved.unwrap_or([f64::NAN; 6]);
        for j in 0..6 {
            prop_assert!((solved[j] - q[j]).abs() < 1e-9, "joint {j}: {solved:?} vs {q:?}");
        }
    }

    #[test]
    fn inverse_never_panics_on_any_numbers(
        values in proptest::array::uniform12(prop_oneof![
            any::<f64>(),
            -1.0..1.0f64,
            Just(0.0),
            Just(f64::NAN),
        ]),
    ) {
        let pose = Pose {
            position: [values[0], values[1], values[2]],
            rotation: [
                [values[3], values[4], values[5]],
                [values[6], values[7], values[8]],
                [values[9], values[10], values[11]],
            ],
        };
        let _ = Psm::dvrk_classic().inverse(&pose, &[0.0, 0.0, 0.1, 0.0, 0.0, 0.0]);
    }
}

/// Prints the worst FK/IK residual over many random configurations (run with `--nocapture`).
#[test]
fn worst_round_trip_residual_is_far_below_tolerance() {
    use rand::{Rng, SeedableRng};
    let psm = Psm::dvrk_classic();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let (mut worst_m, mut worst_rad) = (0.0f64, 0.0f64);
    for _ in 0..20_000 {
        let q: Joints = std::array::from_fn(|j| {
            rng.random_range(PSM_JOINT_LIMITS.min[j]..=PSM_JOINT_LIMITS.max[j])
        });
        let target = psm.forward(&q);
        let Ok(solved) = psm.inverse(&target, &[0.0, 0.0, 0.1, 0.0, 0.0, 0.0]) else {
            panic!("no solution for {q:?}");
        };
        let reached = psm.forward(&solved);
        worst_m = worst_m.max(reached.distance_m(&target));
        worst_rad = worst_rad.max(reached.angle_to_rad(&target));
    }
    eprintln!(
        "FK/IK round trip over 20000 random joint sets: worst {worst_m:.3e} m, {worst_rad:.3e} rad"
    );
    assert!(worst_m < 1e-6 && worst_rad < 1e-5);
}
