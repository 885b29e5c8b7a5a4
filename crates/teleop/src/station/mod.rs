//! The station side of a telesurgery session as a sans-IO core: `handle_input(input, now)`,
//! `poll_output()`, `poll_timeout()`. Several consoles may connect, each with the identity of its
//! certificate and what the site's admission policy allows it: one holds control, the others
//! watch the same state stream; control passes by the two-teams protocol (`control`), and the
//! bedside team (local input, never the network) can take over at once. Each console has its own
//! clock sync; commands are stamped with the upper bound of their age on the station clock; only
//! the holder's requests reach the supervisor, and every request, control step, admission and
//! transition is an audit record. Nothing allocates per tick.
//!
//! `io`: inputs and outputs. `consoles`: admission, hello and requests. `two_teams`: control
//! offers, the bedside team's take-over and hand-back. `control`: the protocol's state machine.
//! `peers`: the connected consoles. `arm_loop`: the servo-side work on the arm.

pub mod arm_loop;
mod consoles;
pub mod control;
mod hifu_session;
mod io;
pub mod peers;
mod two_teams;

pub use io::{LOCAL_COMMANDS, LocalRequest, StationInput, StationOutput};

use crate::core::{Core, OutputQueue};
use crate::hifu::procedure::{HifuProcedure, HifuStationConfig};
use crate::message::{ControlHolder, ControlStep, Role, SessionEvent, state_code};
use crate::monitor::MonitorReading;
use crate::report::StationReport;
use crate::time::{ClockAnnouncement, TimeSource};
use arm_loop::{ArmLoop, TimedCommand};
use control::{Control, Party, PeerId};
use peers::{MAX_CONSOLES, Peer, label};
use proto::{ClockPing, ClockPong, ClockSync, ControlCommand, Datagram};
use robot::Joints;
use safety::{CommandVerdict, Request, SupervisorConfig, TransitionReason};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::time::Duration;
use trust::{AuditAction, AuditRecord, Identity, Role as TrustRole};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StationSessionConfig {
    pub supervisor: SupervisorConfig,
    /// The servo period; the arm never integrates more than one per tick.
    pub servo_period: Duration,
    /// How often the station pings the console for clock sync.
    pub clock_ping: Duration,
    /// The most two free-running clocks can drift apart (ppm); widens the offset bound over time.
    pub max_clock_drift_ppm: f64,
    /// Where the station's clock comes from (monotonic, or disciplined to a common time scale).
    pub time_source: TimeSource,
    /// The arm's joints when the station starts.
    pub start_joints: Joints,
    /// The station's own clock on the common time scale, when `time_source` is disciplined
    /// (filled in by the edge when the station starts).
    pub own_clock: Option<ClockAnnouncement>,
    /// Where the true send time of a command is known (one clock: demo and rehearsal), the console
    /// clock minus the station clock, µs. Only for reporting and the auditor; never for decisions.
    pub true_offset_us: Option<i64>,
    /// The bedside team member signed in at the station, who takes over and hands back.
    pub bedside: Option<Identity>,
    /// The HIFU device beside the arm, when the station hosts one.
    pub hifu: Option<HifuStationConfig>,
}

impl Default for StationSessionConfig {
    fn default() -> Self {
        Self {
            supervisor: SupervisorConfig::default(),
            servo_period: Duration::from_millis(1),
            clock_ping: Duration::from_millis(20),
            max_clock_drift_ppm: 100.0,
            time_source: TimeSource::default(),
            start_joints: robot::script::SurgicalScript::psm_start_joints(),
            own_clock: None,
            true_offset_us: None,
            bedside: None,
            hifu: None,
        }
    }
}

/// Why a console was refused or closed.
const REASON_NOT_A_CONSOLE: &str = "the peer's hello does not name a console";
const REASON_WIRE_VERSION: &str = "the console speaks another wire version";
const REASON_NO_HELLO: &str = "the console sent a request before its hello";
const REASON_UNEXPECTED: &str = "the console sent an event only a station may send";
const REASON_FULL: &str = "the station serves no more consoles";
const REASON_FLOOD: &str = "the console sent more than 100 events in a second";
const WATCH_ONLY: &str = "this console may watch but not operate";
const NOT_CONFIRMED: &str = "the bedside team has not confirmed this surgeon yet (site policy: bedside.confirm_first_engage)";
const NO_RECIPIENT: &str = "no connected operator has that name";
const NAME_A_SURGEON: &str = "name the surgeon to hand back to (several or none are connected)";
const NO_CONTROLLER: &str = "no connected surgeon holds control";
/// Commands from a console that does not hold control, counted in the report.
const NOT_IN_CONTROL: &str = "not_in_control";

pub struct StationSession {
    config: StationSessionConfig,
    arm: ArmLoop,
    peers: Vec<Peer>,
    control: Control,
    /// Certificates (keys) the bedside team has confirmed for engaging.
    confirmed: Vec<String>,
    bedside: Identity,
    sessions: u64,
    /// The session id of the console that holds control (0: none yet).
    controller_session: u64,
    not_in_control: u64,
    last_rtt_us: Option<i64>,
    last_bound_width_us: Option<i64>,
    out: OutputQueue<StationOutput>,
    last_now: Duration,
    /// Whether the start has been audited.
    started: bool,
    hifu: Option<HifuProcedure>,
    /// The patient monitor's newest reading, for a console that joins.
    last_vitals: Option<MonitorReading>,
}

impl StationSession {
    /// A station whose arm starts at `config.start_joints`, DISABLED, at time zero of its clock.
    /// The configuration alone determines the core, so a recording that stores it can be
    /// replayed.
    pub fn new(config: StationSessionConfig) -> Result<Self, robot::arm::ArmError> {
        let now = Duration::ZERO;
        let arm = ArmLoop::new(
            config.supervisor.clone(),
            config.servo_period,
            config.start_joints,
            now,
        )?;
        let bedside = config
            .bedside
            .clone()
            .unwrap_or_else(|| Identity::simulated("bedside team", TrustRole::Bedside));
        let hifu = config.hifu.clone().map(HifuProcedure::new);
        Ok(Self {
            config,
            arm,
            peers: Vec::with_capacity(MAX_CONSOLES),
            control: Control::new(),
            confirmed: Vec::with_capacity(MAX_CONSOLES),
            bedside,
            sessions: 0,
            controller_session: 0,
            not_in_control: 0,
            last_rtt_us: None,
            last_bound_width_us: None,
            out: OutputQueue::new(),
            last_now: now,
            started: false,
            hifu,
            last_vitals: None,
        })
    }

    /// The audit log's first record, with the first input (so that it is recorded and replayed
    /// as an output of that input).
    fn audit_start(&mut self, now: Duration) {
        self.started = true;
        let started = format!(
            "servo {} µs, max command age {} ms, bedside {}",
            self.config.servo_period.as_micros(),
            self.config.supervisor.max_command_age.as_millis(),
            label(&self.bedside)
        );
        self.audit(None, AuditAction::Started, "station", started, now);
    }

    pub fn config(&self) -> &StationSessionConfig {
        &self.config
    }

    pub fn arm(&self) -> &ArmLoop {
        &self.arm
    }

    pub fn control(&self) -> &Control {
        &self.control
    }

    /// The session id of the console that holds control, if one is connected.
    pub fn session_id(&self) -> Option<u64> {
        self.controller().map(|p| p.session_id)
    }

    /// The patient monitor's newest reading, if one came (the bedside panel shows it).
    pub fn last_vitals(&self) -> Option<MonitorReading> {
        self.last_vitals
    }

    /// The report of the controlling console's session, or of the station's whole life.
    pub fn report(&self, now: Duration, whole_life: bool) -> StationReport {
        let mut report = self.arm.report(now, whole_life);
        report.session_id = if whole_life {
            0
        } else {
            self.controller_session
        };
        report.sessions = self.sessions;
        report.clock_rtt_us = self.last_rtt_us;
        report.clock_bound_width_us = self.last_bound_width_us;
        if self.not_in_control > 0 {
            report
                .commands_dropped
                .insert(NOT_IN_CONTROL.to_string(), self.not_in_control);
        }
        report
    }

    fn controller(&self) -> Option<&Peer> {
        self.peers.iter().find(|p| self.control.is_controller(p.id))
    }

    fn peer_index(&self, id: PeerId) -> Option<usize> {
        self.peers.iter().position(|p| p.id == id)
    }

    fn audit(
        &mut self,
        actor: Option<&Identity>,
        action: AuditAction,
        subject: impl Into<String>,
        outcome: impl Into<String>,
        now: Duration,
    ) {
        let record = AuditRecord::new(now.as_micros() as i64, actor, action, subject, outcome);
        self.out.push(StationOutput::Audit(Box::new(record)));
    }

    fn send(&mut self, to: Option<PeerId>, event: SessionEvent) {
        self.out.push(StationOutput::Event { to, event });
    }

    fn on_datagram(
        &mut self,
        peer: PeerId,
        datagram: Datagram,
        received_at: Duration,
        now: Duration,
    ) {
        let Some(index) = self.peer_index(peer) else {
            return;
        };
        match datagram {
            Datagram::Control(cmd) => {
                let p = &self.peers[index];
                // Under bedside control the supervisor drops every operator's command itself.
                let judged = self.control.is_controller(peer)
                    || (p.operator && self.control.bedside_has_control());
                let verdict = if judged {
                    let timed = stamp(&p.clock, &self.config, &cmd, received_at, now);
                    verdict_name(self.arm.command(&timed, now))
                } else {
                    self.not_in_control += 1;
                    NOT_IN_CONTROL
                };
                self.out.push(StationOutput::Verdict {
                    seq: cmd.seq,
                    verdict: Cow::Borrowed(verdict),
                });
            }
            Datagram::Ping(ping) => {
                let pong = ClockPong {
                    id: ping.id,
                    t1_us: ping.t1_us,
                    t2_us: received_at.as_micros() as i64,
                    t3_us: now.as_micros() as i64,
                };
                self.out.push(StationOutput::Datagram {
                    to: Some(peer),
                    datagram: Datagram::Pong(pong),
                });
            }
            Datagram::Pong(pong) => {
                let now_us = now.as_micros() as i64;
                let clock = &mut self.peers[index].clock;
                let rtt = clock
                    .on_pong(&pong, received_at.as_micros() as i64)
                    .map(|s| s.rtt_us);
                let width = clock.offset_bounds(now_us).map(|b| b.hi_us - b.lo_us);
                if self.control.is_controller(peer) {
                    self.last_rtt_us = rtt.or(self.last_rtt_us);
                    self.last_bound_width_us = width;
                    self.hifu_heartbeat(now);
                }
            }
            // A console never sends state; the edge counts it as unexpected before it gets here.
            Datagram::State(_) => {}
        }
    }

    fn on_tick(&mut self, now: Duration) {
        for p in self
            .peers
            .iter_mut()
            .filter(|p| p.hello && now >= p.next_ping)
        {
            p.ping_id += 1;
            p.next_ping = now + self.config.clock_ping;
            let ping = ClockPing {
                id: p.ping_id,
                t1_us: now.as_micros() as i64,
            };
            self.out.push(StationOutput::Datagram {
                to: Some(p.id),
                datagram: Datagram::Ping(ping),
            });
        }
        let state = self.arm.tick(now);
        self.out.push(StationOutput::Datagram {
            to: None,
            datagram: Datagram::State(state),
        });
    }

    fn forward_transitions(&mut self, now: Duration) {
        while let Some(t) = self.arm.take_transition() {
            self.send(
                None,
                SessionEvent::Transition {
                    from: state_code(t.from),
                    to: state_code(t.to),
                    reason: Cow::Borrowed(t.reason.name()),
                    at_us: t.at.as_micros() as i64,
                },
            );
            let subject = format!("{} -> {}", t.from.name(), t.to.name());
            self.audit(None, AuditAction::Transition, subject, t.reason.name(), now);
        }
    }
}

impl Core for StationSession {
    type Input = StationInput;
    type Output = StationOutput;

    fn handle_input(&mut self, input: StationInput, now: Duration) {
        // Time never goes back inside the core, whatever the edge hands in.
        let now = now.max(self.last_now);
        self.last_now = now;
        if !self.started {
            self.audit_start(now);
        }
        match input {
            StationInput::Connected {
                peer,
                identity,
                admission,
            } => self.on_connected(peer, identity, admission, now),
            StationInput::Disconnected { peer } => self.on_disconnected(peer, now),
            StationInput::Datagram {
                peer,
                datagram,
                received_at,
            } => self.on_datagram(peer, datagram, received_at.min(now), now),
            StationInput::Event { peer, event } => self.on_event(peer, event, now),
            StationInput::Bulk { peer, message } => self.on_bulk(peer, message, now),
            StationInput::HifuDevice { report } => self.on_device_report(report, now),
            StationInput::Monitor { reading } => {
                self.last_vitals = Some(reading);
                self.send(None, SessionEvent::Vitals(reading));
            }
            StationInput::Local { request } => self.on_local(request, now),
            StationInput::Tick => self.on_tick(now),
        }
        self.forward_transitions(now);
    }

    fn poll_output(&mut self) -> Option<StationOutput> {
        self.out.pop()
    }

    fn poll_timeout(&self) -> Option<Duration> {
        let ping = self
            .peers
            .iter()
            .filter(|p| p.hello)
            .map(|p| p.next_ping)
            .min();
        let watchdog = self.arm.supervisor().poll_timeout();
        match (ping, watchdog) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Stamps a command with what the session's clock sync knows of its issue time: the earliest it
/// can have been sent (so `now − earliest` bounds its age from above), the estimate, and the
/// truth where the configuration knows it.
fn stamp(
    clock: &ClockSync,
    config: &StationSessionConfig,
    cmd: &ControlCommand,
    received_at: Duration,
    now: Duration,
) -> TimedCommand {
    let local = |us: i64| u64::try_from(us).ok().map(Duration::from_micros);
    let now_us = now.as_micros() as i64;
    TimedCommand {
        cmd: *cmd,
        earliest_issue: clock
            .earliest_issue_us(cmd.sent_at_us, now_us)
            .and_then(local),
        estimated_issue: clock.to_local_us(cmd.sent_at_us).and_then(local),
        true_issue: config
            .true_offset_us
            .and_then(|offset| cmd.sent_at_us.checked_sub(offset))
            .and_then(local),
        received_at,
    }
}

fn verdict_name(verdict: Option<CommandVerdict>) -> &'static str {
    match verdict {
        Some(CommandVerdict::Applied) => "applied",
        Some(CommandVerdict::Dropped(reason)) => reason.name(),
        None => "ik_unreachable",
    }
}
