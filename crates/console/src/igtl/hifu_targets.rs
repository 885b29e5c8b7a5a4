//! HIFU targets from an OpenIGTLink peer: a POINT list placed on the thermal slice (in the HIFU
//! grid's frame, mm: the frame of the IMAGEs medlink sends, and of a plan's spot foci) becomes a
//! plan only after every point is found inside the patient model and the plan passes the same
//! validation the station applies (`teleop::hifu::validate_plan` against the reference plan).
//! A POINT list named `Contour` is a closed outline on the slice instead (`contour`): its
//! interior is filled with spots on the planner's lattice, then validated the same way.
//! The plan goes to the operator, who decides to run it; nothing is started by itself.

use super::contour::SlicePolygon;
use hifu::grid::Grid;
use hifu::plan::{Plan, Spot, lattice};
use safety::hifu::HifuLimits;
use teleop::hifu::{PlanLimits, PlanPreview, validate_plan};

/// A plan made from a peer's points, validated.
#[derive(Debug, Clone)]
pub struct TargetPlan {
    pub plan: Plan,
    pub preview: PlanPreview,
}

/// One spot per point, focused on it, with the power and timing of the reference plan's first
/// spot; refused (with the reason) unless every point lies in `grid` and the plan validates.
pub fn plan_from_points(
    reference: &Plan,
    grid: &Grid,
    points: &[(String, [f32; 3])],
    limits: &PlanLimits,
    device: &HifuLimits,
) -> Result<TargetPlan, String> {
    if points.is_empty() {
        return Err("the POINT list is empty".into());
    }
    let foci = points
        .iter()
        .map(|(name, mm)| (format!("point {name:?}"), mm.map(f64::from)));
    validated_plan(reference, grid, foci, limits, device)
}

/// The spots that fill a closed contour (`contour::SlicePolygon`: the points in order, in one
/// slice of the grid frame): the planner's hexagonal lattice at the reference plan's
/// `planner.spot_spacing_mm`, centred on the contour's centroid, each spot at least
/// `planner.lateral_inset_mm` inside the outline, as the planner keeps spots inside a lesion;
/// then as for points: power and timing of the reference plan's first spot, every spot in
/// `grid`, the plan validated. Refused with the reason when the contour is degenerate, holds no
/// spot, or would hold more than the station allows.
pub fn plan_from_contour(
    reference: &Plan,
    grid: &Grid,
    points: &[(String, [f32; 3])],
    limits: &PlanLimits,
    device: &HifuLimits,
) -> Result<TargetPlan, String> {
    let voxel_mm = grid.spacing_m * 1e3;
    let polygon = SlicePolygon::new(points, voxel_mm / 2.0)?;
    for (name, mm) in points {
        if grid
            .nearest_voxel(mm.map(|v| f64::from(v) * 1e-3))
            .is_none()
        {
            return Err(format!("point {name:?}: {mm:?} mm lies outside the volume"));
        }
    }
    let settings = &reference.planner;
    let spacing = settings.spot_spacing_mm;
    let inset = settings.lateral_inset_mm.max(0.0);
    if !(spacing.is_finite() && spacing > 0.0) {
        return Err(format!(
            "the reference plan's spot spacing {spacing} mm is not positive"
        ));
    }
    // Bounded before laying it out: a peer's contour cannot make an unbounded lattice.
    let lattice_cells = polygon.area_mm2() / (spacing * spacing * 3f64.sqrt() / 2.0);
    if lattice_cells > 2.0 * limits.max_spots as f64 + 16.0 {
        return Err(format!(
            "the contour ({:.0} mm²) holds about {lattice_cells:.0} spots at {spacing} mm; the \
             station allows {}",
            polygon.area_mm2(),
            limits.max_spots
        ));
    }
    let centre = polygon.centroid();
    let spots = lattice::hexagonal(spacing, polygon.reach_from(centre), |x, y| {
        let p = [centre[0] + x, centre[1] + y];
        polygon.contains(p) && polygon.distance_to_outline(p) >= inset
    });
    if spots.is_empty() {
        return Err(format!(
            "the contour ({:.1} mm²) holds no spot of a {spacing} mm lattice {inset} mm inside \
             its outline",
            polygon.area_mm2()
        ));
    }
    let foci = spots.into_iter().enumerate().map(|(k, [x, y])| {
        (
            format!("contour spot {k}"),
            [centre[0] + x, centre[1] + y, polygon.z_mm],
        )
    });
    validated_plan(reference, grid, foci, limits, device)
}

/// A plan with one spot per focus (label for errors, position in mm), each with the power and
/// timing of the reference plan's first spot and in `grid`, that passes `validate_plan`.
fn validated_plan(
    reference: &Plan,
    grid: &Grid,
    foci: impl Iterator<Item = (String, [f64; 3])>,
    limits: &PlanLimits,
    device: &HifuLimits,
) -> Result<TargetPlan, String> {
    let template = reference
        .spots
        .first()
        .ok_or("the reference plan has no spot to take power and timing from")?;
    let mut spots = Vec::new();
    for (label, focus_mm) in foci {
        let mut spot = Spot {
            slice: 0,
            focus_mm,
            ..*template
        };
        let voxel = Plan::focus_voxel(grid, &spot).map_err(|e| format!("{label}: {e}"))?;
        spot.slice = voxel[2];
        spots.push(spot);
    }
    let plan = Plan {
        spots,
        ..reference.clone()
    };
    let preview = validate_plan(&plan, reference, limits, device)?;
    Ok(TargetPlan { plan, preview })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hifu::plan::MediumSource;

    fn reference() -> (Plan, Grid) {
        let plan = Plan {
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
        };
        (plan, Grid::new([40, 40, 40], 1.5e-3).unwrap())
    }

    fn points(list: &[[f32; 3]]) -> Vec<(String, [f32; 3])> {
        list.iter()
            .enumerate()
            .map(|(k, p)| (format!("P{k}"), *p))
            .collect()
    }

    #[test]
    fn points_inside_the_model_become_a_validated_plan() {
        let (reference, grid) = reference();
        let made = plan_from_points(
            &reference,
            &grid,
            &points(&[[10.0, 20.0, 30.0], [40.0, 41.0, 42.0]]),
            &PlanLimits::default(),
            &HifuLimits::default(),
        )
        .unwrap();
        assert_eq!(made.plan.spots.len(), 2);
        assert_eq!(made.plan.spots[1].focus_mm, [40.0, 41.0, 42.0]);
        assert_eq!(made.plan.spots[1].slice, 28);
        assert_eq!(made.plan.spots[0].power_w, 40.0);
        assert_eq!(made.preview.spots.len(), 2);
        assert_eq!(made.plan.medium, reference.medium);
    }

    #[test]
    fn a_point_outside_the_model_or_too_many_refuse_the_plan() {
        let (reference, grid) = reference();
        let outside = plan_from_points(
            &reference,
            &grid,
            &points(&[[10.0, 20.0, 30.0], [10.0, 20.0, 90.0]]),
            &PlanLimits::default(),
            &HifuLimits::default(),
        )
        .unwrap_err();
        assert!(
            outside.contains("\"P1\"") && outside.contains("outside"),
            "{outside}"
        );
        let few = PlanLimits {
            max_spots: 1,
            ..PlanLimits::default()
        };
        let refused = plan_from_points(
            &reference,
            &grid,
            &points(&[[10.0, 20.0, 30.0], [11.0, 20.0, 30.0]]),
            &few,
            &HifuLimits::default(),
        )
        .unwrap_err();
        assert!(refused.contains("the station allows 1"), "{refused}");
    }

    fn square(half: f32) -> Vec<(String, [f32; 3])> {
        points(&[
            [30.0 - half, 30.0 - half, 30.0],
            [30.0 + half, 30.0 - half, 30.0],
            [30.0 + half, 30.0 + half, 30.0],
            [30.0 - half, 30.0 + half, 30.0],
        ])
    }

    fn contour_plan(list: &[(String, [f32; 3])], limits: &PlanLimits) -> Result<Plan, String> {
        let (reference, grid) = reference();
        plan_from_contour(&reference, &grid, list, limits, &HifuLimits::default())
            .map(|made| made.plan)
    }

    /// Every spot inside the polygon, `inset` from its outline, in its slice, 5.5 mm (the
    /// planner's default spacing) from its nearest neighbour.
    fn assert_fills(plan: &Plan, polygon: &SlicePolygon, inset: f64) {
        for spot in &plan.spots {
            let p = [spot.focus_mm[0], spot.focus_mm[1]];
            assert!(polygon.contains(p), "{p:?} outside");
            assert!(
                polygon.distance_to_outline(p) >= inset - 1e-9,
                "{p:?} too near the edge"
            );
            assert_eq!(spot.focus_mm[2], polygon.z_mm);
            assert_eq!(spot.slice, (polygon.z_mm / 1.5).round() as usize);
            assert_eq!((spot.power_w, spot.on_s, spot.cool_s), (40.0, 10.0, 5.0));
            if plan.spots.len() > 1 {
                let nearest = plan
                    .spots
                    .iter()
                    .filter(|s| s.focus_mm != spot.focus_mm)
                    .map(|s| (s.focus_mm[0] - p[0]).hypot(s.focus_mm[1] - p[1]))
                    .fold(f64::INFINITY, f64::min);
                assert!((nearest - 5.5).abs() < 1e-9, "{nearest}");
            }
        }
    }

    #[test]
    fn a_square_contour_is_filled_on_the_planners_lattice() {
        let list = square(10.0);
        let plan = contour_plan(&list, &PlanLimits::default()).unwrap();
        // 17 mm inside the 1.5 mm inset: rows at 0 and ±4.76 mm, 3 + 4 + 4 spots.
        assert_eq!(plan.spots.len(), 11, "{:?}", plan.spots);
        assert!(plan.spots.iter().any(|s| s.focus_mm == [30.0, 30.0, 30.0]));
        assert_fills(&plan, &SlicePolygon::new(&list, 0.75).unwrap(), 1.5);
    }

    #[test]
    fn a_triangle_and_a_concave_l_shape_are_filled_inside_only() {
        let triangle = points(&[[10.0, 10.0, 24.0], [40.0, 10.0, 24.0], [10.0, 40.0, 24.0]]);
        let plan = contour_plan(&triangle, &PlanLimits::default()).unwrap();
        assert!(plan.spots.len() >= 10, "{}", plan.spots.len());
        assert_fills(&plan, &SlicePolygon::new(&triangle, 0.75).unwrap(), 1.5);

        let l_shape = points(&[
            [10.0, 10.0, 30.0],
            [40.0, 10.0, 30.0],
            [40.0, 22.0, 30.0],
            [22.0, 22.0, 30.0],
            [22.0, 40.0, 30.0],
            [10.0, 40.0, 30.0],
        ]);
        let plan = contour_plan(&l_shape, &PlanLimits::default()).unwrap();
        let polygon = SlicePolygon::new(&l_shape, 0.75).unwrap();
        assert_fills(&plan, &polygon, 1.5);
        let in_notch = |s: &Spot| s.focus_mm[0] > 22.0 && s.focus_mm[1] > 22.0;
        assert!(!plan.spots.iter().any(in_notch));
        let arm = |s: &Spot, axis: usize| s.focus_mm[axis] > 26.0;
        assert!(plan.spots.iter().any(|s| arm(s, 0)) && plan.spots.iter().any(|s| arm(s, 1)));
    }

    #[test]
    fn a_degenerate_empty_outside_or_oversized_contour_is_refused() {
        let why = |list: &[(String, [f32; 3])], limits: &PlanLimits| {
            contour_plan(list, limits).unwrap_err()
        };
        let defaults = PlanLimits::default();
        let two = points(&[[10.0, 10.0, 30.0], [20.0, 10.0, 30.0]]);
        assert!(why(&two, &defaults).contains("3 points or more"));
        let tilted = points(&[[10.0, 10.0, 30.0], [20.0, 10.0, 30.0], [20.0, 20.0, 31.0]]);
        assert!(why(&tilted, &defaults).contains("not in one slice"));
        let tiny = square(1.2);
        let refused = why(&tiny, &defaults);
        assert!(refused.contains("holds no spot"), "{refused}");
        let outside = points(&[[-5.0, 10.0, 30.0], [20.0, 10.0, 30.0], [20.0, 20.0, 30.0]]);
        let refused = why(&outside, &defaults);
        assert!(
            refused.contains("\"P0\"") && refused.contains("outside"),
            "{refused}"
        );
        let few = PlanLimits {
            max_spots: 3,
            ..defaults.clone()
        };
        let refused = why(&square(10.0), &few);
        assert!(
            refused.contains("11 spots; the station allows 3"),
            "{refused}"
        );
        let refused = why(
            &square(29.0),
            &PlanLimits {
                max_spots: 1,
                ..defaults
            },
        );
        assert!(
            refused.contains("holds about") && refused.contains("allows 1"),
            "{refused}"
        );
    }
}
