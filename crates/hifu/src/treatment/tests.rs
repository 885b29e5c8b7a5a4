//! A treatment advanced two steps per sweep ends exactly where one advanced step by step does:
//! temperatures, dose, damage, energy, running peaks, slices and the focal trace.

use super::*;
use crate::dose::HENRIQUES_MORITZ;
use crate::testing::{coarse_field, small_scenario};

fn small_treatment() -> Treatment {
    let medium = small_scenario().build().unwrap();
    let bowl = Bowl::default();
    let pattern = coarse_field().heat_pattern(&bowl, medium.grid.spacing_m, &|_, _| {});
    let thermal = ThermalSettings {
        arrhenius: Some(HENRIQUES_MORITZ),
        ..ThermalSettings::default()
    };
    Treatment::new(medium, bowl, pattern, &thermal, OarLimits::default()).unwrap()
}

#[test]
fn pairs_of_steps_give_the_results_of_single_steps() {
    let (mut single, mut paired) = (small_treatment(), small_treatment());
    let [nx, ny, nz] = single.medium().grid.dims;
    let focus = [nx / 2, ny / 2, nz / 2];
    // Sonications that end in the middle of a pair (5.5 steps) and with the second step of a
    // pair (4 steps: the focus is hottest then, and that step counts for the peak), then cooling.
    let dt = single.dt_s();
    let (mut single_trace, mut paired_trace) = (Vec::new(), Vec::new());
    for (power_w, pairs, on_s) in [
        (60.0, 4, 5.5 * dt),
        (40.0, 3, 5.5 * dt),
        (150.0, 3, 4.0 * dt),
    ] {
        single.sonicate(focus, power_w, on_s).unwrap();
        paired.sonicate(focus, power_w, on_s).unwrap();
        for _ in 0..pairs {
            for _ in 0..2 {
                single.step();
                single_trace.push((single.time_s(), single.focal_temperature_c()));
            }
            paired_trace.push(paired.step_pair());
            paired_trace.push((paired.time_s(), paired.focal_temperature_c()));
        }
    }
    assert_eq!(paired_trace, single_trace);
    assert_eq!(paired.summary(), single.summary());
    assert_eq!(paired.slice_peaks(), single.slice_peaks());
    assert_eq!(paired.state().temperature, single.state().temperature);
    assert_eq!(paired.state().damage, single.state().damage);
    let summary = paired.summary();
    assert!(summary.peak_temperature_c > 60.0, "{summary:?}");
    assert!(summary.arrhenius_damaged_fraction.is_some());
}

#[test]
fn the_focal_temperature_is_body_temperature_before_the_first_sonication() {
    let mut treatment = small_treatment();
    // Voxel 0 lies in the cooled bolus, well below body temperature.
    assert!(treatment.state().temperature[0] < 30.0);
    assert_eq!(treatment.focal_temperature_c(), 37.0);
    treatment.step_pair();
    assert_eq!(treatment.focal_temperature_c(), 37.0);
}

/// The small scenario with the bolus at body temperature (so any warming of the skin is the
/// beam's), a field with or without the whole beam path, and 400 W on the middle of the fibroid
/// for 10 s; the organs' figures after it.
fn organs_after_full_power(whole_beam: bool) -> Vec<OrganFigures> {
    let medium = small_scenario().build().unwrap();
    let bowl = Bowl::default();
    let field = crate::field::FieldSettings {
        whole_beam,
        ..coarse_field()
    };
    let pattern = field.heat_pattern(&bowl, medium.grid.spacing_m, &|_, _| {});
    let thermal = ThermalSettings {
        bolus_c: 37.0,
        ..ThermalSettings::default()
    };
    let [nx, ny, _] = medium.grid.dims;
    let centre_z = lesion_centre_z(&medium, &as_indices(&medium)).unwrap();
    let mut treatment =
        Treatment::new(medium, bowl, pattern, &thermal, OarLimits::default()).unwrap();
    treatment
        .sonicate([nx / 2, ny / 2, centre_z], 400.0, 10.0)
        .unwrap();
    while treatment.time_s() < 10.0 {
        treatment.step();
    }
    treatment.summary().organs
}

fn as_indices(medium: &Medium) -> Vec<u32> {
    medium
        .indices_of(Tissue::Fibroid)
        .into_iter()
        .map(|i| i as u32)
        .collect()
}

#[test]
fn the_whole_beam_heats_skin_abdominal_wall_and_bowel_and_the_focal_window_alone_does_not() {
    let peak = |organs: &[OrganFigures], name: &str| {
        organs
            .iter()
            .find(|o| o.organ == name)
            .map(|o| o.max_temp_c)
            .unwrap()
    };
    let whole = organs_after_full_power(true);
    assert!(whole.iter().any(|o| o.organ == "skin" && o.at_risk));
    assert!(whole.iter().any(|o| o.organ == "bowel" && o.at_risk));
    for organ in ["skin", "abdominal_wall", "bowel"] {
        assert!(peak(&whole, organ) > 37.05, "{organ}: {whole:?}");
    }
    let window = organs_after_full_power(false);
    assert!(peak(&window, "skin") <= 37.0 + 1e-4, "{window:?}");
    assert!(peak(&window, "bowel") <= 37.0 + 1e-4, "{window:?}");
    // The window reaches the muscle just above this shallow fibroid, but not the skin or the fat.
    assert!(peak(&whole, "abdominal_wall") > peak(&window, "abdominal_wall"));
}
