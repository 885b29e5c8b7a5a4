//! Fuzz target: a peer's `Contour` POINT list (any positions, any count, NaN and infinities
//! included) through the contour checks and the fill: never a panic; a plan that comes back
//! has at most the station's spot count, every spot inside the outline and in its slice.
#![no_main]

use console::igtl::contour::SlicePolygon;
use console::igtl::hifu_targets::plan_from_contour;
use hifu::grid::Grid;
use hifu::plan::{MediumSource, Plan, Spot};
use libfuzzer_sys::fuzz_target;
use safety::hifu::HifuLimits;
use teleop::hifu::PlanLimits;

fn reference() -> Plan {
    Plan {
        medium: MediumSource::Fibroid(Default::default()),
        transducer: Default::default(),
        field: Default::default(),
        thermal: Default::default(),
        limits: Default::default(),
        planner: Default::default(),
        spots: vec![Spot {
            slice: 3,
            focus_mm: [30.0, 30.0, 30.0],
            power_w: 40.0,
            on_s: 10.0,
            cool_s: 5.0,
        }],
    }
}

/// The first byte picks how the rest becomes positions: raw little-endian f32 triples (any
/// value), or one byte per coordinate on a 0.25 mm grid inside the model (shapes that fill).
fn points(data: &[u8]) -> Vec<(String, [f32; 3])> {
    let Some((&mode, rest)) = data.split_first() else {
        return Vec::new();
    };
    let coordinates: Vec<f32> = if mode % 2 == 0 {
        rest.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        rest.iter().map(|&b| f32::from(b) * 0.25).collect()
    };
    coordinates
        .chunks_exact(3)
        .enumerate()
        .map(|(k, p)| (format!("C{k}"), [p[0], p[1], p[2]]))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let list = points(data);
    let Ok(grid) = Grid::new([40, 40, 40], 1.5e-3) else {
        return;
    };
    let limits = PlanLimits {
        max_spots: 200,
        ..PlanLimits::default()
    };
    let reference = reference();
    let Ok(made) = plan_from_contour(&reference, &grid, &list, &limits, &HifuLimits::default())
    else {
        return;
    };
    assert!(!made.plan.spots.is_empty() && made.plan.spots.len() <= limits.max_spots);
    let Ok(polygon) = SlicePolygon::new(&list, 0.75) else {
        panic!("a plan from a contour the checks refuse");
    };
    for spot in &made.plan.spots {
        let p = [spot.focus_mm[0], spot.focus_mm[1]];
        assert!(polygon.contains(p), "spot {p:?} outside the contour");
        assert_eq!(spot.focus_mm[2], polygon.z_mm);
    }
});
