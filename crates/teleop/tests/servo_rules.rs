//! The station core's servo rules in simulated time: after a stall the arm holds before any
//! queued command is judged, and the simulated arm never integrates more than one servo period
//! per tick (a gap it was not ticked through is not replayed). Each test fails when its rule is
//! removed (`arm_loop.rs`: the `min(self.servo_period)` of the tick's dt).

mod common;

use common::Bench;
use std::time::Duration;
use teleop::{StationInput, StationSessionConfig};

const MS: Duration = Duration::from_millis(1);

fn moving() -> Bench {
    let mut bench = Bench::engaged(StationSessionConfig::default());
    // Move the target 2 cm along the tool axis and follow it for a while: the arm is in motion.
    bench.target.position_m[2] -= 0.02;
    for _ in 0..40 {
        bench.step(MS);
    }
    bench
}

fn joints(bench: &Bench) -> [f64; 6] {
    *bench.station.arm().supervisor().setpoint()
}

#[test]
fn commands_queued_during_a_stall_never_move_the_arm() {
    let mut bench = moving();
    let applied = bench.applied();
    let setpoint = joints(&bench);
    // The servo thread stalls for 30 ms; the network thread queued commands meanwhile, which the
    // servo hands over at its next tick, before the tick itself.
    bench.now += Duration::from_millis(30);
    for _ in 0..5 {
        let command = bench.command();
        bench.input(command);
    }
    bench.input(StationInput::Tick);
    assert_eq!(bench.applied(), applied, "a queued command was applied");
    assert_eq!(
        joints(&bench),
        setpoint,
        "the setpoint moved after the stall"
    );
    assert_eq!(
        bench.station.arm().state(),
        safety::SafetyState::Hold,
        "the stall holds the arm"
    );
    let report = bench.station.report(bench.now, false);
    assert_eq!(report.servo_stalls, 1);
    assert!(
        report.commands_dropped.contains_key("not_engaged"),
        "{report:?}"
    );
}

#[test]
fn the_arm_does_not_replay_a_gap_it_was_not_ticked_through() {
    let mut bench = moving();
    let period = StationSessionConfig::default().servo_period.as_secs_f64();
    let arm = robot::arm::ArmConfig::default();
    let before = bench.last_state.expect("a state report").joints;
    // 200 ms without a tick (the arm still lags its moving setpoint), then one tick.
    bench.now += Duration::from_millis(200);
    bench.input(StationInput::Tick);
    let after = bench.last_state.expect("a state report").joints;
    let moved: Vec<f64> = (0..6).map(|j| (after[j] - before[j]).abs()).collect();
    assert!(
        moved.iter().any(|m| *m > 0.0),
        "the arm was in motion: {moved:?}"
    );
    for (joint, (moved, limit)) in moved.iter().zip(arm.max_velocity).enumerate() {
        assert!(
            *moved <= limit * period + 1e-12,
            "joint {joint} moved {moved} in one tick after a 200 ms gap"
        );
    }
}
