//! HIFU targets from an OpenIGTLink peer: a POINT list placed on the thermal slice (in the HIFU
//! grid's frame, mm: the frame of the IMAGEs medlink sends, and of a plan's spot foci) becomes a
//! plan only after every point is found inside the patient model and the plan passes the same
//! validation the station applies (`teleop::hifu::validate_plan` against the reference plan).
//! The plan goes to the operator, who decides to run it; nothing is started by itself.

use hifu::grid::Grid;
use hifu::plan::{Plan, Spot};
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
    let template = reference
        .spots
        .first()
        .ok_or("the reference plan has no spot to take power and timing from")?;
    if points.is_empty() {
        return Err("the POINT list is empty".into());
    }
    let mut spots = Vec::with_capacity(points.len());
    for (name, mm) in points {
        let mut spot = Spot {
            slice: 0,
            focus_mm: mm.map(f64::from),
            ..*template
        };
        let voxel = Plan::focus_voxel(grid, &spot).map_err(|e| format!("point {name:?}: {e}"))?;
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
}
