//! The station-core test harness: a station core with consoles driven by hand, collecting what it
//! sends, closes, audits, decides and asks of its HIFU device thread.

use proto::{ClockPong, ControlCommand, Datagram, SupervisorStateCode, WirePose};
use std::time::Duration;
use teleop::hifu::DeviceOrder;
use teleop::station::StationSession;
use teleop::station::control::PeerId;
use teleop::station::peers::Admission;
use teleop::{
    Core, LocalRequest, Role, SessionEvent, StationInput, StationOutput, StationSessionConfig,
};
use trust::{AuditAction, AuditRecord, Identity, Role as TrustRole};

pub const A: PeerId = 1;
pub const B: PeerId = 2;
pub const OBSERVER: PeerId = 3;
pub use super::ONE_WAY_US;

/// A station core with consoles driven by hand; each console's clock is the station's.
pub struct Ward {
    pub station: StationSession,
    pub now: Duration,
    pub seqs: [u64; 4],
    pub target: WirePose,
    pub pongs: Vec<(PeerId, ClockPong)>,
    pub events: Vec<(Option<PeerId>, SessionEvent)>,
    pub closed: Vec<(PeerId, String)>,
    pub audit: Vec<AuditRecord>,
    pub verdicts: Vec<String>,
    /// Every control step announced, "step by X to Y".
    pub control_log: Vec<String>,
    /// What the core asked of its HIFU device thread.
    pub device_orders: Vec<DeviceOrder>,
    /// Capture shifts passed to the camera (display-locked capture).
    pub capture_shifts: Vec<i64>,
}

pub fn surgeon(name: &str) -> Identity {
    Identity::simulated(name, TrustRole::Surgeon)
}

impl Ward {
    pub fn new(config: StationSessionConfig) -> Self {
        let start = config.start_joints;
        let mut ward = Self {
            station: StationSession::new(config).unwrap(),
            now: Duration::ZERO,
            seqs: [0; 4],
            target: teleop::wire::pose_to_wire(&robot::Psm::dvrk_classic().forward(&start)),
            pongs: Vec::new(),
            events: Vec::new(),
            closed: Vec::new(),
            audit: Vec::new(),
            verdicts: Vec::new(),
            control_log: Vec::new(),
            device_orders: Vec::new(),
            capture_shifts: Vec::new(),
        };
        ward.drain();
        ward
    }

    pub fn input(&mut self, input: StationInput) {
        self.station.handle_input(input, self.now);
        self.drain();
    }

    pub fn drain(&mut self) {
        while let Some(output) = self.station.poll_output() {
            match output {
                StationOutput::Datagram {
                    to: Some(peer),
                    datagram: Datagram::Ping(ping),
                } => {
                    let t2 = ping.t1_us + ONE_WAY_US;
                    let pong = ClockPong {
                        id: ping.id,
                        t1_us: ping.t1_us,
                        t2_us: t2,
                        t3_us: t2,
                    };
                    self.pongs.push((peer, pong));
                }
                StationOutput::Datagram { .. } => {}
                StationOutput::Event { to, event } => {
                    if let SessionEvent::Control { step, by, to, .. } = &event {
                        let to = to.as_deref().unwrap_or("-");
                        self.control_log
                            .push(format!("{} by {by} to {to}", step.name()));
                    }
                    self.events.push((to, event));
                }
                StationOutput::Close { peer, reason } => self.closed.push((peer, reason.into())),
                StationOutput::Audit(record) => self.audit.push(*record),
                StationOutput::Verdict { verdict, .. } => self.verdicts.push(verdict.into()),
                StationOutput::HifuDevice(order) => self.device_orders.push(order),
                StationOutput::VideoPacing { shift_us } => self.capture_shifts.push(shift_us),
            }
        }
    }

    pub fn connect(&mut self, peer: PeerId, identity: Identity, admission: Admission) {
        self.input(StationInput::Connected {
            peer,
            identity,
            admission,
        });
        let hello = SessionEvent::Hello {
            role: Role::Console,
            wire_version: proto::WIRE_VERSION,
            session_id: 0,
            clock: None,
        };
        self.event(peer, hello);
    }

    pub fn connect_operator(&mut self, peer: PeerId, name: &str) {
        let identity = surgeon(name);
        let admission = Admission::without_policy(&identity);
        self.connect(peer, identity, admission);
    }

    pub fn event(&mut self, peer: PeerId, event: SessionEvent) {
        self.input(StationInput::Event { peer, event });
    }

    pub fn local(&mut self, request: LocalRequest) {
        self.input(StationInput::Local { request });
    }

    /// A millisecond: pongs of the last pings arrive, `movers` each send a command toward
    /// `target`, the servo ticks.
    pub fn step(&mut self, movers: &[PeerId]) {
        self.now += Duration::from_millis(1);
        for (peer, pong) in std::mem::take(&mut self.pongs) {
            let received_at = Duration::from_micros((pong.t1_us + 2 * ONE_WAY_US) as u64);
            self.input(StationInput::Datagram {
                peer,
                datagram: Datagram::Pong(pong),
                received_at,
            });
        }
        for &peer in movers {
            self.seqs[peer as usize] += 1;
            let command = ControlCommand {
                seq: self.seqs[peer as usize],
                sent_at_us: self.now.as_micros() as i64 - ONE_WAY_US,
                target: self.target,
                jaw_rad: 0.0,
            };
            self.input(StationInput::Datagram {
                peer,
                datagram: Datagram::Control(command),
                received_at: self.now,
            });
        }
        self.input(StationInput::Tick);
    }

    pub fn run(&mut self, ms: u64, movers: &[PeerId]) {
        for _ in 0..ms {
            self.step(movers);
        }
    }

    pub fn engage(&mut self, peer: PeerId) {
        let from_seq = self.seqs[peer as usize] + 1;
        self.event(peer, SessionEvent::Engage { from_seq });
    }

    pub fn state(&self) -> SupervisorStateCode {
        teleop::message::state_code(self.station.arm().state())
    }

    pub fn setpoint(&self) -> robot::Joints {
        *self.station.arm().supervisor().setpoint()
    }

    /// Moves the master target 1 mm along x, so an applied command moves the arm.
    pub fn nudge(&mut self) {
        self.target.position_m[0] += 0.001;
    }

    /// Refusals sent to `peer` (or to everyone) since the last call.
    pub fn take_refusals(&mut self, peer: Option<PeerId>) -> Vec<String> {
        let events = std::mem::take(&mut self.events);
        events
            .into_iter()
            .filter(|(to, _)| to.is_none() || *to == peer)
            .filter_map(|(_, e)| match e {
                SessionEvent::Refused { request, reason } => Some(format!("{request}: {reason}")),
                _ => None,
            })
            .collect()
    }

    pub fn control_steps(&self) -> Vec<String> {
        self.control_log.clone()
    }

    pub fn audited(&self, action: AuditAction, subject: &str) -> Vec<&AuditRecord> {
        self.audit
            .iter()
            .filter(|r| r.action == action && r.subject.starts_with(subject))
            .collect()
    }
}
