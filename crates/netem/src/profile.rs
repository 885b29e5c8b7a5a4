//! What an emulated network does, as data: per-direction delay, jitter, loss, duplication,
//! reordering and bandwidth, plus link-wide outages and handover gaps. Profiles load from TOML;
//! every field has a default (an ideal link), and `validate` rejects impossible values.

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProfileError {
    #[error("reading profile TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("profile field {field}: {problem}")]
    Invalid { field: String, problem: String },
    #[error("unknown profile {0:?}; named profiles: {1}")]
    Unknown(String, String),
    #[error("reading profile file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The random part of the one-way delay, added to the base delay (never below zero in total).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Jitter {
    #[default]
    None,
    /// Normal with this standard deviation (ms), truncated so the total delay stays ≥ 0.
    Normal { sd_ms: f64 },
    /// Pareto-distributed extra delay (ms) with this mean and tail shape (> 2, smaller = heavier):
    /// most packets get little extra delay, a few get a lot, as on loaded long-haul paths. Drawn
    /// per packet, or read from a process of time when the lane has `jitter_correlation_ms`.
    HeavyTailed { mean_ms: f64, shape: f64 },
}

/// Which packets the network loses (besides outages and a full queue).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Loss {
    #[default]
    None,
    /// Each packet independently with probability `p`.
    Bernoulli { p: f64 },
    /// Gilbert-Elliott bursts: a two-state chain moved once per packet, good→bad with `p`,
    /// bad→good with `r`; a packet is lost with `loss_good` / `loss_bad` in each state.
    GilbertElliott {
        p: f64,
        r: f64,
        loss_good: f64,
        loss_bad: f64,
    },
}

impl Loss {
    /// The long-run fraction of packets lost.
    pub fn mean_rate(&self) -> f64 {
        match *self {
            Loss::None => 0.0,
            Loss::Bernoulli { p } => p,
            Loss::GilbertElliott {
                p,
                r,
                loss_good,
                loss_bad,
            } => {
                let bad = if p + r > 0.0 { p / (p + r) } else { 0.0 };
                bad * loss_bad + (1.0 - bad) * loss_good
            }
        }
    }
}

/// One direction of the link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LaneProfile {
    /// Base one-way delay (ms).
    pub delay_ms: f64,
    pub jitter: Jitter,
    /// Correlation time (ms) of the jitter, so a queue drifts rather than jumps and packets close
    /// together see similar delays however many there are; 0 makes every packet independent.
    /// Normal jitter: an AR(1) series, packets sent this far apart keep 1/e of each other's
    /// jitter. Heavy-tailed jitter: the epoch of its process of time (`tail::TailProcess`): the
    /// excess of a packet departing at t is the Pareto read from an Exp(1) value E(t) that gets
    /// fresh randomness every epoch and moves continuously between, so every packet still has
    /// the Pareto marginal and the spikes come per unit of time, not per packet sent.
    pub jitter_correlation_ms: f64,
    /// Probability that a packet may overtake earlier ones; 0 keeps the order (jitter then
    /// delays the packets behind a late one, as a FIFO link does).
    pub reorder: f64,
    /// Probability that a packet is delivered twice.
    pub duplicate: f64,
    pub loss: Loss,
    /// Bandwidth cap (Mbit/s); 0 means uncapped.
    pub rate_mbit_s: f64,
    /// Bytes the bottleneck queue holds before it drops arrivals (tail drop).
    pub queue_bytes: u64,
}

impl Default for LaneProfile {
    fn default() -> Self {
        Self {
            delay_ms: 0.0,
            jitter: Jitter::None,
            jitter_correlation_ms: 0.0,
            reorder: 0.0,
            duplicate: 0.0,
            loss: Loss::None,
            rate_mbit_s: 0.0,
            queue_bytes: 256 * 1024,
        }
    }
}

/// A cut of the whole link: everything sent or in flight during it is lost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    pub start_ms: f64,
    pub duration_ms: f64,
}

/// Periodic handover gaps: every `period_ms` (first at `first_ms`) the link pauses for a gap drawn
/// uniformly from `[gap_min_ms, gap_max_ms]`. With `buffered` the packets sent during a gap are
/// held and delivered when it ends (data forwarding between cells), so some arrive stale;
/// without it they are lost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handover {
    pub first_ms: f64,
    pub period_ms: f64,
    pub gap_min_ms: f64,
    pub gap_max_ms: f64,
    #[serde(default)]
    pub buffered: bool,
}

/// A whole emulated network. `forward` carries what the client sends (console → station),
/// `back` the replies; in TOML a missing `[back]` copies `[forward]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// Where the numbers come from.
    pub source: String,
    pub forward: LaneProfile,
    pub back: LaneProfile,
    pub outages: Vec<Outage>,
    pub handover: Option<Handover>,
}

/// The shortest handover period a profile may ask for (ms).
pub const MIN_HANDOVER_PERIOD_MS: f64 = 1.0;

/// The TOML form, where `back` is optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    forward: LaneProfile,
    back: Option<LaneProfile>,
    #[serde(default)]
    outages: Vec<Outage>,
    handover: Option<Handover>,
}

impl Profile {
    /// Parses and validates a profile written in TOML.
    pub fn from_toml(text: &str) -> Result<Self, ProfileError> {
        let file: ProfileFile = toml::from_str(text)?;
        let profile = Profile {
            name: if file.name.is_empty() {
                "custom".into()
            } else {
                file.name
            },
            description: file.description,
            source: file.source,
            back: file.back.unwrap_or_else(|| file.forward.clone()),
            forward: file.forward,
            outages: file.outages,
            handover: file.handover,
        };
        profile.validate()?;
        Ok(profile)
    }

    /// A named profile, or else a path to a TOML file.
    pub fn resolve(name_or_path: &str) -> Result<Self, ProfileError> {
        if let Some(profile) = crate::named_profile(name_or_path) {
            return Ok(profile);
        }
        if name_or_path.ends_with(".toml") {
            let text =
                std::fs::read_to_string(name_or_path).map_err(|source| ProfileError::Io {
                    path: name_or_path.into(),
                    source,
                })?;
            return Self::from_toml(&text);
        }
        Err(ProfileError::Unknown(
            name_or_path.into(),
            crate::NAMED_PROFILES.join(", "),
        ))
    }

    /// Rejects negative times, probabilities outside [0, 1], heavy tails without a mean and
    /// handovers closer than `MIN_HANDOVER_PERIOD_MS`.
    pub fn validate(&self) -> Result<(), ProfileError> {
        for (lane_name, lane) in [("forward", &self.forward), ("back", &self.back)] {
            validate_lane(lane_name, lane)?;
        }
        for (i, o) in self.outages.iter().enumerate() {
            non_negative(&format!("outages[{i}].start_ms"), o.start_ms)?;
            non_negative(&format!("outages[{i}].duration_ms"), o.duration_ms)?;
        }
        if let Some(h) = &self.handover {
            non_negative("handover.first_ms", h.first_ms)?;
            non_negative("handover.gap_min_ms", h.gap_min_ms)?;
            non_negative("handover.period_ms", h.period_ms)?;
            if !(h.gap_max_ms >= h.gap_min_ms && h.period_ms > h.gap_max_ms) {
                return Err(invalid(
                    "handover",
                    "needs gap_min_ms <= gap_max_ms < period_ms",
                ));
            }
            // Handovers every few microseconds mean nothing, and gaps packed closer than the
            // float spacing of their start times would never end.
            if h.period_ms < MIN_HANDOVER_PERIOD_MS {
                return Err(invalid(
                    "handover.period_ms",
                    &format!("must be at least {MIN_HANDOVER_PERIOD_MS} ms"),
                ));
            }
        }
        Ok(())
    }
}

fn validate_lane(name: &str, lane: &LaneProfile) -> Result<(), ProfileError> {
    non_negative(&format!("{name}.delay_ms"), lane.delay_ms)?;
    non_negative(&format!("{name}.rate_mbit_s"), lane.rate_mbit_s)?;
    probability(&format!("{name}.reorder"), lane.reorder)?;
    non_negative(
        &format!("{name}.jitter_correlation_ms"),
        lane.jitter_correlation_ms,
    )?;
    probability(&format!("{name}.duplicate"), lane.duplicate)?;
    match lane.jitter {
        Jitter::None => {}
        Jitter::Normal { sd_ms } => non_negative(&format!("{name}.jitter.sd_ms"), sd_ms)?,
        Jitter::HeavyTailed { mean_ms, shape } => {
            non_negative(&format!("{name}.jitter.mean_ms"), mean_ms)?;
            if !(shape > 2.0 && shape.is_finite()) {
                return Err(invalid(&format!("{name}.jitter.shape"), "must be > 2"));
            }
        }
    }
    match lane.loss {
        Loss::None => {}
        Loss::Bernoulli { p } => probability(&format!("{name}.loss.p"), p)?,
        Loss::GilbertElliott {
            p,
            r,
            loss_good,
            loss_bad,
        } => {
            for (field, v) in [
                ("p", p),
                ("r", r),
                ("loss_good", loss_good),
                ("loss_bad", loss_bad),
            ] {
                probability(&format!("{name}.loss.{field}"), v)?;
            }
        }
    }
    Ok(())
}

fn invalid(field: &str, problem: &str) -> ProfileError {
    ProfileError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

fn non_negative(field: &str, v: f64) -> Result<(), ProfileError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(invalid(field, &format!("{v} is not a finite value >= 0")))
    }
}

fn probability(field: &str, v: f64) -> Result<(), ProfileError> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(invalid(field, &format!("{v} is not a probability")))
    }
}
