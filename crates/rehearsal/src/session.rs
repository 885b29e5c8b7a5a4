//! One rehearsed session: the scripted surgeon runs the suturing script on a simulated
//! console–station pair (`teleop::sim::SimPair`, the production session cores over the netem
//! core, each side on its own clock, clock sync through the emulated link with its asymmetry),
//! one simulated millisecond per step, and every step's outcome is recorded for the invariants.
//! The station judges each command by the upper bound of its age that clock sync gives it; the
//! simulation alone knows the true send time, which the report and the auditor use.

use crate::observe::Observations;
use netem::{Direction, Profile};
use proto::SupervisorStateCode;
use robot::script::{MasterInput, SurgicalScript};
use safety::SupervisorConfig;
use serde::Serialize;
use std::time::Duration;
use teleop::console::surgeon::ScriptedSurgeon;
use teleop::sim::{SimConfig, SimPair};
use teleop::wire::pose_from_wire;
use teleop::{LatencyRecorder, NoTap, Percentiles, StationReport};
use thiserror::Error;

/// The scripted surgeon presses engage again this long after the station fell back (as the
/// console's `reengage_after_ms` default).
pub const REENGAGE_AFTER: Duration = Duration::from_millis(500);
/// Stitches are repeated to fill the duration, up to this many (a huge duration cannot exhaust
/// memory).
const MAX_STITCHES: usize = 2_000;

#[derive(Debug, Error)]
pub enum RehearsalError {
    #[error("duration must be positive and finite, got {0}")]
    BadDuration(f64),
    #[error("starting the simulated arm: {0}")]
    Arm(#[from] robot::arm::ArmError),
    #[error("the matrix profile: {0}")]
    Profile(#[from] netem::ProfileError),
    #[error("the HIFU rehearsal's patient model: {0}")]
    Hifu(#[from] hifu::HifuError),
}

#[derive(Debug, Clone)]
pub struct RehearsalConfig {
    pub profile: Profile,
    pub seed: u64,
    pub duration_s: f64,
    /// The scripted operator re-engages by itself after the station left ENGAGED.
    pub auto_reengage: bool,
    pub supervisor: SupervisorConfig,
}

impl RehearsalConfig {
    pub fn new(profile: Profile, seed: u64, duration_s: f64) -> Self {
        Self {
            profile,
            seed,
            duration_s,
            auto_reengage: true,
            supervisor: SupervisorConfig::default(),
        }
    }

    /// The simulated pair this rehearsal runs.
    pub fn sim(&self) -> SimConfig {
        let base = SimConfig::new(self.profile.clone(), self.seed);
        SimConfig {
            station: teleop::StationSessionConfig {
                supervisor: self.supervisor.clone(),
                ..base.station.clone()
            },
            surgeon: ScriptedSurgeon::new(self.auto_reengage, REENGAGE_AFTER),
            ..base
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RehearsalReport {
    pub profile: String,
    pub seed: u64,
    pub duration_s: f64,
    /// True console → station command latency (issue → station receipt), µs. The station's own
    /// figure, from the clock-sync estimate, is `station.latency_us`.
    pub one_way_us: Percentiles,
    /// True station → console state-report latency, µs.
    pub back_one_way_us: Percentiles,
    /// Commands the console sent.
    pub commands_sent: u64,
    /// Fraction of forward datagrams (commands and clock echoes alike) the network did not
    /// deliver.
    pub command_loss: f64,
    pub holds: u64,
    pub hold_ms: f64,
    /// Engagements after the first one.
    pub reengagements: u64,
    pub auto_reengage: bool,
    pub station: StationReport,
    #[serde(skip)]
    pub observed: Observations,
    #[serde(skip)]
    pub interruptions: Vec<netem::Interruption>,
}

/// The scripted suturing input for `duration_s` (stitches repeated to fill it), and how long to
/// run it.
pub fn suturing(
    seed: u64,
    duration_s: f64,
) -> Result<(Box<dyn MasterInput + Send>, f64), RehearsalError> {
    if !(duration_s.is_finite() && duration_s > 0.0) {
        return Err(RehearsalError::BadDuration(duration_s));
    }
    let per_stitch = SurgicalScript::suturing_stitches(seed, 1).duration_s();
    let stitches = if per_stitch > 0.0 {
        ((duration_s / per_stitch).ceil() as usize).clamp(1, MAX_STITCHES)
    } else {
        1
    };
    let script = SurgicalScript::suturing_stitches(seed, stitches);
    let length = script.duration_s();
    Ok((Box::new(script), duration_s.min(length)))
}

/// Runs the scripted suturing procedure for `duration_s` simulated seconds.
pub fn rehearse(config: &RehearsalConfig) -> Result<RehearsalReport, RehearsalError> {
    let (input, duration_s) = suturing(config.seed, config.duration_s)?;
    let mut pair = SimPair::new(&config.sim(), input, duration_s, NoTap, NoTap)?;
    let ticks = (duration_s * 1e3).ceil() as usize + 1;
    let mut observed = Observations::with_capacity(ticks);
    let mut one_way = LatencyRecorder::with_capacity(ticks);
    let mut back_one_way = LatencyRecorder::with_capacity(ticks);
    loop {
        let running = pair.step();
        let step = pair.last_step();
        observed
            .command_arrivals
            .extend_from_slice(&step.command_arrivals);
        observed
            .engage_arrivals
            .extend_from_slice(&step.engage_arrivals);
        for latency in &step.command_one_way {
            one_way.record_ns(latency.as_nanos() as u64);
        }
        for latency in &step.state_one_way {
            back_one_way.record_ns(latency.as_nanos() as u64);
        }
        let state = SupervisorStateCode::from_byte(step.state.supervisor_state)
            .unwrap_or(SupervisorStateCode::Fault);
        let tip = pose_from_wire(&step.state.tip).map_or([f64::NAN; 3], |p| p.position);
        observed.on_tick(step.now, state, tip, !step.engage_arrivals.is_empty());
        if !running {
            break;
        }
    }
    let now = pair.now();
    let station = pair.station.core().report(now, false);
    let forward = pair.net().stats(Direction::Forward);
    let lost = forward.lost + forward.lost_interrupted + forward.dropped_queue_full;
    let holds = station
        .transitions
        .iter()
        .filter(|t| t.to == "HOLD")
        .count() as u64;
    let engagements = station
        .transitions
        .iter()
        .filter(|t| t.to == "ENGAGED")
        .count() as u64;
    Ok(RehearsalReport {
        profile: config.profile.name.clone(),
        seed: config.seed,
        duration_s,
        one_way_us: one_way.percentiles(),
        back_one_way_us: back_one_way.percentiles(),
        commands_sent: pair.commands_sent(),
        command_loss: lost as f64 / forward.sent.max(1) as f64,
        holds,
        hold_ms: station.state_time_ms.get("HOLD").copied().unwrap_or(0.0),
        reengagements: engagements.saturating_sub(1),
        auto_reengage: config.auto_reengage,
        interruptions: pair.net().interruptions(now),
        station,
        observed,
    })
}
