//! An engaged station core driven by hand, as the servo thread drives it: a console 300 µs away
//! each way whose clock runs 5 s ahead answers the station's clock pings, and sends one command
//! per millisecond toward the arm's start pose.

#![allow(dead_code)]

pub mod hifu_plans;
pub mod ward;

use proto::{ClockPong, ControlCommand, Datagram, StateReport, WirePose};
use std::time::Duration;
use teleop::station::StationSession;
use teleop::{Core, Role, SessionEvent, StationInput, StationOutput, StationSessionConfig};

pub const CONSOLE_AHEAD_US: i64 = 5_000_000;
pub const ONE_WAY_US: i64 = 300;
/// The bench's one console.
pub const PEER: u64 = 1;

pub struct Bench {
    pub station: StationSession,
    pub now: Duration,
    pub seq: u64,
    pub target: WirePose,
    /// The newest state report the station sent.
    pub last_state: Option<StateReport>,
    pongs: [Option<ClockPong>; 4],
}

impl Bench {
    /// A station with a session open, enabled, clock-synchronised and engaged at about 100 ms.
    pub fn engaged(config: StationSessionConfig) -> Self {
        let start = config.start_joints;
        let mut bench = Self {
            station: StationSession::new(config).unwrap(),
            now: Duration::ZERO,
            seq: 0,
            target: teleop::wire::pose_to_wire(&robot::Psm::dvrk_classic().forward(&start)),
            last_state: None,
            pongs: [None; 4],
        };
        let hello = SessionEvent::Hello {
            role: Role::Console,
            wire_version: proto::WIRE_VERSION,
            session_id: 0,
            clock: None,
        };
        let surgeon = trust::Identity::simulated("bench surgeon", trust::Role::Surgeon);
        bench.input(StationInput::connected_without_policy(PEER, surgeon));
        bench.input(StationInput::Event {
            peer: PEER,
            event: hello,
        });
        bench.input(StationInput::Event {
            peer: PEER,
            event: SessionEvent::Enable,
        });
        for _ in 0..100 {
            bench.step(Duration::from_millis(1));
        }
        let from_seq = bench.seq + 1;
        bench.input(StationInput::Event {
            peer: PEER,
            event: SessionEvent::Engage { from_seq },
        });
        bench
    }

    /// Hands one input at the current time; returns how many outputs it produced, answering
    /// every clock ping (the pong arrives at the next step).
    pub fn input(&mut self, input: StationInput) -> usize {
        self.station.handle_input(input, self.now);
        let mut n = 0;
        while let Some(output) = self.station.poll_output() {
            n += 1;
            if let StationOutput::Datagram {
                datagram: Datagram::State(state),
                ..
            } = output
            {
                self.last_state = Some(state);
            }
            if let StationOutput::Datagram {
                datagram: Datagram::Ping(ping),
                ..
            } = output
            {
                let t2 = ping.t1_us + ONE_WAY_US + CONSOLE_AHEAD_US;
                if let Some(slot) = self.pongs.iter_mut().find(|p| p.is_none()) {
                    *slot = Some(ClockPong {
                        id: ping.id,
                        t1_us: ping.t1_us,
                        t2_us: t2,
                        t3_us: t2,
                    });
                }
            }
        }
        n
    }

    /// A command issued now on the console's clock, arriving one way later.
    pub fn command(&mut self) -> StationInput {
        self.seq += 1;
        StationInput::Datagram {
            peer: PEER,
            datagram: Datagram::Control(ControlCommand {
                seq: self.seq,
                sent_at_us: self.now.as_micros() as i64 - ONE_WAY_US + CONSOLE_AHEAD_US,
                target: self.target,
                jaw_rad: 0.0,
            }),
            received_at: self.now,
        }
    }

    /// Advances time by `dt`: pending pongs, one command, one servo tick.
    pub fn step(&mut self, dt: Duration) -> usize {
        self.now += dt;
        for i in 0..self.pongs.len() {
            if let Some(pong) = self.pongs[i].take() {
                let received_at = Duration::from_micros((pong.t1_us + 2 * ONE_WAY_US) as u64);
                self.station.handle_input(
                    StationInput::Datagram {
                        peer: PEER,
                        datagram: Datagram::Pong(pong),
                        received_at,
                    },
                    self.now,
                );
                while self.station.poll_output().is_some() {}
            }
        }
        let command = self.command();
        self.input(command) + self.input(StationInput::Tick)
    }

    pub fn applied(&self) -> u64 {
        self.station.arm().supervisor().applied_count()
    }
}
