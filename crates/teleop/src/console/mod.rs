//! The console side of a telesurgery session as a sans-IO core. Each control tick it takes the
//! master sample, filters tremor, maps it through the teleoperation mapping and sends a command
//! while following; it carries the operator's requests (enable, engage, disengage, e-stop, bye),
//! keeps clock sync with the station and what the station last said, and starts every session
//! (a first connection or a reconnect) disengaged: only an explicit engage makes it follow.
//! The console can ask; only the station's supervisor decides.

mod io;
pub mod surgeon;

pub use io::{ConsoleInput, ConsoleOutput, MasterSample, OPERATOR_COMMANDS, OperatorAction};

use crate::core::{Core, OutputQueue};
use crate::message::{ControlHolder, ControlStep, Role, SessionEvent};
use crate::monitor::MonitorReading;
use crate::report::{ConsoleReport, OperatorStats, SessionRecord};
use crate::stats::LatencyRecorder;
use crate::time::ClockAnnouncement;
use crate::wire::{pose_from_wire, pose_to_wire};
use proto::{ClockPing, ClockPong, ClockSync, ControlCommand, Datagram, SupervisorStateCode};
use robot::Pose;
use robot::filter::{FilterConfig, TremorFilter};
use robot::geometry::{Mat3, mat_mul, transpose};
use robot::teleop::{TeleopConfig, TeleopMapper, TeleopState};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use trust::{AuditAction, AuditRecord, Identity};

/// A station state report older than this means the console does not know the station's state.
pub const FRESH_STATE: Duration = Duration::from_millis(100);
/// An engage request not confirmed within this long is given up.
const ENGAGE_CONFIRM: Duration = Duration::from_secs(1);
/// Longer than this without a master sample (the loop runs at 1 kHz), the tremor filter starts
/// afresh from the next one.
pub const MASTER_GAP: Duration = Duration::from_millis(20);
/// Round trips kept for the report: one per clock ping for an hour.
const RTT_CAPACITY: usize = 200_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleSessionConfig {
    /// Master-to-PSM motion scale.
    pub scale: f64,
    /// Tremor filter cut-off (Hz), 4th-order Butterworth.
    pub tremor_cutoff_hz: f64,
    /// How often the console pings the station (its round-trip figures).
    pub clock_ping: Duration,
    /// This console's clock on a common time scale, when disciplined.
    pub clock: Option<ClockAnnouncement>,
    /// The person at this console, from its certificate (the actor of its audit records).
    pub operator: Option<Identity>,
}

impl Default for ConsoleSessionConfig {
    fn default() -> Self {
        Self {
            scale: 0.2,
            tremor_cutoff_hz: 6.0,
            clock_ping: Duration::from_millis(20),
            clock: None,
            operator: None,
        }
    }
}

/// What the console knows of the link and the station, for the display and the scripted operator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsoleView {
    /// The console's time of this view.
    pub now: Duration,
    pub connected: bool,
    /// The station's id for the open session (0 until its hello arrives).
    pub session_id: u64,
    pub station_state: Option<SupervisorStateCode>,
    pub station_tip: Option<Pose>,
    /// How old the newest state report is.
    pub state_age: Option<Duration>,
    /// The console is following (engaged and not clutched).
    pub following: bool,
    /// An engage was asked and not yet confirmed.
    pub engage_pending: bool,
    /// Engagements asked in this session.
    pub engages_this_session: u64,
    /// When the station last left ENGAGED under the console, if it has not been engaged since.
    pub left_engaged_at: Option<Duration>,
    pub reconnects: u64,
    pub finished: bool,
    /// The station admitted this console to operate (false: watch only; None: not yet told).
    pub may_operate: Option<bool>,
    /// This console holds control.
    pub in_control: bool,
    /// The bedside team holds control.
    pub bedside_control: bool,
    /// An offer of control (from another console or the bedside team) waits for this console.
    pub offer_to_me: bool,
    /// The station's patient monitor: its newest reading, if one came.
    pub vitals: Option<MonitorReading>,
    /// How long ago (console clock) that reading arrived.
    pub vitals_age: Option<Duration>,
}

/// Who the station admitted this console as.
#[derive(Debug, Clone, PartialEq)]
struct Admittance {
    name: String,
    /// "name (role)", as the station names people in control steps.
    label: String,
    may_operate: bool,
}

pub struct ConsoleSession {
    config: ConsoleSessionConfig,
    teleop: TeleopMapper,
    filter: TremorFilter,
    /// Rotation applied to master orientations so they start aligned with the tool (the stand-in
    /// for the dVRK's motorised wrist alignment), re-captured at each engage.
    registration: Mat3,
    seq: u64,
    connected: bool,
    connections: u64,
    session_id: u64,
    station: Option<(SupervisorStateCode, Pose, Duration)>,
    engage_requested_at: Option<Duration>,
    engages_this_session: u64,
    left_engaged_at: Option<Duration>,
    last_master: Option<MasterSample>,
    /// When the latest master sample came.
    last_master_at: Option<Duration>,
    /// The tremor-filtered position of the latest sample.
    filtered: Option<[f64; 3]>,
    clock: ClockSync,
    ping_id: u64,
    next_ping: Duration,
    rtt: LatencyRecorder,
    stats: OperatorStats,
    report: ConsoleReport,
    finished: bool,
    out: OutputQueue<ConsoleOutput>,
    last_now: Duration,
    /// Who the station admitted this console as.
    me: Option<Admittance>,
    holder: ControlHolder,
    offer_to_me: bool,
    /// The newest patient monitor reading and when (console clock) it arrived.
    vitals: Option<(MonitorReading, Duration)>,
}

impl ConsoleSession {
    pub fn new(config: ConsoleSessionConfig) -> Self {
        Self {
            teleop: TeleopMapper::new(TeleopConfig {
                scale: config.scale,
                ..TeleopConfig::default()
            }),
            filter: TremorFilter::new(FilterConfig::Butterworth {
                cutoff_hz: config.tremor_cutoff_hz,
                order: 4,
            }),
            config,
            registration: robot::geometry::IDENTITY,
            seq: 0,
            connected: false,
            connections: 0,
            session_id: 0,
            station: None,
            engage_requested_at: None,
            engages_this_session: 0,
            left_engaged_at: None,
            last_master: None,
            last_master_at: None,
            filtered: None,
            clock: ClockSync::new(),
            ping_id: 0,
            next_ping: Duration::ZERO,
            rtt: LatencyRecorder::with_capacity(RTT_CAPACITY),
            stats: OperatorStats::default(),
            report: ConsoleReport::default(),
            me: None,
            holder: ControlHolder::Vacant,
            offer_to_me: false,
            vitals: None,
            finished: false,
            out: OutputQueue::new(),
            last_now: Duration::ZERO,
        }
    }

    pub fn view(&self, now: Duration) -> ConsoleView {
        ConsoleView {
            now,
            connected: self.connected,
            session_id: self.session_id,
            station_state: self.station.map(|(s, _, _)| s),
            station_tip: self.station.map(|(_, tip, _)| tip),
            state_age: self.station.map(|(_, _, at)| now.saturating_sub(at)),
            following: self.teleop.state() == TeleopState::Following,
            engage_pending: self.engage_requested_at.is_some(),
            engages_this_session: self.engages_this_session,
            left_engaged_at: self.left_engaged_at,
            reconnects: self.connections.saturating_sub(1),
            finished: self.finished,
            may_operate: self.me.as_ref().map(|me| me.may_operate),
            in_control: self.in_control(),
            bedside_control: matches!(self.holder, ControlHolder::Bedside { .. }),
            offer_to_me: self.offer_to_me,
            vitals: self.vitals.map(|(reading, _)| reading),
            vitals_age: self.vitals.map(|(_, at)| now.saturating_sub(at)),
        }
    }

    /// Whether this console holds control, as the station last said.
    fn in_control(&self) -> bool {
        match (&self.holder, &self.me) {
            (ControlHolder::Remote { name, connected }, Some(me)) => *connected && me.name == *name,
            _ => false,
        }
    }

    /// The station clock's zero on this console's clock (µs), by the clock sync's best estimate;
    /// `None` before the first exchange. Maps station timestamps (video capture times).
    pub fn station_zero_us(&self) -> Option<i64> {
        self.clock.to_local_us(0)
    }

    pub fn stats(&self) -> OperatorStats {
        self.stats
    }

    pub fn config(&self) -> &ConsoleSessionConfig {
        &self.config
    }

    /// The run's report so far: every session, the round trips, the station's last report.
    pub fn report(&self) -> ConsoleReport {
        let mut report = self.report.clone();
        report.operator = self.stats;
        report.rtt_us = self.rtt.percentiles();
        report.reconnects = self.connections.saturating_sub(1);
        report.last_station_state = self.station.map(|(state, _, _)| format!("{state:?}"));
        report
    }

    /// Whether the station's report of the latest session has arrived.
    pub fn last_session_reported(&self) -> bool {
        self.report
            .sessions
            .last()
            .is_some_and(|s| s.station.is_some())
    }

    /// The station's state if its newest report is fresh.
    fn fresh_station(&self, now: Duration) -> Option<(SupervisorStateCode, Pose)> {
        self.station
            .filter(|(_, _, at)| now.saturating_sub(*at) < FRESH_STATE)
            .map(|(state, tip, _)| (state, tip))
    }

    fn send_event(&mut self, event: SessionEvent) {
        if self.connected {
            self.out.push(ConsoleOutput::Event { event });
        }
    }

    fn current_session(&mut self) -> Option<&mut SessionRecord> {
        self.report
            .sessions
            .last_mut()
            .filter(|s| s.closed_s.is_none())
    }

    fn on_connected(&mut self, now: Duration) {
        self.on_disconnected("superseded by a new connection", now);
        self.connected = true;
        self.connections += 1;
        self.session_id = 0;
        self.station = None;
        self.engages_this_session = 0;
        self.left_engaged_at = None;
        self.clock = ClockSync::new();
        self.next_ping = now;
        self.report.sessions.push(SessionRecord {
            opened_s: now.as_secs_f64(),
            ..SessionRecord::default()
        });
        self.send_event(SessionEvent::Hello {
            role: Role::Console,
            wire_version: proto::WIRE_VERSION,
            session_id: 0,
            clock: self.config.clock,
        });
    }

    fn on_disconnected(&mut self, reason: &str, now: Duration) {
        if !self.connected {
            return;
        }
        self.connected = false;
        self.stop_following(now);
        self.engage_requested_at = None;
        self.station = None;
        if let Some(record) = self.current_session() {
            record.closed_s = Some(now.as_secs_f64());
            record.ended.get_or_insert_with(|| reason.to_string());
        }
    }

    fn stop_following(&mut self, now: Duration) {
        if self.teleop.state() != TeleopState::Disengaged {
            self.teleop.disengage();
            self.left_engaged_at = Some(now);
        }
    }

    fn audit(
        &mut self,
        own: bool,
        action: AuditAction,
        subject: String,
        outcome: String,
        now: Duration,
    ) {
        let actor = if own {
            self.config.operator.as_ref()
        } else {
            None
        };
        let record = AuditRecord::new(now.as_micros() as i64, actor, action, subject, outcome);
        self.out.push(ConsoleOutput::Audit(Box::new(record)));
    }

    /// What the station said that the console's audit log keeps.
    fn audit_station_event(&mut self, event: &SessionEvent, now: Duration) {
        let (action, subject, outcome) = match event {
            SessionEvent::Admitted {
                name,
                role,
                may_operate,
                rule,
                explanation,
            } => (
                AuditAction::Admission,
                format!("{name} ({role})"),
                format!(
                    "{} by rule {rule}: {explanation}",
                    if *may_operate {
                        "admitted to operate"
                    } else {
                        "admitted to watch"
                    }
                ),
            ),
            SessionEvent::Control {
                step,
                by,
                to,
                holder,
                ..
            } if *step != ControlStep::Status => (
                AuditAction::Control,
                format!(
                    "{} by {by}{}",
                    step.name(),
                    to.as_ref().map(|t| format!(" -> {t}")).unwrap_or_default()
                ),
                format!("holder: {holder:?}"),
            ),
            SessionEvent::Transition {
                from, to, reason, ..
            } => (
                AuditAction::Transition,
                format!("{from:?} -> {to:?}"),
                reason.to_string(),
            ),
            SessionEvent::Refused { request, reason } => (
                AuditAction::Request,
                request.to_string(),
                format!("refused by the station: {reason}"),
            ),
            _ => return,
        };
        self.audit(false, action, subject, outcome, now);
    }

    fn on_event(&mut self, event: SessionEvent, now: Duration) {
        self.audit_station_event(&event, now);
        match event {
            SessionEvent::Hello {
                role: Role::Station,
                session_id,
                ..
            } => {
                self.session_id = session_id;
                if let Some(record) = self.current_session() {
                    record.session_id = session_id;
                }
            }
            SessionEvent::Transition {
                from, to, reason, ..
            } => {
                self.report
                    .transitions_seen
                    .push(format!("{from:?}->{to:?} ({reason})"));
            }
            SessionEvent::Refused { request, reason } => {
                self.report.refused.push(format!("{request}: {reason}"));
            }
            SessionEvent::Admitted {
                name,
                role,
                may_operate,
                rule,
                explanation,
            } => {
                self.report.admitted = Some(format!(
                    "{name} ({role}), {}: {rule}: {explanation}",
                    if may_operate {
                        "may operate"
                    } else {
                        "watch only"
                    }
                ));
                self.me = Some(Admittance {
                    label: format!("{name} ({role})"),
                    name,
                    may_operate,
                });
            }
            SessionEvent::Control {
                step,
                by,
                to,
                holder,
                ..
            } => self.on_control(step, by, to, holder, now),
            SessionEvent::Report(station) => {
                let stats = self.stats;
                if let Some(record) = self.current_session() {
                    record.station = Some((*station).clone());
                    record.operator = stats;
                    record.ended = Some("bye".into());
                    record.closed_s = Some(now.as_secs_f64());
                }
                self.report.station = Some(*station);
            }
            SessionEvent::Vitals(reading) => self.on_vitals(reading, now),
            // Requests are the console's to send, not to receive: ignored.
            _ => {}
        }
    }

    /// A patient monitor reading: kept as the newest unless it is implausible or older than the
    /// one kept (events are ordered, but a reconnect may replay an older one).
    fn on_vitals(&mut self, reading: MonitorReading, now: Duration) {
        if !reading.is_plausible() {
            self.report.vitals_refused += 1;
            return;
        }
        if self
            .vitals
            .is_some_and(|(kept, _)| kept.at_us > reading.at_us)
        {
            return;
        }
        self.report.vitals_received += 1;
        self.report.last_vitals = Some(reading);
        self.vitals = Some((reading, now));
    }

    /// A step of the two-teams protocol: who holds control, and whether an offer waits for us.
    fn on_control(
        &mut self,
        step: ControlStep,
        by: String,
        to: Option<String>,
        holder: ControlHolder,
        now: Duration,
    ) {
        let was_in_control = self.in_control();
        self.holder = holder;
        let me = self.me.as_ref().map(|me| me.label.as_str());
        match step {
            ControlStep::Offered | ControlStep::HandBackOffered => {
                self.offer_to_me = to.is_some() && to.as_deref() == me;
            }
            ControlStep::Status => {}
            _ => self.offer_to_me = false,
        }
        if step != ControlStep::Status {
            let to = to.map(|t| format!(" -> {t}")).unwrap_or_default();
            self.report
                .control
                .push(format!("{}: {by}{to}", step.name()));
        }
        if self.in_control() != was_in_control {
            // Control changed hands: this console starts a fresh engagement (or stops following).
            self.stop_following(now);
            self.engage_requested_at = None;
            self.engages_this_session = 0;
        }
    }

    fn on_datagram(&mut self, datagram: Datagram, now: Duration) {
        let now_us = now.as_micros() as i64;
        match datagram {
            Datagram::State(state) => {
                if let (Some(code), Some(tip)) = (
                    SupervisorStateCode::from_byte(state.supervisor_state),
                    pose_from_wire(&state.tip),
                ) {
                    self.station = Some((code, tip, now));
                }
            }
            Datagram::Ping(ping) => {
                let pong = ClockPong {
                    id: ping.id,
                    t1_us: ping.t1_us,
                    t2_us: now_us,
                    t3_us: now_us,
                };
                self.out.push(ConsoleOutput::Datagram {
                    datagram: Datagram::Pong(pong),
                });
            }
            Datagram::Pong(pong) => {
                if let Some(sample) = self.clock.on_pong(&pong, now_us) {
                    self.rtt.record_ns(sample.rtt_us.max(0) as u64 * 1000);
                }
            }
            Datagram::Control(_) => {}
        }
    }

    fn on_action(&mut self, action: OperatorAction, now: Duration) {
        let subject = match &action {
            OperatorAction::OfferControl { to } => format!("offer_control -> {to}"),
            other => other.name().to_string(),
        };
        self.audit(true, AuditAction::Request, subject, "asked".into(), now);
        match action {
            OperatorAction::Enable => self.send_event(SessionEvent::Enable),
            OperatorAction::Engage => self.engage(now),
            OperatorAction::Disengage => {
                self.stop_following(now);
                self.engage_requested_at = None;
                self.send_event(SessionEvent::Disengage);
            }
            OperatorAction::Estop => {
                self.stop_following(now);
                self.send_event(SessionEvent::EstopRequest);
            }
            OperatorAction::OfferControl { to } => {
                self.stop_following(now);
                self.send_event(SessionEvent::OfferControl { to });
            }
            OperatorAction::AcceptControl => self.send_event(SessionEvent::AcceptControl),
            OperatorAction::DeclineControl => self.send_event(SessionEvent::DeclineControl),
            OperatorAction::WithdrawOffer => self.send_event(SessionEvent::WithdrawOffer),
            OperatorAction::Hifu { digest, request } => {
                self.send_event(SessionEvent::HifuRequest { digest, request })
            }
            OperatorAction::Finish => {
                self.stop_following(now);
                self.engage_requested_at = None;
                self.finished = true;
                self.send_event(SessionEvent::Disengage);
                self.send_event(SessionEvent::Bye);
            }
        }
    }

    /// Engages when this console holds control and the station is ready for it: registers the master's orientation to the tool's
    /// and asks the station to follow from the next command on.
    fn engage(&mut self, now: Duration) {
        if self.connected && !self.finished && !self.in_control() {
            // Not ours to engage (watching, or another console holds control): the request still
            // goes to the station, which refuses and audits it, but this console never follows.
            self.send_event(SessionEvent::Engage {
                from_seq: self.seq + 1,
            });
            return;
        }
        let (Some((state, tip)), Some(master)) = (self.fresh_station(now), self.last_master) else {
            return;
        };
        let ready = matches!(
            state,
            SupervisorStateCode::Ready | SupervisorStateCode::Hold
        );
        if !self.connected
            || self.finished
            || !ready
            || self.engage_requested_at.is_some()
            || self.teleop.state() != TeleopState::Disengaged
        {
            return;
        }
        // The filter already saw this sample: engage from where the filtered master is.
        let master = Pose {
            position: self.filtered.unwrap_or(master.position),
            rotation: master.rotation,
        };
        self.registration = mat_mul(&tip.rotation, &transpose(&master.rotation));
        let registered = Pose {
            position: master.position,
            rotation: tip.rotation,
        };
        if self.teleop.engage(&registered, &tip).is_ok() {
            self.stats.engage_requests += 1;
            self.engages_this_session += 1;
            self.engage_requested_at = Some(now);
            self.left_engaged_at = None;
            self.send_event(SessionEvent::Engage {
                from_seq: self.seq + 1,
            });
        }
    }

    /// Follows the station's state: confirms an engage, gives one up, stops following when the
    /// station left ENGAGED.
    fn follow_station(&mut self, now: Duration) {
        let Some((state, _)) = self.fresh_station(now) else {
            return;
        };
        if let Some(asked_at) = self.engage_requested_at {
            if state == SupervisorStateCode::Engaged {
                self.engage_requested_at = None;
            } else if now.saturating_sub(asked_at) > ENGAGE_CONFIRM {
                self.engage_requested_at = None;
                self.stop_following(now);
            }
            return;
        }
        if self.teleop.state() != TeleopState::Disengaged && state != SupervisorStateCode::Engaged {
            self.stop_following(now);
            self.stats.station_left_engaged += 1;
        }
    }

    fn on_master(&mut self, sample: MasterSample, now: Duration) {
        // After a gap in the samples (a page that fell silent, a master that stalled) the
        // filter's history is not the hand's: forget it, or an engage right after the gap would
        // register against the stale position and the tool would then travel the hand's
        // movement during the gap.
        if self
            .last_master_at
            .is_some_and(|at| now.saturating_sub(at) > MASTER_GAP)
        {
            self.filter.reset();
        }
        self.last_master_at = Some(now);
        let filtered = self.filter.filter(sample.position, now.as_secs_f64());
        self.filtered = Some(filtered);
        self.last_master = Some(sample);
        if !self.connected || self.finished {
            return;
        }
        self.follow_station(now);
        let registered = Pose {
            position: filtered,
            rotation: mat_mul(&self.registration, &sample.rotation),
        };
        if let Some(target) = self.teleop.map(&registered) {
            self.seq += 1;
            self.stats.commands_sent += 1;
            self.out.push(ConsoleOutput::Datagram {
                datagram: Datagram::Control(ControlCommand {
                    seq: self.seq,
                    sent_at_us: now.as_micros() as i64,
                    target: pose_to_wire(&target),
                    jaw_rad: sample.jaw_rad,
                }),
            });
        }
    }

    fn on_timers(&mut self, now: Duration) {
        if self.connected && now >= self.next_ping {
            self.ping_id += 1;
            self.next_ping = now + self.config.clock_ping;
            self.out.push(ConsoleOutput::Datagram {
                datagram: Datagram::Ping(ClockPing {
                    id: self.ping_id,
                    t1_us: now.as_micros() as i64,
                }),
            });
        }
    }
}

impl Core for ConsoleSession {
    type Input = ConsoleInput;
    type Output = ConsoleOutput;

    fn handle_input(&mut self, input: ConsoleInput, now: Duration) {
        let now = now.max(self.last_now);
        self.last_now = now;
        match input {
            ConsoleInput::Connected => self.on_connected(now),
            ConsoleInput::Disconnected { reason } => self.on_disconnected(&reason, now),
            ConsoleInput::Datagram { datagram } => self.on_datagram(datagram, now),
            ConsoleInput::Event { event } => self.on_event(event, now),
            ConsoleInput::Master { sample } => self.on_master(sample, now),
            ConsoleInput::Operator { action } => self.on_action(action, now),
            ConsoleInput::VideoPacing { shift_us } => {
                self.send_event(SessionEvent::VideoPacing { shift_us });
            }
            ConsoleInput::Tick => {}
        }
        self.on_timers(now);
    }

    fn poll_output(&mut self) -> Option<ConsoleOutput> {
        self.out.pop()
    }

    fn poll_timeout(&self) -> Option<Duration> {
        self.connected.then_some(self.next_ping)
    }
}
