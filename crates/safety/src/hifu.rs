//! The HIFU supervisor: the station's thermal safety for a focused-ultrasound device, a pure state
//! machine on the station's clock. The device asks before it switches the beam on and shows it
//! every solver step's reading (focal temperature, each organ at risk's temperature and dose, how
//! long the spot has sonicated against its plan, the energy delivered against the plan's budget);
//! the supervisor switches the beam off at the first reading that breaks a rule, and keeps it off
//! (latched, with the reason) until the operator acknowledges the stop. Beam-on is a dead-man's
//! switch where an operator's heartbeat is expected: it is never latched on.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The limits the supervisor enforces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HifuLimits {
    /// The focal temperature never passes this (°C): below boiling, where cavitation and
    /// unpredictable lesions begin.
    pub focal_ceiling_c: f32,
    /// No organ at risk passes this temperature (°C)...
    pub oar_max_temp_c: f32,
    /// ...nor this thermal dose (CEM43, minutes).
    pub oar_max_cem43: f32,
    /// The beam goes off when the operator's heartbeat has been silent this long; `None` where
    /// the operator is at the device itself (the local `medlink hifu device`).
    #[serde(with = "optional_millis")]
    pub survival_time: Option<Duration>,
    /// The most energy the whole plan may deliver (J); `None`: no budget.
    pub energy_budget_j: Option<f64>,
    /// A spot may sonicate this much longer than planned (s) before the beam goes off: the
    /// solver's step, so a spot that ends on time is never stopped as overdue.
    pub duration_slack_s: f64,
}

impl Default for HifuLimits {
    fn default() -> Self {
        Self {
            focal_ceiling_c: 90.0,
            oar_max_temp_c: 45.0,
            oar_max_cem43: 30.0,
            survival_time: Some(Duration::from_millis(500)),
            energy_budget_j: None,
            duration_slack_s: 0.05,
        }
    }
}

mod optional_millis {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        d.map(|d| d.as_secs_f64() * 1e3).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let ms = Option::<f64>::deserialize(d)?;
        match ms {
            Some(ms) if !(ms.is_finite() && ms > 0.0) => Err(serde::de::Error::custom(format!(
                "survival_time must be a positive number of milliseconds, got {ms}"
            ))),
            Some(ms) => Ok(Some(Duration::from_secs_f64(ms / 1e3))),
            None => Ok(None),
        }
    }
}

/// One organ at risk as the device measures it now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OarReading {
    pub organ: &'static str,
    /// The hottest voxel of the organ now (°C).
    pub temp_c: f32,
    /// The highest accumulated thermal dose in the organ (CEM43).
    pub cem43: f32,
}

/// What the device shows the supervisor after each solver step while the beam is on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeamReading<'a> {
    pub focal_temp_c: f32,
    pub oars: &'a [OarReading],
    /// How long the current spot has sonicated, and how long its plan says (s).
    pub sonicated_s: f64,
    pub planned_s: f64,
    /// Energy delivered by the whole plan so far (J).
    pub energy_j: f64,
}

/// Why the beam went off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum BeamStop {
    OarTemperature {
        organ: &'static str,
        temp_c: f32,
        limit_c: f32,
    },
    OarDose {
        organ: &'static str,
        cem43: f32,
        limit_cem43: f32,
    },
    FocalCeiling {
        temp_c: f32,
        limit_c: f32,
    },
    PlannedDurationPassed {
        sonicated_s: f64,
        planned_s: f64,
    },
    EnergyBudget {
        energy_j: f64,
        budget_j: f64,
    },
    HeartbeatLost {
        silent_s: f64,
    },
    /// The operator stopped it (not a fault: nothing to acknowledge).
    OperatorStop,
    /// The local device's input ended.
    InputEnded,
}

impl BeamStop {
    /// A stable name, for events, logs and the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            BeamStop::OarTemperature { .. } => "oar_temperature",
            BeamStop::OarDose { .. } => "oar_dose",
            BeamStop::FocalCeiling { .. } => "focal_ceiling",
            BeamStop::PlannedDurationPassed { .. } => "planned_duration_passed",
            BeamStop::EnergyBudget { .. } => "energy_budget",
            BeamStop::HeartbeatLost { .. } => "heartbeat_lost",
            BeamStop::OperatorStop => "operator_stop",
            BeamStop::InputEnded => "input_ended",
        }
    }

    /// Whether the operator must acknowledge it before the beam may go on again.
    pub fn latches(&self) -> bool {
        !matches!(self, BeamStop::OperatorStop | BeamStop::InputEnded)
    }
}

impl std::fmt::Display for BeamStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BeamStop::OarTemperature {
                organ,
                temp_c,
                limit_c,
            } => {
                write!(f, "{organ} reached {temp_c:.1} °C (limit {limit_c:.1} °C)")
            }
            BeamStop::OarDose {
                organ,
                cem43,
                limit_cem43,
            } => {
                write!(
                    f,
                    "{organ} reached {cem43:.1} CEM43 (limit {limit_cem43:.1})"
                )
            }
            BeamStop::FocalCeiling { temp_c, limit_c } => {
                write!(
                    f,
                    "the focus reached {temp_c:.1} °C (ceiling {limit_c:.1} °C)"
                )
            }
            BeamStop::PlannedDurationPassed {
                sonicated_s,
                planned_s,
            } => write!(
                f,
                "the spot sonicated {sonicated_s:.2} s of a planned {planned_s:.2} s"
            ),
            BeamStop::EnergyBudget { energy_j, budget_j } => write!(
                f,
                "the plan delivered {energy_j:.0} J of its {budget_j:.0} J budget"
            ),
            BeamStop::HeartbeatLost { silent_s } => {
                write!(f, "the operator's heartbeat was silent for {silent_s:.3} s")
            }
            BeamStop::OperatorStop => f.write_str("stopped by the operator"),
            BeamStop::InputEnded => f.write_str("the device's input ended"),
        }
    }
}

/// Whether the beam may be on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BeamState {
    Off,
    On,
    /// Off after a rule stopped it; stays off until the operator acknowledges.
    Stopped(BeamStop),
}

/// A change of the beam's state, with its time on the station clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BeamEvent {
    pub at: Duration,
    pub state: BeamState,
}

pub struct HifuSupervisor {
    limits: HifuLimits,
    state: BeamState,
    last_heartbeat: Duration,
    events: Vec<BeamEvent>,
}

pub const REFUSED_LATCHED: &str =
    "the beam was stopped by a safety rule: acknowledge the stop first";
pub const REFUSED_SILENT: &str = "no heartbeat from the operator within the survival time";
pub const REFUSED_BUDGET: &str = "the plan's energy budget is spent";
pub const REFUSED_OAR: &str =
    "an organ at risk is at or above its temperature or dose limit: wait until it cools";

impl HifuSupervisor {
    /// Starts with the beam off; the operator's heartbeat counts from `now`.
    pub fn new(limits: HifuLimits, now: Duration) -> Self {
        Self {
            limits,
            state: BeamState::Off,
            last_heartbeat: now,
            events: Vec::with_capacity(16),
        }
    }

    pub fn limits(&self) -> &HifuLimits {
        &self.limits
    }

    pub fn state(&self) -> BeamState {
        self.state
    }

    pub fn beam_on(&self) -> bool {
        self.state == BeamState::On
    }

    /// The operator's console is alive (renews the dead-man's switch).
    pub fn heartbeat(&mut self, now: Duration) {
        self.last_heartbeat = self.last_heartbeat.max(now);
    }

    /// The device asks to switch the beam on (a spot starts); `energy_j` delivered so far and
    /// the organs at risk as they are now: never on while one is at or above its limit, so that
    /// no organ passes its limit by more than the one step that heated it there.
    pub fn request_on(
        &mut self,
        energy_j: f64,
        oars: &[OarReading],
        now: Duration,
    ) -> Result<(), &'static str> {
        if let BeamState::Stopped(_) = self.state {
            return Err(REFUSED_LATCHED);
        }
        if self.heartbeat_silent(now).is_some() {
            return Err(REFUSED_SILENT);
        }
        if self.limits.energy_budget_j.is_some_and(|b| energy_j >= b) {
            return Err(REFUSED_BUDGET);
        }
        let l = &self.limits;
        if oars
            .iter()
            .any(|o| !(o.temp_c < l.oar_max_temp_c && o.cem43 < l.oar_max_cem43))
        {
            return Err(REFUSED_OAR);
        }
        self.set(BeamState::On, now);
        Ok(())
    }

    /// The operator (or the device's end of input) switches the beam off; not a fault.
    pub fn stop(&mut self, reason: BeamStop, now: Duration) {
        if self.state == BeamState::On {
            let next = if reason.latches() {
                BeamState::Stopped(reason)
            } else {
                BeamState::Off
            };
            self.set(next, now);
        }
    }

    /// The spot finished as planned: the beam goes off.
    pub fn spot_done(&mut self, now: Duration) {
        if self.state == BeamState::On {
            self.set(BeamState::Off, now);
        }
    }

    /// The operator has seen the stop and its reason: the beam may be asked for again.
    pub fn acknowledge(&mut self, now: Duration) -> Result<(), &'static str> {
        match self.state {
            BeamState::Stopped(_) => {
                self.set(BeamState::Off, now);
                Ok(())
            }
            _ => Err("there is no stop to acknowledge"),
        }
    }

    /// Judges the reading after a solver step (and the heartbeat at `now`); returns whether the
    /// beam may stay on. The first rule broken, in the order below, switches it off.
    pub fn check(&mut self, reading: &BeamReading<'_>, now: Duration) -> bool {
        if self.state != BeamState::On {
            return false;
        }
        match self.first_broken(reading, now) {
            Some(stop) => {
                self.set(BeamState::Stopped(stop), now);
                false
            }
            None => true,
        }
    }

    /// Only the heartbeat, between readings (the device's own timer); returns whether the beam
    /// may stay on.
    pub fn tick(&mut self, now: Duration) -> bool {
        if self.state != BeamState::On {
            return false;
        }
        if let Some(stop) = self.heartbeat_silent(now) {
            self.set(BeamState::Stopped(stop), now);
            return false;
        }
        true
    }

    /// The next beam event to report, oldest first.
    pub fn poll_event(&mut self) -> Option<BeamEvent> {
        (!self.events.is_empty()).then(|| self.events.remove(0))
    }

    /// When the heartbeat runs out, while the beam is on.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let survival = self.limits.survival_time?;
        (self.state == BeamState::On).then(|| self.last_heartbeat.saturating_add(survival))
    }

    fn first_broken(&self, r: &BeamReading<'_>, now: Duration) -> Option<BeamStop> {
        let l = &self.limits;
        for oar in r.oars {
            if over(oar.temp_c, l.oar_max_temp_c) {
                return Some(BeamStop::OarTemperature {
                    organ: oar.organ,
                    temp_c: oar.temp_c,
                    limit_c: l.oar_max_temp_c,
                });
            }
            if over(oar.cem43, l.oar_max_cem43) {
                return Some(BeamStop::OarDose {
                    organ: oar.organ,
                    cem43: oar.cem43,
                    limit_cem43: l.oar_max_cem43,
                });
            }
        }
        if over(r.focal_temp_c, l.focal_ceiling_c) {
            return Some(BeamStop::FocalCeiling {
                temp_c: r.focal_temp_c,
                limit_c: l.focal_ceiling_c,
            });
        }
        if over(r.sonicated_s, r.planned_s + l.duration_slack_s) {
            return Some(BeamStop::PlannedDurationPassed {
                sonicated_s: r.sonicated_s,
                planned_s: r.planned_s,
            });
        }
        if let Some(budget_j) = l.energy_budget_j
            && over(r.energy_j, budget_j)
        {
            return Some(BeamStop::EnergyBudget {
                energy_j: r.energy_j,
                budget_j,
            });
        }
        self.heartbeat_silent(now)
    }

    fn heartbeat_silent(&self, now: Duration) -> Option<BeamStop> {
        let survival = self.limits.survival_time?;
        let silent = now.saturating_sub(self.last_heartbeat);
        (silent > survival).then_some(BeamStop::HeartbeatLost {
            silent_s: silent.as_secs_f64(),
        })
    }

    fn set(&mut self, state: BeamState, at: Duration) {
        self.state = state;
        self.events.push(BeamEvent { at, state });
    }
}

/// Whether `value` passes `limit`; NaN counts as over: a reading that cannot be judged stops the
/// beam.
fn over<T: PartialOrd>(value: T, limit: T) -> bool {
    !matches!(
        value.partial_cmp(&limit),
        Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
    )
}
