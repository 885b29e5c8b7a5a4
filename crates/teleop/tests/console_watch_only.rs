//! The console core's own rules on engaging. A person who does not hold control (an observer,
//! or an operator while another console holds control): pressing engage asks the station, which
//! refuses, but the console never starts following and never sends a control command, even when
//! the station reads READY at that moment. And after a gap in the master's samples, an engage
//! registers where the hand is now, so the tool does not travel the hand's movement during the
//! gap.

use proto::{Datagram, SupervisorStateCode, datagram::StateReport};
use robot::geometry::Pose;
use std::time::Duration;
use teleop::console::OperatorAction;
use teleop::message::{ControlHolder, ControlStep};
use teleop::wire::pose_to_wire;
use teleop::{
    ConsoleInput, ConsoleOutput, ConsoleSession, ConsoleSessionConfig, Core, SessionEvent,
};

const TICK: Duration = Duration::from_millis(1);

/// A console core connected and admitted as `name`, with control held by `holder`.
fn admitted(name: &str, may_operate: bool, holder: &str) -> ConsoleSession {
    let mut console = ConsoleSession::new(ConsoleSessionConfig::default());
    let now = Duration::ZERO;
    console.handle_input(ConsoleInput::Connected, now);
    for event in [
        SessionEvent::Admitted {
            name: name.into(),
            role: if may_operate { "surgeon" } else { "observer" }.into(),
            may_operate,
            rule: "test".into(),
            explanation: "test".into(),
        },
        SessionEvent::Control {
            step: ControlStep::Status,
            by: "station".into(),
            to: None,
            holder: ControlHolder::Remote {
                name: holder.into(),
                connected: true,
            },
            present: vec![],
            at_us: 0,
        },
    ] {
        console.handle_input(ConsoleInput::Event { event }, now);
    }
    console
}

/// Runs `ticks` ms with the station reading READY and the master moving, pressing engage at the
/// first tick; returns the control commands and the engage requests the console sent.
fn press_engage_while_ready(console: &mut ConsoleSession, ticks: u64) -> (usize, usize) {
    let (mut commands, mut engages) = (0, 0);
    for tick in 1..=ticks {
        let now = TICK * tick as u32;
        let state = StateReport {
            seq: tick,
            station_time_us: now.as_micros() as i64,
            supervisor_state: SupervisorStateCode::Ready as u8,
            tip: pose_to_wire(&Pose::IDENTITY),
            ..StateReport::default()
        };
        console.handle_input(
            ConsoleInput::Datagram {
                datagram: Datagram::State(state),
            },
            now,
        );
        let sample = teleop::console::MasterSample {
            position: [0.001 * tick as f64, 0.0, 0.0],
            rotation: Pose::IDENTITY.rotation,
            jaw_rad: 0.0,
        };
        console.handle_input(ConsoleInput::Master { sample }, now);
        if tick == 1 {
            let action = OperatorAction::Engage;
            console.handle_input(ConsoleInput::Operator { action }, now);
        }
        while let Some(output) = console.poll_output() {
            match output {
                ConsoleOutput::Datagram {
                    datagram: Datagram::Control(_),
                } => commands += 1,
                ConsoleOutput::Event {
                    event: SessionEvent::Engage { .. },
                } => engages += 1,
                _ => {}
            }
        }
    }
    (commands, engages)
}

#[test]
fn an_observer_pressing_engage_asks_the_station_but_never_commands() {
    let mut console = admitted("Student", false, "Dr A");
    let (commands, engages) = press_engage_while_ready(&mut console, 200);
    assert_eq!(engages, 1, "the request goes to the station, which decides");
    assert_eq!(commands, 0);
    assert_eq!(console.stats().commands_sent, 0);
    assert!(!console.view(TICK * 200).following);
}

#[test]
fn an_operator_without_control_never_commands_but_the_holder_does() {
    let mut waiting = admitted("Dr B", true, "Dr A");
    assert_eq!(press_engage_while_ready(&mut waiting, 200).0, 0);
    let mut holder = admitted("Dr A", true, "Dr A");
    let (commands, engages) = press_engage_while_ready(&mut holder, 200);
    assert_eq!(engages, 1);
    assert!(commands > 0, "the console in control follows once engaged");
}

/// The station reading `state` at `now`, with the tool at the origin.
fn station_reads(console: &mut ConsoleSession, state: SupervisorStateCode, tick: u64) {
    let now = TICK * tick as u32;
    let report = StateReport {
        seq: tick,
        station_time_us: now.as_micros() as i64,
        supervisor_state: state as u8,
        tip: pose_to_wire(&Pose::IDENTITY),
        ..StateReport::default()
    };
    let datagram = Datagram::State(report);
    console.handle_input(ConsoleInput::Datagram { datagram }, now);
}

fn hand_at(console: &mut ConsoleSession, x: f64, tick: u64) {
    let sample = teleop::console::MasterSample {
        position: [x, 0.0, 0.0],
        rotation: Pose::IDENTITY.rotation,
        jaw_rad: 0.0,
    };
    console.handle_input(ConsoleInput::Master { sample }, TICK * tick as u32);
}

#[test]
fn after_a_gap_in_the_master_an_engage_registers_where_the_hand_is_now() {
    let mut console = admitted("Dr A", true, "Dr A");
    // The hand rests at 0 for 300 ms, the page falls silent for 200 ms while the hand moves
    // 50 mm, then samples come again with the hand resting there; engage at once.
    for tick in 1..=300 {
        station_reads(&mut console, SupervisorStateCode::Ready, tick);
        hand_at(&mut console, 0.0, tick);
    }
    for tick in 301..=500 {
        station_reads(&mut console, SupervisorStateCode::Ready, tick);
        console.handle_input(ConsoleInput::Tick, TICK * tick as u32);
    }
    let mut targets = Vec::new();
    for tick in 501..=900 {
        let state = if tick <= 502 {
            SupervisorStateCode::Ready
        } else {
            SupervisorStateCode::Engaged
        };
        station_reads(&mut console, state, tick);
        hand_at(&mut console, 0.05, tick);
        if tick == 501 {
            let action = OperatorAction::Engage;
            console.handle_input(ConsoleInput::Operator { action }, TICK * tick as u32);
        }
        while let Some(output) = console.poll_output() {
            if let ConsoleOutput::Datagram {
                datagram: Datagram::Control(command),
            } = output
            {
                targets.push(command.target.position_m[0]);
            }
        }
    }
    assert!(
        targets.len() > 300,
        "the console followed: {}",
        targets.len()
    );
    let travel = targets
        .iter()
        .fold(0.0f64, |m, x| m.max((x - targets[0]).abs()));
    assert!(
        travel < 1e-6,
        "the hand rested after the engage, yet the tool was sent {:.1} mm away",
        travel * 1e3
    );
}
