//! Multi-rate stepping of a treatment: while the beam is on, steps no longer than the thermal
//! settings' `max_dt_s` (the device's contract: the supervisor sees the heating at least that
//! often; the studies' 0.1 s, which bounds the splitting error of the beam's heat); while it is
//! off (the cooling between spots, most of a clinically shaped plan), the scheme's own step: for
//! the explicit scheme its stability limit, 0.63 s at 1.0 mm against the 0.1 s cap. The two
//! models share the state; only their time step (and so their gains) differ.

use super::{Field, Treatment};
use crate::HifuError;
use crate::bioheat::{BioheatModel, ThermalSettings};
use crate::medium::Medium;

/// The model for beam-off steps when `thermal` asks for multi-rate stepping and the scheme's own
/// step is longer than `on_beam`'s (none otherwise: one rate is all there is).
pub(super) fn off_beam_model(
    medium: &Medium,
    thermal: &ThermalSettings,
    on_beam: &BioheatModel,
) -> Result<Option<BioheatModel>, HifuError> {
    if !thermal.multi_rate {
        return Ok(None);
    }
    let uncapped = ThermalSettings {
        max_dt_s: None,
        ..*thermal
    };
    let (model, _) = BioheatModel::new(medium, &uncapped)?;
    Ok((model.dt_s > on_beam.dt_s).then_some(model))
}

impl Treatment {
    /// The beam-off step of multi-rate stepping, if the treatment has one (s).
    pub fn off_beam_dt_s(&self) -> Option<f64> {
        self.off_beam.as_ref().map(|m| f64::from(m.dt_s))
    }

    /// Steps until `until_s` (the next spot or the end of the plan): with the beam off, long
    /// steps while they end by `until_s`; then, and whenever the beam is on, `dt_s` steps while
    /// the next ends no later than half a step past `until_s`. Two steps per sweep where both fit.
    /// `on_step` gets the time and the focal temperature after every step.
    pub fn advance_to(&mut self, until_s: f64, on_step: &mut dyn FnMut(f64, f32)) {
        const SLACK_S: f64 = 1e-6;
        loop {
            if let (None, Some(long)) = (&self.active, self.off_beam_dt_s()) {
                let now = self.time_s();
                if now + 2.0 * long <= until_s + SLACK_S {
                    let first_s = self.off_beam_pair();
                    on_step(first_s.0, first_s.1);
                    on_step(self.time_s(), self.focal_temperature_c());
                    continue;
                }
                if now + long <= until_s + SLACK_S {
                    self.off_beam_step();
                    on_step(self.time_s(), self.focal_temperature_c());
                    continue;
                }
            }
            let dt = self.dt_s();
            if self.time_s() + 0.5 * dt > until_s {
                return;
            }
            if self.time_s() + 1.5 * dt <= until_s {
                let (first_s, first_focal_c) = self.step_pair();
                on_step(first_s, first_focal_c);
            } else {
                self.step();
            }
            on_step(self.time_s(), self.focal_temperature_c());
        }
    }

    /// One long step with the beam off.
    fn off_beam_step(&mut self) {
        if let Some(model) = &self.off_beam {
            model.step(&mut self.state);
            self.track(Field::Current);
        }
    }

    /// Two long steps with the beam off in one sweep; the time and focal temperature after the
    /// first.
    fn off_beam_pair(&mut self) -> (f64, f32) {
        let Some(model) = &self.off_beam else {
            return (self.time_s(), self.focal_temperature_c());
        };
        let first_s = self.state.time_s + f64::from(model.dt_s);
        model.step_pair(&mut self.state, &[], 0.0, &mut self.probes);
        self.track(Field::FirstOfPair);
        let first_focal_c = self.focal_c(self.probes.temperature());
        self.track(Field::Current);
        (first_s, first_focal_c)
    }
}

#[cfg(test)]
mod tests;
