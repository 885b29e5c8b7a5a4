//! The station side of a telesurgery session as a sans-IO core: `handle_input(input, now)`,
//! `poll_output()`, `poll_timeout()`. Several consoles may connect, each with the identity of its
//! certificate and what the site's admission policy allows it: one holds control, the others
//! watch the same state stream; control passes by the two-teams protocol (`control`), and the
//! bedside team (local input, never the network) can take over at once. Each console has its own
//! clock sync; commands are stamped with the upper bound of their age on the station clock; only
//! the holder's requests reach the supervisor, and every request, control step, admission and
//! transition is an audit record. Nothing allocates per tick.

pub mod arm_loop;
pub mod control;
pub mod peers;

use crate::core::{Core, OutputQueue};
use crate::message::{ControlHolder, ControlStep, Role, SessionEvent, state_code};
use crate::report::StationReport;
use crate::time::{ClockAnnouncement, TimeSource};
use arm_loop::{ArmLoop, TimedCommand};
use control::{Change, Control, HolderState, Party, PeerId};
use peers::{Admission, MAX_CONSOLES, Peer, label};
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
        }
    }
}

/// A button or command at the station itself (the bedside team); never from the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum LocalRequest {
    Estop,
    EstopClear,
    FaultClear,
    /// The bedside team takes control at once.
    TakeOver,
    /// The bedside team offers control back to the surgeon named (or the only one connected).
    HandBack {
        to: Option<String>,
    },
    /// The bedside team takes back its hand-back offer.
    WithdrawOffer,
    /// A bedside team member confirms the surgeon in control may engage (site policy).
    Confirm,
}

/// The bedside commands, as the station's standard input takes them.
pub const LOCAL_COMMANDS: &str =
    "estop, clear, clear-fault, takeover, handback [NAME], withdraw, confirm";

impl LocalRequest {
    /// Parses a bedside command line (`takeover`, `handback Dr Li Wei`, ...); `None` for an empty
    /// line, an error naming the commands for anything else.
    pub fn parse(line: &str) -> Result<Option<Self>, String> {
        let line = line.trim();
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        let request = match word {
            "" => return Ok(None),
            "estop" | "e" => LocalRequest::Estop,
            "clear" => LocalRequest::EstopClear,
            "clear-fault" => LocalRequest::FaultClear,
            "takeover" | "take-over" => LocalRequest::TakeOver,
            "handback" | "hand-back" => LocalRequest::HandBack {
                to: (!rest.is_empty()).then(|| rest.to_string()),
            },
            "withdraw" => LocalRequest::WithdrawOffer,
            "confirm" => LocalRequest::Confirm,
            other => return Err(format!("unknown command {other:?}: use {LOCAL_COMMANDS}")),
        };
        if !rest.is_empty() && !matches!(request, LocalRequest::HandBack { .. }) {
            return Err(format!("{word} takes no argument"));
        }
        Ok(Some(request))
    }

    pub fn name(&self) -> &'static str {
        match self {
            LocalRequest::Estop => "local_estop",
            LocalRequest::EstopClear => "local_estop_clear",
            LocalRequest::FaultClear => "local_fault_clear",
            LocalRequest::TakeOver => "take_over",
            LocalRequest::HandBack { .. } => "hand_back",
            LocalRequest::WithdrawOffer => "withdraw_offer",
            LocalRequest::Confirm => "confirm",
        }
    }
}

/// Everything that happens to the station side, each with the time it is handled at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum StationInput {
    /// A console completed mutual TLS: its certificate's identity and what the site's admission
    /// policy decided for it.
    Connected {
        peer: PeerId,
        identity: Identity,
        admission: Admission,
    },
    /// That console's connection closed or was lost.
    Disconnected { peer: PeerId },
    /// A decoded datagram and when the network edge received it (never later than `now`).
    Datagram {
        peer: PeerId,
        datagram: Datagram,
        received_at: Duration,
    },
    /// An event from a console's reliable stream.
    Event { peer: PeerId, event: SessionEvent },
    /// A button or command at the station.
    Local { request: LocalRequest },
    /// One servo tick.
    Tick,
}

impl StationInput {
    /// A console connecting to a station without an admission policy (simulations, tests).
    pub fn connected_without_policy(peer: PeerId, identity: Identity) -> Self {
        StationInput::Connected {
            peer,
            admission: Admission::without_policy(&identity),
            identity,
        }
    }
}

/// What the station side asks its edge to do, or states for the recording and the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "output", rename_all = "snake_case")]
pub enum StationOutput {
    /// Send on a console's datagram channel; `to: None` sends to every console (the state).
    Datagram {
        to: Option<PeerId>,
        datagram: Datagram,
    },
    /// Send on a console's event stream (`None`: every console); also logged by the edge.
    Event {
        to: Option<PeerId>,
        event: SessionEvent,
    },
    /// The supervisor's verdict on a command (recorded, so a replay checks every decision).
    Verdict {
        seq: u64,
        verdict: Cow<'static, str>,
    },
    /// Close a console's connection, with the reason (refused admission, a bad hello, a console
    /// speaking out of turn).
    Close {
        peer: PeerId,
        reason: Cow<'static, str>,
    },
    /// Append to the station's audit log.
    Audit(Box<AuditRecord>),
}

/// Why a console was refused or closed.
const REASON_NOT_A_CONSOLE: &str = "the peer's hello does not name a console";
const REASON_WIRE_VERSION: &str = "the console speaks another wire version";
const REASON_NO_HELLO: &str = "the console sent a request before its hello";
const REASON_UNEXPECTED: &str = "the console sent an event only a station may send";
const REASON_FULL: &str = "the station serves no more consoles";
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

    fn on_connected(
        &mut self,
        peer: PeerId,
        identity: Identity,
        admission: Admission,
        now: Duration,
    ) {
        let refusal = if !identity.role.is_console() {
            Some(format!(
                "{identity}: the role {} may not connect as a console (role.not_console)",
                identity.role
            ))
        } else if !admission.admitted {
            Some(format!(
                "refused by rule {}: {}",
                admission.rule, admission.explanation
            ))
        } else if self.peers.len() >= MAX_CONSOLES {
            Some(REASON_FULL.to_string())
        } else {
            None
        };
        if let Some(reason) = refusal {
            self.audit(
                Some(&identity),
                AuditAction::Admission,
                "console",
                format!("refused: {reason}"),
                now,
            );
            self.out.push(StationOutput::Close {
                peer,
                reason: Cow::Owned(reason),
            });
            return;
        }
        // The same certificate connecting again supersedes its old connection (a reconnect).
        let key = peers::certificate_key(&identity);
        if let Some(old) = self.peers.iter().find(|p| p.key == key).map(|p| p.id) {
            self.out.push(StationOutput::Close {
                peer: old,
                reason: Cow::Borrowed("superseded by a new connection of the same certificate"),
            });
            self.on_disconnected(old, now);
        }
        self.sessions += 1;
        let new = Peer::new(
            peer,
            identity,
            &admission,
            self.sessions,
            self.config.max_clock_drift_ppm,
            now,
        );
        let outcome = format!(
            "admitted ({}): {}; session {}",
            if new.operator {
                "may operate"
            } else {
                "watch only"
            },
            admission.explanation,
            new.session_id
        );
        self.audit(
            Some(&new.identity),
            AuditAction::Admission,
            "console",
            outcome,
            now,
        );
        let (operator, session_id) = (new.operator, new.session_id);
        self.send(
            Some(peer),
            SessionEvent::Hello {
                role: Role::Station,
                wire_version: proto::WIRE_VERSION,
                session_id,
                clock: self.config.own_clock,
            },
        );
        self.send(
            Some(peer),
            SessionEvent::Admitted {
                name: new.identity.name.clone(),
                role: new.identity.role.to_string(),
                may_operate: operator,
                rule: admission.rule,
                explanation: admission.explanation,
            },
        );
        self.peers.push(new);
        match self.control.connect(peer, &key, operator) {
            Some(change) => self.apply(change, now),
            None => self.announce(Some(peer), ControlStep::Status, "station".into(), None, now),
        }
    }

    fn on_disconnected(&mut self, peer: PeerId, now: Duration) {
        let Some(index) = self.peer_index(peer) else {
            return;
        };
        let was_controller = self.control.is_controller(peer);
        let change = self.control.disconnect(peer);
        let gone = self.peers.swap_remove(index);
        if was_controller {
            // Control stays reserved for its certificate; the arm holds until it comes back.
            self.arm.end_session(now);
        }
        self.audit(
            Some(&gone.identity),
            AuditAction::Disconnected,
            format!("session {}", gone.session_id),
            if was_controller {
                "held control (kept for its reconnect)"
            } else {
                "did not hold control"
            },
            now,
        );
        if let Some(change) = change {
            self.apply(change, now);
        } else {
            self.announce(None, ControlStep::Status, gone.label(), None, now);
        }
    }

    fn refuse_peer(&mut self, peer: PeerId, reason: &'static str, now: Duration) {
        self.out.push(StationOutput::Close {
            peer,
            reason: Cow::Borrowed(reason),
        });
        self.on_disconnected(peer, now);
    }

    fn on_event(&mut self, peer: PeerId, event: SessionEvent, now: Duration) {
        let Some(index) = self.peer_index(peer) else {
            return;
        };
        let hello = self.peers[index].hello;
        let request = match event {
            SessionEvent::Hello {
                role,
                wire_version,
                clock,
                ..
            } => return self.on_hello(index, role, wire_version, clock, now),
            _ if !hello => return self.refuse_peer(peer, REASON_NO_HELLO, now),
            SessionEvent::Enable => Request::Enable,
            SessionEvent::Disable => Request::Disable,
            SessionEvent::Engage { from_seq } => Request::Engage { from_seq },
            SessionEvent::Disengage => Request::Disengage,
            SessionEvent::EstopRequest => Request::RemoteEstop,
            SessionEvent::OfferControl { to } => return self.on_offer(index, &to, now),
            SessionEvent::AcceptControl => {
                let p = &self.peers[index];
                let result = self.control.accept(peer, &p.key.clone(), p.operator);
                return self.control_result(index, "accept_control", result, now);
            }
            SessionEvent::DeclineControl => {
                let result = self.control.decline(peer);
                return self.control_result(index, "decline_control", result, now);
            }
            SessionEvent::WithdrawOffer => {
                let result = self.control.withdraw(Party::Remote { peer });
                return self.control_result(index, "withdraw_offer", result, now);
            }
            SessionEvent::Bye => return self.on_bye(index, now),
            SessionEvent::Transition { .. }
            | SessionEvent::Refused { .. }
            | SessionEvent::Report(_)
            | SessionEvent::Admitted { .. }
            | SessionEvent::Control { .. } => {
                return self.refuse_peer(peer, REASON_UNEXPECTED, now);
            }
        };
        self.remote_request(index, request, now);
    }

    fn on_hello(
        &mut self,
        index: usize,
        role: Role,
        wire_version: u8,
        clock: Option<ClockAnnouncement>,
        now: Duration,
    ) {
        let peer = self.peers[index].id;
        if role != Role::Console {
            return self.refuse_peer(peer, REASON_NOT_A_CONSOLE, now);
        }
        if wire_version != proto::WIRE_VERSION {
            return self.refuse_peer(peer, REASON_WIRE_VERSION, now);
        }
        let p = &mut self.peers[index];
        p.hello = true;
        if let (TimeSource::Disciplined { .. }, Some(own), Some(theirs)) =
            (self.config.time_source, self.config.own_clock, clock)
        {
            let (offset, error) = own.offset_to(&theirs);
            p.clock
                .set_external_bound(offset, error, now.as_micros() as i64);
        }
    }

    /// A console's request for the supervisor: its role, control and the bedside confirmation
    /// are checked first; while the bedside team has control the supervisor itself refuses.
    fn remote_request(&mut self, index: usize, request: Request, now: Duration) {
        let p = &self.peers[index];
        let check = if !p.operator {
            Err(WATCH_ONLY)
        } else if request == Request::RemoteEstop || self.control.bedside_has_control() {
            // Stopping is always allowed; under bedside control the supervisor refuses the rest.
            Ok(())
        } else if let Err(reason) = self.control.may_act(p.id) {
            Err(reason)
        } else if matches!(request, Request::Engage { .. })
            && p.bedside_confirmation
            && !self.confirmed.contains(&p.key)
        {
            Err(NOT_CONFIRMED)
        } else {
            Ok(())
        };
        let result = check.and_then(|()| self.arm.request(request, now));
        let identity = self.peers[index].identity.clone();
        self.answer(
            Some(self.peers[index].id),
            Some(&identity),
            request_name(request),
            result,
            now,
        );
    }

    /// Tells the console (or every console) a refusal and audits the request either way.
    fn answer(
        &mut self,
        to: Option<PeerId>,
        actor: Option<&Identity>,
        request: &'static str,
        result: Result<(), &'static str>,
        now: Duration,
    ) {
        let outcome = match result {
            Ok(()) => "granted".to_string(),
            Err(reason) => {
                self.send(
                    to,
                    SessionEvent::Refused {
                        request: Cow::Borrowed(request),
                        reason: Cow::Borrowed(reason),
                    },
                );
                format!("refused: {reason}")
            }
        };
        self.audit(actor, AuditAction::Request, request, outcome, now);
    }

    fn on_offer(&mut self, index: usize, to: &str, now: Duration) {
        let from = self.peers[index].id;
        let recipient = self
            .peers
            .iter()
            .find(|p| p.identity.name == to && p.id != from)
            .map(|p| (p.id, p.operator));
        let result = match (self.peers[index].operator, recipient) {
            (false, _) => Err(WATCH_ONLY),
            (true, None) => Err(NO_RECIPIENT),
            (true, Some((to, operator))) => self.control.offer_to(from, to, operator),
        };
        self.control_result(index, "offer_control", result, now);
    }

    fn control_result(
        &mut self,
        index: usize,
        request: &'static str,
        result: Result<Change, &'static str>,
        now: Duration,
    ) {
        let identity = self.peers[index].identity.clone();
        let peer = self.peers[index].id;
        match result {
            Ok(change) => {
                self.answer(Some(peer), Some(&identity), request, Ok(()), now);
                self.apply(change, now);
            }
            Err(reason) => self.answer(Some(peer), Some(&identity), request, Err(reason), now),
        }
    }

    fn on_bye(&mut self, index: usize, now: Duration) {
        let peer = self.peers[index].id;
        let report = self.report(now, false);
        self.send(Some(peer), SessionEvent::Report(Box::new(report)));
        // A console that watched, or one whose offer lapsed: nothing changes for the arm.
        if let Some(change) = self.control.release(peer) {
            self.apply(change, now);
        }
    }

    fn on_local(&mut self, request: LocalRequest, now: Duration) {
        let name = request.name();
        let bedside = self.bedside.clone();
        let result = match request {
            LocalRequest::Estop => self.arm.request(Request::LocalEstop, now).map(|()| None),
            LocalRequest::EstopClear => self
                .arm
                .request(Request::LocalEstopClear, now)
                .map(|()| None),
            LocalRequest::FaultClear => self
                .arm
                .request(Request::LocalFaultClear, now)
                .map(|()| None),
            LocalRequest::TakeOver => Ok(Some(self.control.take_over())),
            LocalRequest::HandBack { to } => self.hand_back_to(to.as_deref()).map(Some),
            LocalRequest::WithdrawOffer => self.control.withdraw(Party::Bedside).map(Some),
            LocalRequest::Confirm => self.confirm(now).map(|()| None),
        };
        match result {
            Ok(change) => {
                self.answer(None, Some(&bedside), name, Ok(()), now);
                if let Some(change) = change {
                    self.apply(change, now);
                }
            }
            Err(reason) => self.answer(None, Some(&bedside), name, Err(reason), now),
        }
    }

    fn hand_back_to(&mut self, to: Option<&str>) -> Result<Change, &'static str> {
        let mut operators = self.peers.iter().filter(|p| p.operator);
        let recipient = match to {
            Some(name) => self
                .peers
                .iter()
                .find(|p| p.identity.name == name)
                .ok_or(NO_RECIPIENT)?,
            None => match (operators.next(), operators.next()) {
                (Some(only), None) => only,
                _ => return Err(NAME_A_SURGEON),
            },
        };
        let (id, operator) = (recipient.id, recipient.operator);
        self.control.hand_back(id, operator)
    }

    fn confirm(&mut self, now: Duration) -> Result<(), &'static str> {
        let controller = self.controller().ok_or(NO_CONTROLLER)?;
        let (key, label) = (controller.key.clone(), controller.label());
        if !self.confirmed.contains(&key) {
            self.confirmed.push(key);
        }
        self.announce(
            None,
            ControlStep::BedsideConfirmed,
            label_of(&self.bedside),
            Some(label),
            now,
        );
        Ok(())
    }

    /// Applies a control step to the arm, tells every console and audits it.
    fn apply(&mut self, change: Change, now: Duration) {
        match change.step {
            ControlStep::TakenOver => self.arm.set_bedside_control(true, now),
            // The same session goes on (its statistics too); the supervisor starts a fresh
            // sequence window and nothing moves until the surgeon engages.
            ControlStep::HandedBack => self.arm.set_bedside_control(false, now),
            ControlStep::Offered => self.arm.hold(TransitionReason::ControlHandover, now),
            ControlStep::Released => self.arm.end_session(now),
            ControlStep::Granted | ControlStep::Resumed | ControlStep::Accepted => {
                self.arm.begin_session(now)
            }
            _ => {}
        }
        if change.holder_changed {
            self.controller_session = self.controller().map_or(0, |p| p.session_id);
        }
        let by = self.party_label(change.by);
        let to = change.to.map(|p| self.party_label(p));
        self.announce(None, change.step, by, to, now);
    }

    fn party_label(&self, party: Party) -> String {
        match party {
            Party::Bedside => label_of(&self.bedside),
            Party::Remote { peer } => self
                .peers
                .iter()
                .find(|p| p.id == peer)
                .map_or_else(|| format!("console {peer}"), Peer::label),
        }
    }

    /// Sends a control step to one console or all, with who holds control and who is present.
    fn announce(
        &mut self,
        to: Option<PeerId>,
        step: ControlStep,
        by: String,
        recipient: Option<String>,
        now: Duration,
    ) {
        let holder = match self.control.holder() {
            HolderState::Vacant => ControlHolder::Vacant,
            HolderState::Bedside => ControlHolder::Bedside {
                name: self.bedside.name.clone(),
            },
            HolderState::Remote { key, peer } => ControlHolder::Remote {
                name: key
                    .split_once('/')
                    .map_or(key.as_str(), |(_, n)| n)
                    .to_string(),
                connected: peer.is_some(),
            },
        };
        let present = self.peers.iter().map(Peer::label).collect();
        if step != ControlStep::Status {
            let subject = match &recipient {
                Some(r) => format!("{} -> {r}", step.name()),
                None => step.name().to_string(),
            };
            let actor = self.actor_by_label(&by);
            self.audit(
                actor.as_ref(),
                AuditAction::Control,
                subject,
                format!("holder: {holder:?}"),
                now,
            );
        }
        self.send(
            to,
            SessionEvent::Control {
                step,
                by,
                to: recipient,
                holder,
                present,
                at_us: now.as_micros() as i64,
            },
        );
    }

    fn actor_by_label(&self, by: &str) -> Option<Identity> {
        if by == label_of(&self.bedside) {
            return Some(self.bedside.clone());
        }
        self.peers
            .iter()
            .find(|p| p.label() == by)
            .map(|p| p.identity.clone())
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

fn label_of(identity: &Identity) -> String {
    label(identity)
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
