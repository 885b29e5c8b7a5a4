//! One rehearsed session: every simulated millisecond the operator core issues a command, the
//! netem core carries commands forward and state reports back (engage requests ride the reliable
//! event stream: delayed by outages, never lost), and the station core ticks its servo.

use crate::observe::Observations;
use console::config::InputConfig;
use console::input;
use console::operator::{Operator, OperatorOutput, StationView};
use link::LatencyRecorder;
use link::stats::Percentiles;
use link::wire::pose_from_wire;
use netem::{Direction, Netem, Profile};
use proto::{ControlCommand, Event, StateReport, SupervisorStateCode};
use safety::{Request, SupervisorConfig};
use serde::Serialize;
use station::{Inbound, StationCore, StationReport};
use std::time::Duration;
use thiserror::Error;

/// Bytes on the wire, for the bandwidth cap: a control datagram and a state datagram with QUIC
/// and UDP/IP overhead.
const COMMAND_BYTES: usize = 120;
const STATE_BYTES: usize = 180;
const TICK: Duration = Duration::from_millis(1);

#[derive(Debug, Error)]
pub enum RehearsalError {
    #[error("building the scripted input: {0}")]
    Input(#[from] console::input::InputError),
    #[error("starting the simulated arm: {0}")]
    Arm(#[from] robot::arm::ArmError),
    #[error("the matrix profile: {0}")]
    Profile(#[from] netem::ProfileError),
    #[error("the station refused to enable: {0}")]
    Enable(&'static str),
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
}

#[derive(Debug, Clone, Serialize)]
pub struct RehearsalReport {
    pub profile: String,
    pub seed: u64,
    pub duration_s: f64,
    /// Console → station command latency as the station measured it, µs.
    pub one_way_us: Percentiles,
    /// Station → console state-report latency, µs.
    pub back_one_way_us: Percentiles,
    /// Fraction of control commands the network did not deliver.
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

#[derive(Clone)]
enum Packet {
    Command(ControlCommand, Duration),
    State(StateReport, Duration),
}

/// Runs the scripted suturing procedure for `duration_s` simulated seconds.
pub fn rehearse(config: &RehearsalConfig) -> Result<RehearsalReport, RehearsalError> {
    let (master, duration_s) = input::build(
        &InputConfig::Suturing { seed: config.seed },
        Some(config.duration_s),
    )?;
    let console = console::ConsoleConfig::default();
    let mut operator = Operator::new(
        master,
        duration_s,
        console.scale,
        console.tremor_cutoff_hz,
        config.auto_reengage,
        console.reengage_after_ms as f64 / 1e3,
    );
    let start = robot::script::SurgicalScript::psm_start_joints();
    let mut station = StationCore::new(config.supervisor.clone(), start, Duration::ZERO)?;
    station
        .handle(Inbound::Request(Request::Enable), Duration::ZERO)
        .map_err(RehearsalError::Enable)?;
    let mut net: Netem<Packet> = Netem::new(&config.profile, config.seed);
    let ticks = (duration_s * 1e3).ceil() as usize + 1;
    let mut observed = Observations::with_capacity(ticks);
    let mut back_latency = LatencyRecorder::with_capacity(ticks);
    let mut engage_requests: Vec<(Duration, u64)> = Vec::new();
    let mut view: Option<(SupervisorStateCode, robot::Pose, Duration)> = None;
    let mut now = Duration::ZERO;
    loop {
        now += TICK;
        let station_view = view.map(|(state, tip, at)| StationView {
            state,
            tip,
            age_s: now.saturating_sub(at).as_secs_f64(),
        });
        let running = operator.step(
            now.as_secs_f64(),
            now.as_micros() as i64,
            station_view,
            |output| match output {
                OperatorOutput::Command(cmd) => {
                    net.send(
                        Direction::Forward,
                        Packet::Command(cmd, now),
                        COMMAND_BYTES,
                        now,
                    );
                }
                OperatorOutput::Event(Event::Engage { from_seq }) => {
                    engage_requests.push((net.reliable_arrival(Direction::Forward, now), from_seq));
                }
                OperatorOutput::Event(_) => {}
            },
        );
        if !running {
            break;
        }
        while let Some(delivery) = net.poll_output(now) {
            match delivery.payload {
                Packet::Command(cmd, sent) => {
                    observed.command_arrivals.push(delivery.at);
                    let _ = station.handle(
                        Inbound::Command {
                            cmd,
                            issued_at: Some(sent),
                            received_at: delivery.at,
                        },
                        now,
                    );
                }
                Packet::State(report, sent) => {
                    back_latency.record_ns(delivery.at.saturating_sub(sent).as_nanos() as u64);
                    if let (Some(state), Some(tip)) = (
                        SupervisorStateCode::from_byte(report.supervisor_state),
                        pose_from_wire(&report.tip),
                    ) {
                        view = Some((state, tip, delivery.at));
                    }
                }
            }
        }
        let mut engage_this_tick = false;
        while let Some(i) = engage_requests.iter().position(|(at, _)| *at <= now) {
            let (at, from_seq) = engage_requests.swap_remove(i);
            observed.engage_arrivals.push(at);
            engage_this_tick = true;
            let _ = station.handle(Inbound::Request(Request::Engage { from_seq }), now);
        }
        let report = station.tick(now);
        let state = SupervisorStateCode::from_byte(report.supervisor_state)
            .unwrap_or(SupervisorStateCode::Fault);
        let tip = pose_from_wire(&report.tip).map_or([f64::NAN; 3], |p| p.position);
        observed.on_tick(now, state, tip, engage_this_tick);
        net.send(
            Direction::Back,
            Packet::State(report, now),
            STATE_BYTES,
            now,
        );
    }
    Ok(summarise(
        config,
        duration_s,
        &operator,
        &station,
        &net,
        observed,
        back_latency,
        now,
    ))
}

#[allow(clippy::too_many_arguments)]
fn summarise(
    config: &RehearsalConfig,
    duration_s: f64,
    operator: &Operator,
    station: &StationCore,
    net: &Netem<Packet>,
    observed: Observations,
    back_latency: LatencyRecorder,
    now: Duration,
) -> RehearsalReport {
    let report = station.report(now);
    let forward = net.stats(Direction::Forward);
    let lost = forward.lost + forward.lost_interrupted + forward.dropped_queue_full;
    let sent = operator.stats().commands_sent.max(1);
    let holds = report.transitions.iter().filter(|t| t.to == "HOLD").count() as u64;
    let engagements = report
        .transitions
        .iter()
        .filter(|t| t.to == "ENGAGED")
        .count() as u64;
    RehearsalReport {
        profile: config.profile.name.clone(),
        seed: config.seed,
        duration_s,
        one_way_us: report.latency_us,
        back_one_way_us: back_latency.percentiles(),
        command_loss: lost as f64 / sent as f64,
        holds,
        hold_ms: report.state_time_ms.get("HOLD").copied().unwrap_or(0.0),
        reengagements: engagements.saturating_sub(1),
        auto_reengage: config.auto_reengage,
        interruptions: net.interruptions(now),
        station: report,
        observed,
    }
}
