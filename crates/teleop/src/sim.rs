//! One simulated console–station pair, in simulated time, through the netem core: the same
//! session cores as production (hello, clock sync over the emulated link with its asymmetry,
//! command stamping, the servo tick), with each side on its own clock. Datagrams cross the
//! emulated link and can be lost or delayed; events ride the reliable stream (delayed by outages,
//! never lost). A reconnect is a new connection: what the old one still had in flight is never
//! delivered to the new session. The rehearsal's fault matrix and the closed-loop tests drive it
//! tick by tick; `hifu` adds the remote HIFU procedure's channels.

use crate::console::surgeon::ScriptedSurgeon;
use crate::console::{
    ConsoleInput, ConsoleOutput, ConsoleSession, ConsoleSessionConfig, MasterSample, OperatorAction,
};
use crate::message::SessionEvent;
use crate::record::{Recorded, Tap};
use crate::station::{
    LocalRequest, StationInput, StationOutput, StationSession, StationSessionConfig,
};
use netem::{Direction, Netem, Profile};
use proto::{Datagram, StateReport};
use robot::script::MasterInput;
use std::collections::VecDeque;
use std::time::Duration;

/// Bytes on the wire, for the bandwidth cap: a datagram with QUIC and UDP/IP overhead.
const COMMAND_BYTES: usize = 120;
const STATE_BYTES: usize = 180;
const CLOCK_BYTES: usize = 90;
pub const TICK: Duration = Duration::from_millis(1);
/// The name on the simulated console's certificate.
pub const SIMULATED_SURGEON: &str = "simulated surgeon";

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub profile: Profile,
    pub seed: u64,
    pub console: ConsoleSessionConfig,
    pub station: StationSessionConfig,
    pub surgeon: ScriptedSurgeon,
    /// The console's clock minus the station's: the two sides do not share an epoch.
    pub console_clock_ahead: Duration,
    /// Each step lasts `TICK` plus a uniform draw from ±half of this (seeded, below 2 `TICK`), as
    /// a servo thread woken late or early does; zero keeps every step exactly one `TICK` long.
    pub tick_jitter: Duration,
}

impl SimConfig {
    pub fn new(profile: Profile, seed: u64) -> Self {
        let console_clock_ahead = Duration::from_micros(12_345_678);
        Self {
            profile,
            seed,
            console: ConsoleSessionConfig::default(),
            station: StationSessionConfig {
                // The simulation knows the truth; the station uses it only to report and audit.
                true_offset_us: Some(console_clock_ahead.as_micros() as i64),
                ..StationSessionConfig::default()
            },
            surgeon: ScriptedSurgeon::new(true, Duration::from_millis(500)),
            console_clock_ahead,
            tick_jitter: Duration::ZERO,
        }
    }
}

/// What happened in the last simulated tick, for observers. Times are simulated time (the
/// station's clock); one-way delays are true ones, which only the simulation knows.
#[derive(Debug, Clone, Default)]
pub struct StepRecord {
    pub now: Duration,
    /// The station's state report of this tick.
    pub state: StateReport,
    /// When control commands reached the station in this tick.
    pub command_arrivals: Vec<Duration>,
    /// The true one-way delay (console issue → station receipt) of each of those commands.
    pub command_one_way: Vec<Duration>,
    /// The true one-way delay (station send → console receipt) of each state report that reached
    /// the console in this tick.
    pub state_one_way: Vec<Duration>,
    /// When engage requests reached the station in this tick.
    pub engage_arrivals: Vec<Duration>,
}

impl StepRecord {
    /// Starts the record of a new tick, keeping the storage.
    fn begin(&mut self, now: Duration) {
        self.now = now;
        self.command_arrivals.clear();
        self.command_one_way.clear();
        self.state_one_way.clear();
        self.engage_arrivals.clear();
    }
}

/// A datagram on the emulated link, with the connection it belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Packet {
    /// Which connection of the pair sent it (1 for the first; a reconnect opens the next).
    pub connection: u64,
    pub datagram: Datagram,
}

pub struct SimPair<CT: Tap<ConsoleInput, ConsoleOutput>, ST: Tap<StationInput, StationOutput>> {
    pub console: Recorded<ConsoleSession, CT>,
    pub station: Recorded<StationSession, ST>,
    net: Netem<Packet>,
    input: Box<dyn MasterInput + Send>,
    duration: Duration,
    surgeon: ScriptedSurgeon,
    console_ahead: Duration,
    to_station: VecDeque<(Duration, SessionEvent)>,
    to_console: VecDeque<(Duration, SessionEvent)>,
    now: Duration,
    last: StepRecord,
    sent_commands: u64,
    connection: u64,
    old_connection_datagrams: u64,
    tick_jitter: Duration,
    jitter_state: u64,
    bulk_to_station: VecDeque<(Duration, crate::hifu::BulkMessage)>,
    device_orders: Vec<crate::hifu::DeviceOrder>,
    console_hifu: Vec<SessionEvent>,
}

impl<CT: Tap<ConsoleInput, ConsoleOutput>, ST: Tap<StationInput, StationOutput>> SimPair<CT, ST> {
    /// Both sides start connected at time zero; the operator runs `input` for `duration_s`.
    pub fn new(
        config: &SimConfig,
        input: Box<dyn MasterInput + Send>,
        duration_s: f64,
        console_tap: CT,
        station_tap: ST,
    ) -> Result<Self, robot::arm::ArmError> {
        let station = StationSession::new(config.station.clone())?;
        let mut pair = Self {
            console: Recorded::new(ConsoleSession::new(config.console.clone()), console_tap),
            station: Recorded::new(station, station_tap),
            net: Netem::new(&config.profile, config.seed),
            input,
            duration: Duration::from_secs_f64(duration_s.max(0.0)),
            surgeon: config.surgeon,
            console_ahead: config.console_clock_ahead,
            to_station: VecDeque::new(),
            to_console: VecDeque::new(),
            now: Duration::ZERO,
            last: StepRecord::default(),
            sent_commands: 0,
            connection: 0,
            old_connection_datagrams: 0,
            // Every step stays longer than zero.
            tick_jitter: config.tick_jitter.min(2 * TICK - Duration::from_micros(1)),
            jitter_state: config.seed ^ 0x9E37_79B9_7F4A_7C15,
            bulk_to_station: VecDeque::new(),
            device_orders: Vec::new(),
            console_hifu: Vec::new(),
        };
        pair.connect();
        Ok(pair)
    }

    pub fn now(&self) -> Duration {
        self.now
    }

    pub fn net(&self) -> &Netem<Packet> {
        &self.net
    }

    /// Connections opened so far (1 until the first reconnect).
    pub fn connections(&self) -> u64 {
        self.connection
    }

    /// Datagrams of an earlier connection that arrived after a reconnect and were discarded.
    pub fn old_connection_datagrams(&self) -> u64 {
        self.old_connection_datagrams
    }

    pub fn last_step(&self) -> &StepRecord {
        &self.last
    }

    fn console_now(&self) -> Duration {
        self.now + self.console_ahead
    }

    /// Opens a session on both sides (the console's connection completing its handshake).
    pub fn connect(&mut self) {
        self.connection += 1;
        let now = self.now;
        let mut out = Vec::new();
        let identity = trust::Identity::simulated(SIMULATED_SURGEON, trust::Role::Surgeon);
        let connected = StationInput::connected_without_policy(self.connection, identity);
        self.station.drive(connected, now, |o| out.push(o));
        self.route_station(out);
        let mut out = Vec::new();
        self.console
            .drive(ConsoleInput::Connected, self.console_now(), |o| out.push(o));
        self.route_console(out);
    }

    /// Both sides lose the connection and open a new one, as a console reconnecting does; what
    /// was in flight is lost with the old connection.
    pub fn reconnect(&mut self) {
        let now = self.now;
        let disconnected = StationInput::Disconnected {
            peer: self.connection,
        };
        self.station.drive(disconnected, now, |_| {});
        let reason = "link lost".to_string();
        self.console.drive(
            ConsoleInput::Disconnected { reason },
            self.console_now(),
            |_| {},
        );
        self.to_station.clear();
        self.to_console.clear();
        self.connect();
    }

    /// A button or command at the station (the bedside team), handled at once.
    pub fn local(&mut self, request: LocalRequest) {
        let now = self.now;
        let mut out = Vec::new();
        self.station
            .drive(StationInput::Local { request }, now, |o| out.push(o));
        self.route_station(out);
    }

    /// The operator is done: the console disengages and says bye.
    pub fn finish(&mut self) {
        let mut out = Vec::new();
        self.console.drive(
            ConsoleInput::Operator {
                action: OperatorAction::Finish,
            },
            self.console_now(),
            |o| out.push(o),
        );
        self.route_console(out);
    }

    /// One step of the session (a millisecond, give or take `tick_jitter`); false once the
    /// operator's input is over.
    pub fn step(&mut self) -> bool {
        let step = self.next_step();
        self.now += step;
        let now = self.now;
        self.last.begin(now);
        let t_s = now.as_secs_f64();
        let running = now < self.duration;
        if let (true, Some(pose)) = (running, self.input.pose_at(t_s)) {
            let sample = MasterSample {
                position: pose.position,
                rotation: pose.rotation,
                jaw_rad: self.input.jaw_at(t_s).unwrap_or(0.0),
            };
            self.console_input(ConsoleInput::Master { sample });
            let view = self.console.core().view(self.console_now());
            if let Some(action) = self.surgeon.decide(&view) {
                self.console_input(ConsoleInput::Operator { action });
            }
        } else {
            self.console_input(ConsoleInput::Tick);
        }
        self.deliver_datagrams();
        self.deliver_events();
        self.deliver_bulk();
        let mut out = Vec::new();
        self.station.drive(StationInput::Tick, now, |o| out.push(o));
        self.route_station(out);
        running && self.input.pose_at(t_s).is_some()
    }

    /// Steps on after the input ended until the console holds the station's report of the
    /// session, or `grace` has passed; returns whether the report arrived.
    pub fn settle(&mut self, grace: Duration) -> bool {
        let until = self.now + grace;
        while self.now < until {
            if self.console.core().last_session_reported() {
                return true;
            }
            self.step();
        }
        self.console.core().last_session_reported()
    }

    /// The length of the next step: `TICK`, moved by the seeded tick jitter.
    fn next_step(&mut self) -> Duration {
        let jitter_us = self.tick_jitter.as_micros() as u64;
        if jitter_us == 0 {
            return TICK;
        }
        // A 64-bit linear congruential generator: enough for a wandering tick, and seeded.
        self.jitter_state = self
            .jitter_state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let draw = (self.jitter_state >> 33) % jitter_us;
        TICK - Duration::from_micros(jitter_us / 2) + Duration::from_micros(draw)
    }

    /// Control commands the console sent.
    pub fn commands_sent(&self) -> u64 {
        self.sent_commands
    }

    fn console_input(&mut self, input: ConsoleInput) {
        let mut out = Vec::new();
        self.console
            .drive(input, self.console_now(), |o| out.push(o));
        self.route_console(out);
    }

    fn route_console(&mut self, outputs: Vec<ConsoleOutput>) {
        let now = self.now;
        for output in outputs {
            match output {
                ConsoleOutput::Datagram { datagram } => {
                    let bytes = match datagram {
                        Datagram::Control(_) => {
                            self.sent_commands += 1;
                            COMMAND_BYTES
                        }
                        _ => CLOCK_BYTES,
                    };
                    let packet = Packet {
                        connection: self.connection,
                        datagram,
                    };
                    self.net.send(Direction::Forward, packet, bytes, now);
                }
                ConsoleOutput::Audit(_) => {}
                ConsoleOutput::Event { event } => {
                    let at = self.reliable_arrival(Direction::Forward);
                    self.to_station.push_back((at, event));
                }
            }
        }
    }

    fn route_station(&mut self, outputs: Vec<StationOutput>) {
        let now = self.now;
        for output in outputs {
            match output {
                StationOutput::Datagram { datagram, .. } => {
                    let bytes = match datagram {
                        Datagram::State(state) => {
                            self.last.state = state;
                            STATE_BYTES
                        }
                        _ => CLOCK_BYTES,
                    };
                    let packet = Packet {
                        connection: self.connection,
                        datagram,
                    };
                    self.net.send(Direction::Back, packet, bytes, now);
                }
                StationOutput::Event { event, .. } => {
                    let at = self.reliable_arrival(Direction::Back);
                    self.to_console.push_back((at, event));
                }
                StationOutput::Verdict { .. }
                | StationOutput::Close { .. }
                | StationOutput::Audit(_) => {}
                StationOutput::HifuDevice(order) => self.device_orders.push(order),
                // The simulated pair has no camera.
                StationOutput::VideoPacing { .. } => {}
            }
        }
    }

    /// A reliable stream delivers in order: never before the event sent ahead of it.
    fn reliable_arrival(&self, direction: Direction) -> Duration {
        let at = self.net.reliable_arrival(direction, self.now);
        let queue = match direction {
            Direction::Forward => &self.to_station,
            Direction::Back => &self.to_console,
        };
        queue.back().map_or(at, |(last, _)| at.max(*last))
    }

    fn deliver_datagrams(&mut self) {
        let now = self.now;
        while let Some(delivery) = self.net.poll_output(now) {
            let Packet {
                connection,
                datagram,
            } = delivery.payload;
            if connection != self.connection {
                // The old connection is gone; its datagrams never reach the new session.
                self.old_connection_datagrams += 1;
                continue;
            }
            match delivery.direction {
                Direction::Forward => {
                    if let Datagram::Control(cmd) = &datagram {
                        self.last.command_arrivals.push(delivery.at);
                        let ahead = self.console_ahead.as_micros() as i64;
                        let sent_us = cmd.sent_at_us.saturating_sub(ahead).max(0) as u64;
                        let sent = Duration::from_micros(sent_us);
                        self.last
                            .command_one_way
                            .push(delivery.at.saturating_sub(sent));
                    }
                    let mut out = Vec::new();
                    self.station.drive(
                        StationInput::Datagram {
                            peer: connection,
                            datagram,
                            received_at: delivery.at,
                        },
                        now,
                        |o| out.push(o),
                    );
                    self.route_station(out);
                }
                Direction::Back => {
                    if let Datagram::State(state) = &datagram {
                        // The station's clock is the simulation's.
                        let sent = Duration::from_micros(state.station_time_us.max(0) as u64);
                        self.last
                            .state_one_way
                            .push(delivery.at.saturating_sub(sent));
                    }
                    self.console_input(ConsoleInput::Datagram { datagram });
                }
            }
        }
    }

    fn deliver_events(&mut self) {
        let now = self.now;
        while self.to_station.front().is_some_and(|(at, _)| *at <= now) {
            let Some((at, event)) = self.to_station.pop_front() else {
                break;
            };
            let peer = self.connection;
            if let SessionEvent::Engage { .. } = event {
                self.last.engage_arrivals.push(at);
            }
            let mut out = Vec::new();
            self.station
                .drive(StationInput::Event { peer, event }, now, |o| out.push(o));
            self.route_station(out);
        }
        while self.to_console.front().is_some_and(|(at, _)| *at <= now) {
            let Some((_, event)) = self.to_console.pop_front() else {
                break;
            };
            self.note_console_event(&event);
            self.console_input(ConsoleInput::Event { event });
        }
    }
}

mod hifu;
