//! The station's HIFU device, made ready for `medlink station --hifu PLAN`: the station's own
//! plan file is read, its patient model loaded and its heat pattern computed (with a progress
//! bar) before the station starts listening.

use anyhow::Context;
use hifu::plan::Plan;
use station::config::HifuStation;
use station::hifu_device::HifuKit;

pub fn kit(hifu: &HifuStation) -> anyhow::Result<HifuKit> {
    let bytes = std::fs::read(&hifu.plan)
        .with_context(|| format!("reading the station's HIFU plan {}", hifu.plan.display()))?;
    let reference = Plan::from_json(&bytes)
        .with_context(|| format!("the station's HIFU plan {}", hifu.plan.display()))?;
    let settings = &hifu.settings;
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if !(positive(settings.frame_interval_s)
        && positive(settings.max_step_s)
        && positive(settings.speed))
    {
        anyhow::bail!(
            "HIFU settings: frame_interval_s {}, max_step_s {} and speed {} must be positive",
            settings.frame_interval_s,
            settings.max_step_s,
            settings.speed
        );
    }
    let medium = super::hifu::load_medium(&reference.medium)?;
    let pattern = super::hifu::heat_pattern(&reference.field, &reference.transducer, &medium)?;
    Ok(HifuKit {
        reference,
        medium,
        pattern,
        settings: hifu.settings.clone(),
    })
}
