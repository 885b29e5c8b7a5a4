//! Tests of the scripted motions: determinism, speed, smoothness, amplitude, tremor, and that
//! the mapped motion stays inside the PSM joint limits from the documented start.

use super::*;
use crate::geometry::{norm, sub};
use crate::kinematics::{
    JAW_MAX_RAD, JAW_MIN_RAD, PSM_JOINT_LIMITS, SAFE_DISTANCE_FROM_RCM_M, insertion_depth,
};
use crate::teleop::{TeleopConfig, TeleopMapper};

const DT_S: f64 = 0.001;

fn scripts() -> [SurgicalScript; 4] {
    [
        SurgicalScript::suturing(1),
        SurgicalScript::suturing(2),
        SurgicalScript::knot_tying(1),
        SurgicalScript::knot_tying(2),
    ]
}

/// Master positions every millisecond over the whole script.
fn positions(script: &SurgicalScript) -> Vec<Vec3> {
    let ticks = (script.duration_s() / DT_S).floor() as usize;
    (0..=ticks)
        .filter_map(|i| script.pose_at(i as f64 * DT_S).map(|p| p.position))
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_motion_and_another_seed_another() {
    let at = |script: SurgicalScript| script.pose_at(3.3);
    assert_eq!(
        at(SurgicalScript::suturing(5)),
        at(SurgicalScript::suturing(5))
    );
    assert_ne!(
        at(SurgicalScript::suturing(5)),
        at(SurgicalScript::suturing(6))
    );
    assert_eq!(
        at(SurgicalScript::knot_tying(5)),
        at(SurgicalScript::knot_tying(5))
    );
}

#[test]
fn poses_exist_only_within_the_duration() {
    for script in scripts() {
        let duration = script.duration_s();
        assert!(duration > 15.0 && duration < 40.0, "duration {duration}");
        assert!(script.pose_at(0.0).is_some() && script.pose_at(duration).is_some());
        assert_eq!(script.pose_at(-0.001), None);
        assert_eq!(script.pose_at(duration + 0.001), None);
        assert_eq!(script.pose_at(f64::NAN), None);
        assert_eq!(script.jaw_at(duration + 1.0), None);
    }
}

#[test]
fn master_speed_stays_below_100_mm_per_s_and_velocity_is_continuous() {
    for script in scripts() {
        let p = positions(&script);
        let velocities: Vec<Vec3> = p
            .windows(2)
            .map(|w| scale(sub(w[1], w[0]), 1.0 / DT_S))
            .collect();
        let top_speed = velocities.iter().map(|v| norm(*v)).fold(0.0, f64::max);
        let top_acceleration = velocities
            .windows(2)
            .map(|w| norm(sub(w[1], w[0])) / DT_S)
            .fold(0.0, f64::max);
        eprintln!(
            "{:?}: {:.1} s, top speed {:.1} mm/s, top acceleration {:.2} m/s²",
            script.kind(),
            script.duration_s(),
            top_speed * 1e3,
            top_acceleration
        );
        assert!(top_speed < 0.1, "speed {top_speed} m/s");
        assert!(top_speed > 0.03, "the script barely moves: {top_speed} m/s");
        // A jump in velocity would show as Δv/dt of tens of m/s².
        assert!(
            top_acceleration < 3.0,
            "acceleration {top_acceleration} m/s²"
        );
    }
}

#[test]
fn motion_spans_a_few_centimetres() {
    for script in scripts() {
        let p = positions(&script);
        let widest = (0..3)
            .map(|axis| {
                let values = p.iter().map(|v| v[axis]);
                values.clone().fold(f64::MIN, f64::max) - values.fold(f64::MAX, f64::min)
            })
            .fold(0.0, f64::max);
        assert!(
            widest > 0.02 && widest < 0.12,
            "{:?} spans {widest} m",
            script.kind()
        );
    }
}

#[test]
fn tremor_is_a_fraction_of_a_millimetre_near_9_hz() {
    for script in scripts() {
        let ticks = (script.duration_s() / DT_S) as usize;
        let largest = (0..ticks)
            .map(|i| norm(script.tremor_at(i as f64 * DT_S)))
            .fold(0.0, f64::max);
        assert!(largest > 0.1e-3 && largest < 0.3e-3, "tremor {largest} m");
        let t = 1.234;
        let pose = script.pose_at(t).map(|p| p.position);
        let intended = script.intended_position_at(t);
        let difference = pose.zip(intended).map(|(p, i)| sub(p, i));
        let mismatch = difference.map(|d| norm(sub(d, script.tremor_at(t))));
        assert!(mismatch.is_some_and(|m| m < 1e-15), "{mismatch:?}");
    }
}

/// The whole scripted motion, mapped at scale 0.2 from the documented start, is reachable by IK
/// and stays inside the joint limits, past the 45 mm insertion gate, with the jaw in range.
#[test]
fn mapped_scripts_stay_inside_the_joint_limits_from_the_start_joints() {
    let psm = Psm::dvrk_classic();
    for script in scripts() {
        let start = psm.forward(&SurgicalScript::psm_start_joints());
        let mut mapper = TeleopMapper::new(TeleopConfig::default());
        let master0 = script.pose_at(0.0).unwrap();
        assert_eq!(mapper.engage(&master0, &start), Ok(()));
        let mut q = SurgicalScript::psm_start_joints();
        let mut widest_joint_excursion: Joints = [0.0; 6];
        for i in 0..=(script.duration_s() * 100.0) as usize {
            let t = i as f64 / 100.0;
            let target = mapper.map(&script.pose_at(t).unwrap()).unwrap();
            q = match psm.inverse(&target, &q) {
                Ok(q) => q,
                Err(e) => panic!("{:?} at {t} s: {e}", script.kind()),
            };
            assert!(PSM_JOINT_LIMITS.contains(&q));
            assert!(insertion_depth(&q) > SAFE_DISTANCE_FROM_RCM_M);
            let jaw = script.jaw_at(t).unwrap();
            assert!((JAW_MIN_RAD..=JAW_MAX_RAD).contains(&jaw));
            for (widest, (now, first)) in widest_joint_excursion
                .iter_mut()
                .zip(q.iter().zip(SurgicalScript::psm_start_joints()))
            {
                *widest = widest.max((now - first).abs());
            }
        }
        eprintln!(
            "{:?}: largest joint excursions {widest_joint_excursion:.3?}",
            script.kind()
        );
    }
}
