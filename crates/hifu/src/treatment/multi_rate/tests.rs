//! Multi-rate stepping against uniform steps: the beam-on steps keep the cap, the beam-off steps
//! are long, spots start on time, and a clinically shaped sequence of shots ends with the same
//! lesion, peaks and organ temperatures.

use super::*;
use crate::study::{StudyCase, StudyFigures, StudySpot, relative_change, run_case, study_table};
use crate::testing::{coarse_field, small_scenario};
use crate::transducer::Bowl;
use crate::treatment::OarLimits;

const CAP_S: f64 = 0.1;

fn thermal(multi_rate: bool) -> ThermalSettings {
    ThermalSettings {
        max_dt_s: Some(CAP_S),
        multi_rate,
        ..ThermalSettings::default()
    }
}

/// The small scenario on a 1 mm grid.
fn scenario() -> crate::scenario::FibroidScenario {
    crate::scenario::FibroidScenario {
        spacing_mm: 1.0,
        ..small_scenario()
    }
}

fn treatment(multi_rate: bool) -> Treatment {
    let medium = scenario().build().unwrap();
    let bowl = Bowl::default();
    let pattern = coarse_field().heat_pattern(&bowl, medium.grid.spacing_m, &|_, _| {});
    Treatment::new(
        medium,
        bowl,
        pattern,
        &thermal(multi_rate),
        OarLimits::default(),
    )
    .unwrap()
}

#[test]
fn beam_on_steps_keep_the_cap_beam_off_steps_are_long_and_spots_start_on_time() {
    let mut treatment = treatment(true);
    let long = treatment.off_beam_dt_s().expect("a long step at 1 mm");
    assert!(long > 4.0 * CAP_S, "{long}");
    let centre = treatment.medium().grid.dims.map(|n| n / 2);
    let mut scheduled = 0.0;
    for k in 0..3 {
        let on_from = treatment.time_s();
        treatment.sonicate(centre, 100.0, 1.0).unwrap();
        scheduled += 4.0;
        let mut steps = Vec::new();
        treatment.advance_to(scheduled, &mut |t, _| steps.push(t));
        // Every step that overlaps the beam (its first second) is at most the cap.
        let mut previous = on_from;
        for &t in &steps {
            if previous < on_from + 1.0 - 1e-6 {
                assert!(t - previous <= CAP_S + 1e-5, "spot {k}: {previous} -> {t}");
            }
            previous = t;
        }
        // Some steps of the cooling are long ones.
        let long_steps = steps
            .windows(2)
            .filter(|w| w[1] - w[0] > 2.0 * CAP_S)
            .count();
        assert!(long_steps >= 3, "spot {k}: {steps:?}");
        // The spot ends within half a short step of its schedule.
        assert!(
            (treatment.time_s() - scheduled).abs() <= 0.5 * CAP_S + 1e-5,
            "spot {k}: {} vs {scheduled}",
            treatment.time_s()
        );
    }
    // Without multi-rate, or with no cap, there is one rate.
    assert!(self::treatment(false).off_beam_dt_s().is_none());
}

/// Six 1 s shots 3 mm apart with 3 s off between them (the clinically shaped protocol), then 30 s
/// of cooling, on the small scenario at 1 mm.
fn shots(multi_rate: bool) -> StudyFigures {
    let spots = (0..6)
        .map(|k| StudySpot {
            offset_mm: [3.0 * (k % 3) as f64 - 3.0, 3.0 * (k / 3) as f64 - 1.5, 0.0],
            power_w: 150.0,
            on_s: 1.0,
            cool_s: if k == 5 { 30.0 } else { 3.0 },
        })
        .collect();
    let case = StudyCase {
        scenario: scenario(),
        field: coarse_field(),
        thermal: thermal(multi_rate),
        spots,
        changes: Vec::new(),
    };
    let table = study_table(&case.field, &Bowl::default(), 1.5e-3, &|_, _| {});
    run_case(&case, &table, &mut |_, _| {}).unwrap()
}

#[test]
fn a_clinically_shaped_sequence_of_shots_ends_as_with_uniform_steps() {
    let uniform = shots(false);
    let multi = shots(true);
    eprintln!("uniform {uniform:?}\nmulti-rate {multi:?}");
    assert!(uniform.lesion_volume_mm3 > 20.0, "{uniform:?}");
    assert_eq!(uniform.energy_j, multi.energy_j);
    assert!((uniform.simulated_s - multi.simulated_s).abs() < 0.5 * CAP_S);
    // The beam-on steps are the same: the focal peak within 0.5 %, the lesion within 2 %.
    let peak = relative_change(
        f64::from(multi.peak_temperature_c),
        f64::from(uniform.peak_temperature_c),
    );
    assert!(peak < 0.005, "peak {peak}");
    let lesion = relative_change(multi.lesion_volume_mm3, uniform.lesion_volume_mm3);
    assert!(lesion < 0.02, "lesion {lesion}");
    for (a, b) in [
        (multi.skin_max_c, uniform.skin_max_c),
        (multi.abdominal_wall_max_c, uniform.abdominal_wall_max_c),
        (multi.bowel_max_c, uniform.bowel_max_c),
    ] {
        assert!((a - b).abs() < 0.05, "{multi:?} {uniform:?}");
    }
}
