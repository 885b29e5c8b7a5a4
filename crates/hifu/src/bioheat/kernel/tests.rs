//! The loop compiled for this CPU (fused multiply-adds, wide vectors) against the portable loop with
//! separately rounded arithmetic: the same update to within float rounding, on every tissue (on a CPU
//! without FMA the dispatched loop is the portable one and the comparison is trivially equal).

use super::*;
use crate::bioheat::ThermalSettings;
use crate::dose::HENRIQUES_MORITZ;
use crate::grid::Grid;
use crate::medium::Medium;
use crate::tissue::Tissue;

#[test]
fn the_dispatched_loop_matches_the_portable_loop() {
    let grid = Grid::new([23, 19, 5], 1e-3).unwrap();
    let tissues = (0..grid.cell_count())
        .map(|i| Tissue::from_label((i * 7 / 5 % 7) as u8).unwrap())
        .collect();
    let settings = ThermalSettings {
        arrhenius: Some(HENRIQUES_MORITZ),
        ..ThermalSettings::default()
    };
    let (model, mut state) =
        BioheatModel::new(&Medium::from_labels(grid, tissues).unwrap(), &settings).unwrap();
    // A hot, uneven field so that diffusion, perfusion, dose and damage all matter.
    for (i, t) in state.temperature.iter_mut().enumerate() {
        *t = 40.0 + (i * 37 % 29) as f32;
    }
    let plane = 23 * 19;
    let (z, start) = (2, 23 + 1);
    let t = &state.temperature;
    let around = Around {
        below: &t[(z - 1) * plane..z * plane],
        centre: &t[z * plane..(z + 1) * plane],
        above: &t[(z + 1) * plane..(z + 2) * plane],
    };
    let n = 16 * 23 - 2;
    let outputs = || (vec![0f32; n], vec![1f32; n], vec![0.5f32; n]);
    let (mut fast, mut portable) = (outputs(), outputs());
    model.update_run(&around, z, start, fields(&mut fast));
    let rule = model.damage.unwrap();
    model.update_run_portable::<true, false>((&around, z, start, fields(&mut portable), rule));
    let close = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .all(|(a, b)| (a - b).abs() <= 1e-5 * a.abs().max(b.abs()).max(1e-6))
    };
    assert!(close(&fast.0, &portable.0), "temperature differs");
    assert!(close(&fast.1, &portable.1), "dose differs");
    assert!(close(&fast.2, &portable.2), "damage differs");
    // And the update did something: every voxel of the run gained dose and damage.
    assert!(portable.1.iter().all(|&d| d > 1.0));
    assert!(portable.2.iter().all(|&d| d > 0.5));
}

/// The output fields of a run held in three vectors.
fn fields((temperature, dose, damage): &mut (Vec<f32>, Vec<f32>, Vec<f32>)) -> Fields<'_> {
    Fields {
        temperature,
        dose,
        damage,
    }
}
