//! The station's checks of a plan sent by a console: it must be for the station's own patient
//! model, transducer and thermal settings (the console chooses spots, never the anatomy), and every
//! spot within the station's limits on power, sonication time, count and the energy budget. A plan
//! that passes gets a preview (per-spot energy, beam-on and total time, the limits that apply)
//! and a digest that every later request must name.

use hifu::plan::{Plan, Spot};
use safety::hifu::HifuLimits;
use serde::{Deserialize, Serialize};

/// The station's own limits on any plan (docs/hifu.md, "Remote procedure").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanLimits {
    /// The most acoustic power one spot may ask for (W).
    pub max_power_w: f64,
    /// The longest one sonication may be (s).
    pub max_on_s: f64,
    pub max_spots: usize,
    /// The most energy the whole plan may deliver (J); the HIFU supervisor enforces it too.
    pub energy_budget_j: Option<f64>,
}

impl Default for PlanLimits {
    fn default() -> Self {
        Self {
            max_power_w: 400.0,
            max_on_s: 60.0,
            max_spots: 5_000,
            energy_budget_j: None,
        }
    }
}

/// One spot as the station will sonicate it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpotPreview {
    pub focus_mm: [f64; 3],
    pub power_w: f64,
    pub on_s: f64,
    pub cool_s: f64,
    pub energy_j: f64,
}

/// What the operator sees before starting: the plan as the station accepted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanPreview {
    pub digest: String,
    pub spots: Vec<SpotPreview>,
    pub energy_j: f64,
    pub beam_on_s: f64,
    /// Beam-on plus cooling between spots, without the final cooling.
    pub duration_s: f64,
    pub focal_ceiling_c: f32,
    pub oar_max_temp_c: f32,
    pub oar_max_cem43: f32,
    pub energy_budget_j: Option<f64>,
}

/// The plan's digest: CRC-64/ECMA-182 of its JSON, as 16 hex digits.
pub fn plan_digest(plan: &Plan) -> String {
    let json = serde_json::to_vec(plan).unwrap_or_default();
    format!("{:016x}", proto::crc64(&json))
}

/// Checks `plan` against the station's `reference` plan (its patient model, transducer, field,
/// thermal settings and OAR limits) and `limits`; the preview, or the first reason to refuse.
pub fn validate_plan(
    plan: &Plan,
    reference: &Plan,
    limits: &PlanLimits,
    device: &HifuLimits,
) -> Result<PlanPreview, String> {
    let same = [
        (plan.medium == reference.medium, "patient model"),
        (plan.transducer == reference.transducer, "transducer"),
        (plan.field == reference.field, "field settings"),
        (plan.thermal == reference.thermal, "thermal settings"),
        (plan.limits == reference.limits, "organ-at-risk limits"),
    ];
    if let Some((_, what)) = same.iter().find(|(equal, _)| !equal) {
        return Err(format!(
            "the plan's {what} differ from the station's: plan against the station's own model"
        ));
    }
    if plan.spots.is_empty() {
        return Err("the plan has no spots".into());
    }
    if plan.spots.len() > limits.max_spots {
        return Err(format!(
            "the plan has {} spots; the station allows {}",
            plan.spots.len(),
            limits.max_spots
        ));
    }
    let max_power = limits.max_power_w.min(reference.transducer.power_w);
    for (k, spot) in plan.spots.iter().enumerate() {
        check_spot(k, spot, max_power, limits.max_on_s)?;
    }
    let energy_j = plan.energy_j();
    if let Some(budget) = limits.energy_budget_j
        && energy_j > budget
    {
        return Err(format!(
            "the plan delivers {energy_j:.0} J; the station's budget is {budget:.0} J"
        ));
    }
    let spots: Vec<SpotPreview> = plan
        .spots
        .iter()
        .map(|s| SpotPreview {
            focus_mm: s.focus_mm,
            power_w: s.power_w,
            on_s: s.on_s,
            cool_s: s.cool_s,
            energy_j: s.power_w * s.on_s,
        })
        .collect();
    Ok(PlanPreview {
        digest: plan_digest(plan),
        beam_on_s: spots.iter().map(|s| s.on_s).sum(),
        duration_s: spots.iter().map(|s| s.on_s + s.cool_s).sum(),
        spots,
        energy_j,
        focal_ceiling_c: device.focal_ceiling_c,
        oar_max_temp_c: plan.limits.max_temp_c,
        oar_max_cem43: plan.limits.max_cem43,
        energy_budget_j: limits.energy_budget_j,
    })
}

fn check_spot(k: usize, spot: &Spot, max_power_w: f64, max_on_s: f64) -> Result<(), String> {
    if !spot.focus_mm.iter().all(|v| v.is_finite()) {
        return Err(format!("spot {k}: the focus is not a finite position"));
    }
    if !(spot.power_w.is_finite() && spot.power_w > 0.0 && spot.power_w <= max_power_w) {
        return Err(format!(
            "spot {k}: power {} W is outside (0, {max_power_w}] W",
            spot.power_w
        ));
    }
    if !(spot.on_s.is_finite() && spot.on_s > 0.0 && spot.on_s <= max_on_s) {
        return Err(format!(
            "spot {k}: sonication {} s is outside (0, {max_on_s}] s",
            spot.on_s
        ));
    }
    if !(spot.cool_s.is_finite() && spot.cool_s >= 0.0) {
        return Err(format!("spot {k}: cooling {} s is not valid", spot.cool_s));
    }
    Ok(())
}
