//! Two steps per sweep must give exactly what two single steps give: temperature, dose, damage,
//! time and the probed intermediate temperatures, on random tissue volumes, sources, slab counts and
//! tile heights.

use super::*;
use crate::dose::HENRIQUES_MORITZ;
use crate::medium::Medium;
use crate::tissue::Tissue;
use crate::{bioheat::ThermalSettings, grid::Grid};
use proptest::prelude::*;

/// A volume of every tissue in the repeating pattern `labels`, with body temperature 55 °C so the dose and damage grow fast.
fn random_case(dims: [usize; 3], labels: &[u8]) -> (BioheatModel, BioheatState) {
    let grid = Grid::new(dims, 1e-3).unwrap();
    let mut tissues: Vec<Tissue> = (0..grid.cell_count())
        .map(|i| Tissue::from_label(labels[i % labels.len()] % 7).unwrap())
        .collect();
    // At least one interior voxel of tissue, so there is something to heat.
    tissues[grid.index(dims.map(|n| n / 2))] = Tissue::Muscle;
    let medium = Medium::from_labels(grid, tissues).unwrap();
    let settings = ThermalSettings {
        body_c: 55.0,
        arrhenius: Some(HENRIQUES_MORITZ),
        ..ThermalSettings::default()
    };
    BioheatModel::new(&medium, &settings).unwrap()
}

/// Heat sources on the free voxels among `picks`, in the order picked (unsorted on purpose).
fn sources(model: &BioheatModel, picks: &[(usize, f32)]) -> Vec<(u32, f32)> {
    picks
        .iter()
        .map(|&(i, rate)| (i % model.grid.cell_count(), rate))
        .filter(|&(i, _)| model.is_free(i))
        .map(|(i, rate)| (i as u32, rate))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn a_pair_equals_two_single_steps(
        nx in 3usize..12,
        ny in 3usize..10,
        nz in 3usize..30,
        labels in proptest::collection::vec(0u8..7, 1..50),
        picks in proptest::collection::vec((0usize..4000, 0.0f32..40.0), 0..40),
        seconds in 0.0f32..2.0,
        slabs in 1usize..6,
        rows in 1usize..9,
        pairs in 1usize..4,
    ) {
        let (model, start) = random_case([nx, ny, nz], &labels);
        let heat = sources(&model, &picks);
        let probed: Vec<u32> = (0..model.grid.cell_count() as u32).step_by(3).collect();
        let mut probes = Probes::new(probed.clone(), &model.grid);
        let (mut single, mut paired) = (start.clone(), start);
        for _ in 0..pairs {
            single.heat(&heat, seconds);
            paired.heat(&heat, seconds);
            model.step(&mut single);
            let intermediate = single.temperature.clone();
            single.heat(&heat, seconds);
            model.step(&mut single);
            model.step_pair_in_slabs(&mut paired, &heat, seconds, &mut probes, [slabs, rows]);
            for &i in &probed {
                prop_assert_eq!(probes.temperature()[i as usize], intermediate[i as usize]);
            }
        }
        prop_assert_eq!(&paired.temperature, &single.temperature);
        prop_assert_eq!(&paired.dose, &single.dose);
        prop_assert_eq!(&paired.damage, &single.damage);
        prop_assert_eq!(paired.time_s, single.time_s);
    }
}

#[test]
fn the_default_slab_count_also_matches_and_heat_reaches_the_tissue() {
    let (model, start) = random_case([20, 18, 60], &[3, 5, 3, 6, 4, 3, 0, 2, 1]);
    let centre = model.grid.index([10, 9, 30]);
    let heat = sources(&model, &[(centre, 30.0), (centre + 1, 20.0)]);
    assert!(!heat.is_empty());
    let mut probes = Probes::new(vec![centre as u32], &model.grid);
    let (mut single, mut paired) = (start.clone(), start);
    for _ in 0..5 {
        model.step(&mut single);
        single.heat(&heat, 1.0);
        model.step(&mut single);
        model.step_pair(&mut paired, &heat, 1.0, &mut probes);
    }
    assert_eq!(paired.temperature, single.temperature);
    assert_eq!(paired.dose, single.dose);
    assert!(paired.temperature[centre] > 55.0);
}
