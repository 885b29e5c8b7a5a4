//! The whole control chain in simulated time, without sockets: the console's operator core sends
//! commands through a delay line to the station core, which sends its state back. Deterministic,
//! so the tracking figure and the safety audit are checked exactly.

use console::config::InputConfig;
use console::input;
use console::operator::{Operator, OperatorOutput, StationView};
use link::wire::pose_from_wire;
use proto::{ControlCommand, SupervisorStateCode};
use safety::{Request, SupervisorConfig};
use station::{Inbound, StationCore, StationReport};
use std::collections::VecDeque;
use std::time::Duration;

/// Runs `duration_s` of the suturing script with a fixed one-way delay and a servo tick that
/// wanders by `jitter_us`, returning the station's report.
fn run(duration_s: f64, one_way_delay: Duration, jitter_us: u64) -> StationReport {
    let (master, duration_s) =
        input::build(&InputConfig::Suturing { seed: 7 }, Some(duration_s)).unwrap();
    let mut operator = Operator::new(master, duration_s, 0.2, 6.0, true, 0.5);
    let start = robot::script::SurgicalScript::psm_start_joints();
    let mut station = StationCore::new(SupervisorConfig::default(), start, Duration::ZERO).unwrap();
    station
        .handle(Inbound::Request(Request::Enable), Duration::ZERO)
        .unwrap();
    let mut in_flight: VecDeque<(Duration, ControlCommand)> = VecDeque::new();
    let mut pending_engage: Option<(Duration, u64)> = None;
    let mut last_state = None;
    let mut rng = 99u64;
    let mut now = Duration::from_millis(1);
    loop {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let jitter = if jitter_us > 0 {
            (rng >> 33) % jitter_us
        } else {
            0
        };
        now += Duration::from_micros(1000 - jitter_us / 2 + jitter);
        let view = last_state.map(|(state, tip)| StationView {
            state,
            tip,
            age_s: 0.001,
        });
        let mut outputs = Vec::new();
        let running = operator.step(now.as_secs_f64(), now.as_micros() as i64, view, |o| {
            outputs.push(o)
        });
        for output in outputs {
            match output {
                OperatorOutput::Command(cmd) => in_flight.push_back((now + one_way_delay, cmd)),
                OperatorOutput::Event(proto::Event::Engage { from_seq }) => {
                    pending_engage = Some((now + one_way_delay, from_seq))
                }
                OperatorOutput::Event(_) => {}
            }
        }
        if let Some((at, from_seq)) = pending_engage
            && at <= now
        {
            station
                .handle(Inbound::Request(Request::Engage { from_seq }), now)
                .unwrap();
            pending_engage = None;
        }
        while in_flight.front().is_some_and(|(at, _)| *at <= now) {
            let (_, cmd) = in_flight.pop_front().unwrap();
            let issued_at = Some(Duration::from_micros(cmd.sent_at_us as u64));
            let _ = station.handle(
                Inbound::Command {
                    cmd,
                    issued_at,
                    received_at: now,
                },
                now,
            );
        }
        let state = station.tick(now);
        last_state = Some((
            SupervisorStateCode::from_byte(state.supervisor_state).unwrap(),
            pose_from_wire(&state.tip).unwrap(),
        ));
        if !running {
            return station.report(now);
        }
    }
}

#[test]
fn the_scripted_procedure_tracks_within_a_millimetre_and_nothing_unsafe_is_applied() {
    let report = run(8.0, Duration::from_micros(300), 0);
    assert_eq!(report.unsafe_applied, 0, "{:?}", report.first_unsafe);
    assert!(report.commands_applied > 7_000, "{report:?}");
    assert!(
        report.tracking_rms_mm < 1.0,
        "RMS {} mm",
        report.tracking_rms_mm
    );
    assert!(
        report.tracking_max_mm < 2.0,
        "max {} mm",
        report.tracking_max_mm
    );
}

#[test]
fn a_jittery_servo_clock_breaks_no_rule() {
    let report = run(8.0, Duration::from_micros(300), 1_600);
    assert_eq!(report.unsafe_applied, 0, "{:?}", report.first_unsafe);
    assert!(
        report.tracking_rms_mm < 1.0,
        "RMS {} mm",
        report.tracking_rms_mm
    );
}
