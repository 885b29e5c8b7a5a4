//! The console-to-arm chain with no network in between, at 1 kHz: scripted master motion →
//! tremor filter → teleoperation mapping (scale 0.2) → inverse kinematics → simulated arm.
//! Measures how closely the arm's tool tip follows its targets and how much tremor is left.

use robot::filter::{FilterConfig, TremorFilter};
use robot::geometry::{Pose, norm, scale, sub};
use robot::kinematics::Psm;
use robot::script::{MasterInput, SurgicalScript};
use robot::teleop::{TeleopConfig, TeleopMapper};

const TICK_S: f64 = 0.001;
/// Both filters start at their first sample, which differ by the tremor at t = 0; the residual
/// tremor is measured once that start-up difference has died out.
const SETTLING_S: f64 = 0.5;

struct Figures {
    tracking_rms_mm: f64,
    tracking_max_mm: f64,
    /// Largest tremor displacement of the PSM target before and after the filter, mm.
    tremor_unfiltered_mm: f64,
    tremor_filtered_mm: f64,
}

fn run(script: &SurgicalScript) -> Figures {
    let psm = Psm::dvrk_classic();
    let start = SurgicalScript::psm_start_joints();
    let mut arm = robot::arm::SimulatedArm::new(start).unwrap();
    let mut mapper = TeleopMapper::new(TeleopConfig::default());
    mapper
        .engage(&script.pose_at(0.0).unwrap(), &psm.forward(&start))
        .unwrap();
    // The filter is linear: filtering the tremor-free path alongside isolates the tremor left.
    let mut filter = TremorFilter::new(FilterConfig::default());
    let mut filter_without_tremor = TremorFilter::new(FilterConfig::default());
    let mut setpoint = start;
    let (mut sum_squares, mut worst_m, mut ticks) = (0.0, 0.0f64, 0u32);
    let (mut tremor_before_m, mut tremor_after_m) = (0.0f64, 0.0f64);
    while let Some(master) = script.pose_at(f64::from(ticks) * TICK_S) {
        let t = f64::from(ticks) * TICK_S;
        let intended = script.intended_position_at(t).unwrap();
        let filtered = filter.filter(master.position, t);
        let filtered_intended = filter_without_tremor.filter(intended, t);
        let scale_factor = mapper.config().scale;
        tremor_before_m = tremor_before_m.max(norm(script.tremor_at(t)) * scale_factor);
        if t > SETTLING_S {
            tremor_after_m =
                tremor_after_m.max(norm(sub(filtered, filtered_intended)) * scale_factor);
        }

        let target = mapper
            .map(&Pose {
                position: filtered,
                rotation: master.rotation,
            })
            .unwrap();
        setpoint = psm.inverse(&target, &setpoint).unwrap();
        arm.set_setpoint(setpoint).unwrap();
        arm.step(TICK_S);
        let error_m = psm.forward(&arm.measured()).distance_m(&target);
        sum_squares += error_m * error_m;
        worst_m = worst_m.max(error_m);
        ticks += 1;
    }
    Figures {
        tracking_rms_mm: (sum_squares / f64::from(ticks)).sqrt() * 1e3,
        tracking_max_mm: worst_m * 1e3,
        tremor_unfiltered_mm: tremor_before_m * 1e3,
        tremor_filtered_mm: tremor_after_m * 1e3,
    }
}

#[test]
fn the_arm_follows_scripted_surgery_within_a_fraction_of_a_millimetre_and_tremor_is_filtered() {
    for script in [SurgicalScript::suturing(1), SurgicalScript::knot_tying(1)] {
        let f = run(&script);
        eprintln!(
            "{:?}: tracking rms {:.3} mm, max {:.3} mm; tremor at the PSM {:.4} mm -> {:.4} mm after the filter",
            script.kind(),
            f.tracking_rms_mm,
            f.tracking_max_mm,
            f.tremor_unfiltered_mm,
            f.tremor_filtered_mm
        );
        assert!(f.tracking_rms_mm < 0.5, "rms {} mm", f.tracking_rms_mm);
        assert!(f.tracking_max_mm < 1.0, "max {} mm", f.tracking_max_mm);
        assert!(
            f.tremor_filtered_mm < 0.3 * f.tremor_unfiltered_mm,
            "tremor {} -> {} mm",
            f.tremor_unfiltered_mm,
            f.tremor_filtered_mm
        );
    }
}

#[test]
fn scale_zero_point_two_turns_centimetres_at_the_master_into_millimetres_at_the_tip() {
    let script = SurgicalScript::suturing(1);
    let psm = Psm::dvrk_classic();
    let start = psm.forward(&SurgicalScript::psm_start_joints());
    let mut mapper = TeleopMapper::new(TeleopConfig::default());
    let master0 = script.pose_at(0.0).unwrap();
    mapper.engage(&master0, &start).unwrap();
    let master = script.pose_at(1.0).unwrap();
    let target = mapper.map(&master).unwrap();
    let master_travel = sub(master.position, master0.position);
    let tip_travel = sub(target.position, start.position);
    assert!(norm(sub(tip_travel, scale(master_travel, 0.2))) < 1e-12);
    assert!(norm(master_travel) > 0.005);
}
