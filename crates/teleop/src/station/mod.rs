//! The station side of a telesurgery session as a sans-IO core: `handle_input(input, now)`,
//! `poll_output()`, `poll_timeout()`. It opens a session per connection (a fresh sequence window,
//! clock sync and engagement each time; an engaged arm holds when a session ends or another
//! begins), answers and sends clock pings, stamps each command with the upper bound of its age
//! on the station clock, maps the console's requests to supervisor requests (clearing an e-stop or
//! a fault never comes from the network), and ticks the arm. Nothing allocates per tick.

pub mod arm_loop;

use crate::core::{Core, OutputQueue};
use crate::message::{Role, SessionEvent, state_code};
use crate::report::StationReport;
use crate::time::{ClockAnnouncement, TimeSource};
use arm_loop::{ArmLoop, TimedCommand};
use proto::{ClockPing, ClockPong, ClockSync, ControlCommand, Datagram};
use robot::Joints;
use safety::{CommandVerdict, Request, SupervisorConfig};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::time::Duration;

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
        }
    }
}

/// A button at the station itself; these never come from the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalRequest {
    Estop,
    EstopClear,
    FaultClear,
}

/// Everything that happens to the station side, each with the time it is handled at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum StationInput {
    /// A console completed mutual TLS: a new session begins (any previous one is over).
    Connected,
    /// The session's connection closed or was lost.
    Disconnected,
    /// A decoded datagram and when the network edge received it (never later than `now`).
    Datagram {
        datagram: Datagram,
        received_at: Duration,
    },
    /// An event from the console's reliable stream.
    Event { event: SessionEvent },
    /// A button at the station.
    Local { request: LocalRequest },
    /// One servo tick.
    Tick,
}

/// What the station side asks its edge to do, or states for the recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "output", rename_all = "snake_case")]
pub enum StationOutput {
    /// Send on the session's datagram channel (dropped by the edge when no session is open).
    Datagram { datagram: Datagram },
    /// Send on the session's event stream; transitions are also logged by the edge.
    Event { event: SessionEvent },
    /// The supervisor's verdict on a command (recorded, so a replay checks every decision).
    Verdict {
        seq: u64,
        verdict: Cow<'static, str>,
    },
    /// Close the session's connection, with the reason (a bad hello, a console speaking out of
    /// turn).
    Close { reason: Cow<'static, str> },
}

/// Why a session was refused or closed.
const REASON_NOT_A_CONSOLE: &str = "the peer's hello does not name a console";
const REASON_WIRE_VERSION: &str = "the console speaks another wire version";
const REASON_NO_HELLO: &str = "the console sent a request before its hello";
const REASON_UNEXPECTED: &str = "the console sent an event only a station may send";

/// One open session's state: what belongs to it and starts clean with the next one.
#[derive(Debug, Clone)]
struct Session {
    id: u64,
    clock: ClockSync,
    hello: bool,
    ping_id: u64,
    next_ping: Duration,
}

pub struct StationSession {
    config: StationSessionConfig,
    arm: ArmLoop,
    session: Option<Session>,
    sessions: u64,
    last_rtt_us: Option<i64>,
    last_bound_width_us: Option<i64>,
    out: OutputQueue<StationOutput>,
    last_now: Duration,
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
        Ok(Self {
            config,
            arm,
            session: None,
            sessions: 0,
            last_rtt_us: None,
            last_bound_width_us: None,
            out: OutputQueue::new(),
            last_now: now,
        })
    }

    pub fn config(&self) -> &StationSessionConfig {
        &self.config
    }

    pub fn arm(&self) -> &ArmLoop {
        &self.arm
    }

    /// The open session's id, if any.
    pub fn session_id(&self) -> Option<u64> {
        self.session.as_ref().map(|s| s.id)
    }

    /// The report of the open session, or of the station's whole life.
    pub fn report(&self, now: Duration, whole_life: bool) -> StationReport {
        let mut report = self.arm.report(now, whole_life);
        report.session_id = if whole_life {
            0
        } else {
            self.session_id().unwrap_or(0)
        };
        report.sessions = self.sessions;
        report.clock_rtt_us = self.last_rtt_us;
        report.clock_bound_width_us = self.last_bound_width_us;
        report
    }

    fn open_session(&mut self, now: Duration) {
        self.close_session(now);
        self.sessions += 1;
        // A disciplined clock's bound arrives with the console's hello.
        let clock = ClockSync::with_max_drift_ppm(self.config.max_clock_drift_ppm);
        self.session = Some(Session {
            id: self.sessions,
            clock,
            hello: false,
            ping_id: 0,
            next_ping: now,
        });
        self.arm.begin_session(now);
        self.push_event(SessionEvent::Hello {
            role: Role::Station,
            wire_version: proto::WIRE_VERSION,
            session_id: self.sessions,
            clock: self.config.own_clock,
        });
    }

    fn close_session(&mut self, now: Duration) {
        if self.session.take().is_some() {
            self.arm.end_session(now);
        }
    }

    fn refuse_session(&mut self, reason: &'static str, now: Duration) {
        self.out.push(StationOutput::Close {
            reason: Cow::Borrowed(reason),
        });
        self.close_session(now);
    }

    fn push_event(&mut self, event: SessionEvent) {
        self.out.push(StationOutput::Event { event });
    }

    fn on_event(&mut self, event: SessionEvent, now: Duration) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let request = match event {
            SessionEvent::Hello {
                role,
                wire_version,
                clock,
                ..
            } => {
                if role != Role::Console {
                    return self.refuse_session(REASON_NOT_A_CONSOLE, now);
                }
                if wire_version != proto::WIRE_VERSION {
                    return self.refuse_session(REASON_WIRE_VERSION, now);
                }
                session.hello = true;
                if let (TimeSource::Disciplined { .. }, Some(own), Some(theirs)) =
                    (self.config.time_source, self.config.own_clock, clock)
                {
                    let (offset, error) = own.offset_to(&theirs);
                    session
                        .clock
                        .set_external_bound(offset, error, now.as_micros() as i64);
                }
                return;
            }
            _ if !session.hello => return self.refuse_session(REASON_NO_HELLO, now),
            SessionEvent::Enable => Request::Enable,
            SessionEvent::Disable => Request::Disable,
            SessionEvent::Engage { from_seq } => Request::Engage { from_seq },
            SessionEvent::Disengage => Request::Disengage,
            SessionEvent::EstopRequest => Request::RemoteEstop,
            SessionEvent::Bye => {
                let report = self.report(now, false);
                self.push_event(SessionEvent::Report(Box::new(report)));
                // The console is done: an engaged arm holds until the next session engages it.
                self.arm.end_session(now);
                return;
            }
            SessionEvent::Transition { .. }
            | SessionEvent::Refused { .. }
            | SessionEvent::Report(_) => return self.refuse_session(REASON_UNEXPECTED, now),
        };
        self.request(request, now);
    }

    /// Hands a request to the supervisor; a refusal goes back to the console with its reason.
    fn request(&mut self, request: Request, now: Duration) {
        if let Err(reason) = self.arm.request(request, now) {
            self.push_event(SessionEvent::Refused {
                request: Cow::Borrowed(request_name(request)),
                reason: Cow::Borrowed(reason),
            });
        }
    }

    fn on_datagram(&mut self, datagram: Datagram, received_at: Duration, now: Duration) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        match datagram {
            Datagram::Control(cmd) => {
                let timed = stamp(&session.clock, &self.config, &cmd, received_at, now);
                let verdict = self.arm.command(&timed, now);
                self.out.push(StationOutput::Verdict {
                    seq: cmd.seq,
                    verdict: Cow::Borrowed(verdict_name(verdict)),
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
                    datagram: Datagram::Pong(pong),
                });
            }
            Datagram::Pong(pong) => {
                let now_us = now.as_micros() as i64;
                if let Some(sample) = session.clock.on_pong(&pong, received_at.as_micros() as i64) {
                    self.last_rtt_us = Some(sample.rtt_us);
                }
                self.last_bound_width_us = session
                    .clock
                    .offset_bounds(now_us)
                    .map(|b| b.hi_us - b.lo_us);
            }
            // A console never sends state; the edge counts it as unexpected before it gets here.
            Datagram::State(_) => {}
        }
    }

    fn on_tick(&mut self, now: Duration) {
        if let Some(session) = self.session.as_mut()
            && session.hello
            && now >= session.next_ping
        {
            session.ping_id += 1;
            session.next_ping = now + self.config.clock_ping;
            let ping = ClockPing {
                id: session.ping_id,
                t1_us: now.as_micros() as i64,
            };
            self.out.push(StationOutput::Datagram {
                datagram: Datagram::Ping(ping),
            });
        }
        let state = self.arm.tick(now);
        self.out.push(StationOutput::Datagram {
            datagram: Datagram::State(state),
        });
    }

    fn forward_transitions(&mut self) {
        while let Some(t) = self.arm.take_transition() {
            self.push_event(SessionEvent::Transition {
                from: state_code(t.from),
                to: state_code(t.to),
                reason: Cow::Borrowed(t.reason.name()),
                at_us: t.at.as_micros() as i64,
            });
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
        match input {
            StationInput::Connected => self.open_session(now),
            StationInput::Disconnected => self.close_session(now),
            StationInput::Datagram {
                datagram,
                received_at,
            } => self.on_datagram(datagram, received_at.min(now), now),
            StationInput::Event { event } => self.on_event(event, now),
            StationInput::Local { request } => {
                let request = match request {
                    LocalRequest::Estop => Request::LocalEstop,
                    LocalRequest::EstopClear => Request::LocalEstopClear,
                    LocalRequest::FaultClear => Request::LocalFaultClear,
                };
                self.request(request, now);
            }
            StationInput::Tick => self.on_tick(now),
        }
        self.forward_transitions();
    }

    fn poll_output(&mut self) -> Option<StationOutput> {
        self.out.pop()
    }

    fn poll_timeout(&self) -> Option<Duration> {
        let ping = self
            .session
            .as_ref()
            .filter(|s| s.hello)
            .map(|s| s.next_ping);
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

fn request_name(request: Request) -> &'static str {
    match request {
        Request::Enable => "enable",
        Request::Disable => "disable",
        Request::Engage { .. } => "engage",
        Request::Disengage => "disengage",
        Request::RemoteEstop => "estop_request",
        Request::LocalEstop => "local_estop",
        Request::LocalEstopClear => "local_estop_clear",
        Request::LocalFaultClear => "local_fault_clear",
    }
}

fn verdict_name(verdict: Option<CommandVerdict>) -> &'static str {
    match verdict {
        Some(CommandVerdict::Applied) => "applied",
        Some(CommandVerdict::Dropped(reason)) => reason.name(),
        None => "ik_unreachable",
    }
}
