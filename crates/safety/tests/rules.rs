//! One test per supervisor rule, in simulated time: removing the rule makes its test fail.

use safety::*;
use std::time::Duration;

const TICK: Duration = Duration::from_millis(1);
const HOME: Joints = [0.0, 0.0, 0.12, 0.0, 0.0, 0.0];
const HOME_TIP: [f64; 3] = [0.0, 0.0, -0.1];

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// A supervisor already ENGAGED at t = 10 ms, ticked once.
fn engaged() -> (Supervisor, Duration) {
    let mut s = Supervisor::new(SupervisorConfig::default(), HOME, Duration::ZERO);
    s.handle_request(Request::Enable, ms(1)).unwrap();
    s.handle_request(Request::Engage { from_seq: 1 }, ms(10))
        .unwrap();
    s.tick(ms(10), &HOME);
    (s, ms(10))
}

fn command(seq: u64, issued_at: Duration, joints: Joints) -> Command {
    Command {
        seq,
        issued_at: Some(issued_at),
        joints,
        tip_position_m: HOME_TIP,
    }
}

fn nudged(dz: f64) -> Joints {
    let mut q = HOME;
    q[0] += dz;
    q
}

#[test]
fn stale_command_is_never_applied() {
    let (mut s, t) = engaged();
    let max_age = s.config().max_command_age;
    // The servo ticks and fresh commands arrive, so neither a stall nor the survival time holds.
    let mut now = t;
    let mut seq = 1;
    while now < t + max_age {
        now += TICK;
        s.handle_command(&command(seq, now, HOME), now);
        seq += 1;
        s.tick(now, &HOME);
    }
    assert_eq!(s.state(), SafetyState::Engaged);
    let stale = command(seq, now - max_age, nudged(0.001));
    assert_eq!(
        s.handle_command(&stale, now),
        CommandVerdict::Dropped(DropReason::Stale)
    );
    let young = command(seq + 1, now - max_age + ms(1), nudged(0.001));
    assert_eq!(s.handle_command(&young, now), CommandVerdict::Applied);
}

#[test]
fn duplicate_and_reordered_commands_are_never_applied() {
    let (mut s, t) = engaged();
    assert_eq!(
        s.handle_command(&command(5, t, nudged(0.001)), t),
        CommandVerdict::Applied
    );
    assert_eq!(
        s.handle_command(&command(5, t, nudged(0.002)), t),
        CommandVerdict::Dropped(DropReason::Duplicate)
    );
    assert_eq!(
        s.handle_command(&command(4, t, nudged(0.003)), t),
        CommandVerdict::Dropped(DropReason::Reordered)
    );
    assert_eq!(
        s.handle_command(&command(6, t, nudged(0.004)), t),
        CommandVerdict::Applied
    );
    assert_eq!(s.last_applied_seq(), Some(6));
}

#[test]
fn commands_are_applied_only_while_engaged() {
    let mut s = Supervisor::new(SupervisorConfig::default(), HOME, Duration::ZERO);
    s.handle_request(Request::Enable, ms(1)).unwrap();
    let v = s.handle_command(&command(1, ms(2), nudged(0.01)), ms(2));
    assert_eq!(v, CommandVerdict::Dropped(DropReason::NotEngaged));
    for i in 0..20 {
        assert_eq!(s.tick(ms(2 + i), &HOME), HOME);
    }
}

#[test]
fn commands_from_before_the_engagement_are_refused() {
    let mut s = Supervisor::new(SupervisorConfig::default(), HOME, Duration::ZERO);
    s.handle_request(Request::Enable, ms(1)).unwrap();
    s.handle_request(Request::Engage { from_seq: 100 }, ms(2))
        .unwrap();
    let v = s.handle_command(&command(99, ms(2), nudged(0.01)), ms(2));
    assert_eq!(v, CommandVerdict::Dropped(DropReason::BeforeEngage));
    assert_eq!(
        s.handle_command(&command(100, ms(2), nudged(0.01)), ms(2)),
        CommandVerdict::Applied
    );
}

#[test]
fn unsynchronised_and_future_commands_are_refused() {
    let (mut s, t) = engaged();
    let mut unsynced = command(1, t, nudged(0.01));
    unsynced.issued_at = None;
    assert_eq!(
        s.handle_command(&unsynced, t),
        CommandVerdict::Dropped(DropReason::Unsynchronised)
    );
    let future = command(2, t + ms(50), nudged(0.01));
    assert_eq!(
        s.handle_command(&future, t),
        CommandVerdict::Dropped(DropReason::Future)
    );
}

#[test]
fn targets_outside_joint_limits_are_refused_not_clamped() {
    let (mut s, t) = engaged();
    let mut q = HOME;
    q[1] = 1.2;
    assert_eq!(
        s.handle_command(&command(1, t, q), t),
        CommandVerdict::Dropped(DropReason::JointLimit)
    );
    for i in 1..50 {
        assert_eq!(
            s.tick(t + ms(i), &HOME),
            HOME,
            "the arm must not creep toward a refused target"
        );
    }
}

#[test]
fn targets_outside_the_workspace_are_refused() {
    let (mut s, t) = engaged();
    let mut shallow = HOME;
    shallow[2] = 0.03;
    assert_eq!(
        s.handle_command(&command(1, t, shallow), t),
        CommandVerdict::Dropped(DropReason::Workspace)
    );
    let mut far = command(2, t, HOME);
    far.tip_position_m = [0.3, 0.0, 0.0];
    assert_eq!(
        s.handle_command(&far, t),
        CommandVerdict::Dropped(DropReason::Workspace)
    );
}

#[test]
fn setpoint_motion_is_clamped_to_velocity_and_acceleration_limits() {
    let (mut s, t) = engaged();
    let config = s.config().clone();
    let far = nudged(0.5);
    let mut now = t;
    let mut previous = HOME;
    let mut previous_velocity = 0.0;
    let mut peak_velocity: f64 = 0.0;
    for seq in 1..=2000 {
        now += TICK;
        s.handle_command(&command(seq, now, far), now);
        let sp = s.tick(now, &previous);
        let velocity = (sp[0] - previous[0]) / TICK.as_secs_f64();
        assert!(
            velocity.abs() <= config.max_velocity[0] + 1e-9,
            "velocity {velocity}"
        );
        let accel = (velocity - previous_velocity) / TICK.as_secs_f64();
        assert!(
            accel.abs() <= config.max_acceleration[0] + 1e-3,
            "acceleration {accel}"
        );
        assert!(sp[0] <= far[0] + 1e-9, "overshoot to {}", sp[0]);
        peak_velocity = peak_velocity.max(velocity.abs());
        previous_velocity = velocity;
        previous = sp;
    }
    assert!(
        (previous[0] - far[0]).abs() < 1e-9,
        "reached the target: {}",
        previous[0]
    );
    assert!(
        peak_velocity > 0.9 * config.max_velocity[0],
        "the clamp, not the test, limited the speed"
    );
}

#[test]
fn hold_is_entered_within_one_tick_after_the_survival_time() {
    let (mut s, t) = engaged();
    let survival = s.config().survival_time;
    assert_eq!(
        s.handle_command(&command(1, t, nudged(0.001)), t),
        CommandVerdict::Applied
    );
    let mut now = t;
    while now <= t + survival {
        s.tick(now, &HOME);
        assert_eq!(s.state(), SafetyState::Engaged, "HOLD too early at {now:?}");
        now += TICK;
    }
    s.tick(now, &HOME);
    assert_eq!(
        s.state(),
        SafetyState::Hold,
        "not in HOLD one tick after the survival time"
    );
    let transition = s.poll_transition_matching(SafetyState::Hold);
    assert_eq!(
        transition.map(|t| t.reason),
        Some(TransitionReason::SurvivalTimeExpired)
    );
}

trait TransitionLog {
    fn poll_transition_matching(&mut self, to: SafetyState) -> Option<Transition>;
}

impl TransitionLog for Supervisor {
    fn poll_transition_matching(&mut self, to: SafetyState) -> Option<Transition> {
        std::iter::from_fn(|| self.poll_transition()).find(|t| t.to == to)
    }
}

#[test]
fn nothing_moves_in_hold_and_leaving_it_needs_an_explicit_engage() {
    let (mut s, t) = engaged();
    let mut now = t;
    s.handle_command(&command(1, now, nudged(0.3)), now);
    for _ in 0..20 {
        now += TICK;
        s.tick(now, &HOME);
    }
    now += ms(60);
    let frozen = s.tick(now, &HOME);
    assert_eq!(s.state(), SafetyState::Hold);
    // Fresh commands keep arriving: none is applied, nothing moves, no automatic re-engage.
    for seq in 2..500 {
        now += TICK;
        let v = s.handle_command(&command(seq, now, nudged(0.3)), now);
        assert_eq!(v, CommandVerdict::Dropped(DropReason::NotEngaged));
        assert_eq!(s.tick(now, &frozen), frozen);
        assert_eq!(s.state(), SafetyState::Hold);
    }
    s.handle_request(Request::Engage { from_seq: 600 }, now)
        .unwrap();
    assert_eq!(s.state(), SafetyState::Engaged);
    assert_eq!(
        s.handle_command(&command(600, now, nudged(0.3)), now),
        CommandVerdict::Applied
    );
}

#[test]
fn a_long_silence_disengages() {
    let (mut s, t) = engaged();
    let disengage_after = s.config().disengage_after;
    let mut now = t;
    while now <= t + disengage_after {
        now += TICK;
        s.tick(now, &HOME);
    }
    now += TICK;
    s.tick(now, &HOME);
    assert_eq!(s.state(), SafetyState::Ready);
}

#[test]
fn estop_latches_from_every_state_and_clears_only_locally() {
    for estop in [Request::LocalEstop, Request::RemoteEstop] {
        let (mut s, t) = engaged();
        s.handle_request(estop, t).unwrap();
        assert_eq!(s.state(), SafetyState::Estop);
        for attempt in [
            Request::Enable,
            Request::Engage { from_seq: 1 },
            Request::Disengage,
            Request::LocalFaultClear,
        ] {
            assert!(
                s.handle_request(attempt, t).is_err(),
                "{attempt:?} left ESTOP"
            );
            assert_eq!(s.state(), SafetyState::Estop);
        }
        assert_eq!(
            s.handle_command(&command(1, t, nudged(0.1)), t),
            CommandVerdict::Dropped(DropReason::NotEngaged)
        );
        for i in 1..100 {
            assert_eq!(s.tick(t + ms(i), &HOME), HOME);
        }
        assert_eq!(
            s.state(),
            SafetyState::Estop,
            "the watchdogs must not leave ESTOP"
        );
        s.handle_request(Request::LocalEstopClear, t + ms(200))
            .unwrap();
        assert_eq!(s.state(), SafetyState::Disabled);
    }
    let mut s = Supervisor::new(SupervisorConfig::default(), HOME, Duration::ZERO);
    s.handle_request(Request::LocalEstop, ms(1)).unwrap();
    assert_eq!(s.state(), SafetyState::Estop, "e-stop from DISABLED");
}

#[test]
fn a_tracking_error_or_a_bad_measurement_faults_and_holds() {
    let (mut s, t) = engaged();
    let mut far_off = HOME;
    far_off[2] += 0.06;
    s.tick(t + TICK, &far_off);
    assert_eq!(s.state(), SafetyState::Fault);
    assert!(
        s.handle_request(Request::Engage { from_seq: 1 }, t)
            .is_err()
    );
    s.handle_request(Request::LocalFaultClear, t + ms(2))
        .unwrap();
    assert_eq!(s.state(), SafetyState::Disabled);

    let (mut s, t) = engaged();
    let mut nan = HOME;
    nan[4] = f64::NAN;
    s.tick(t + TICK, &nan);
    assert_eq!(s.state(), SafetyState::Fault);
}

#[test]
fn every_transition_is_reported_with_its_reason() {
    let (mut s, t) = engaged();
    s.handle_request(Request::Disengage, t + ms(1)).unwrap();
    let log: Vec<_> = std::iter::from_fn(|| s.poll_transition())
        .map(|t| (t.from, t.to, t.reason))
        .collect();
    assert_eq!(
        log,
        vec![
            (
                SafetyState::Disabled,
                SafetyState::Ready,
                TransitionReason::EnableRequested
            ),
            (
                SafetyState::Ready,
                SafetyState::Engaged,
                TransitionReason::EngageRequested
            ),
            (
                SafetyState::Engaged,
                SafetyState::Ready,
                TransitionReason::DisengageRequested
            ),
        ]
    );
    let times = s.time_in_states(t + ms(11));
    assert_eq!(times[SafetyState::Engaged.index()], ms(1));
    assert_eq!(times[SafetyState::Ready.index()], ms(19));
}

fn reasons(s: &mut Supervisor) -> Vec<(SafetyState, TransitionReason)> {
    std::iter::from_fn(|| s.poll_transition())
        .map(|t| (t.to, t.reason))
        .collect()
}

#[test]
fn a_new_session_starts_afresh_and_holds_an_engaged_arm() {
    let (mut s, t) = engaged();
    assert_eq!(
        s.handle_command(&command(500, t, nudged(0.01)), t),
        CommandVerdict::Applied
    );
    s.tick(t + TICK, &HOME);
    reasons(&mut s);
    let now = t + ms(2);
    s.begin_session(now);
    assert_eq!(s.state(), SafetyState::Hold);
    assert_eq!(
        reasons(&mut s),
        vec![(SafetyState::Hold, TransitionReason::SessionChanged)]
    );
    assert_eq!(s.last_applied_seq(), None);
    // The new console counts from 1: neither reordered (old window) nor before an old engagement.
    assert_eq!(
        s.handle_command(&command(1, now, nudged(0.02)), now),
        CommandVerdict::Dropped(DropReason::NotEngaged)
    );
    let frozen = *s.setpoint();
    assert_eq!(s.tick(now, &frozen), frozen);
    s.handle_request(Request::Engage { from_seq: 2 }, now)
        .unwrap();
    assert_eq!(
        s.handle_command(&command(2, now, nudged(0.02)), now),
        CommandVerdict::Applied
    );
}

#[test]
fn a_new_session_never_engages_by_itself() {
    let mut s = Supervisor::new(SupervisorConfig::default(), HOME, Duration::ZERO);
    s.handle_request(Request::Enable, ms(1)).unwrap();
    s.handle_request(Request::Engage { from_seq: 400 }, ms(2))
        .unwrap();
    s.handle_request(Request::Disengage, ms(3)).unwrap();
    s.begin_session(ms(4));
    assert_eq!(s.state(), SafetyState::Ready);
    // The old engagement's first sequence number is gone with its session.
    assert_eq!(
        s.handle_command(&command(1, ms(4), nudged(0.01)), ms(4)),
        CommandVerdict::Dropped(DropReason::NotEngaged)
    );
    assert_eq!(s.state(), SafetyState::Ready);
}

#[test]
fn a_session_that_ends_holds_an_engaged_arm() {
    let (mut s, t) = engaged();
    s.handle_command(&command(1, t, nudged(0.3)), t);
    let mut now = t;
    for _ in 0..10 {
        now += TICK;
        let measured = *s.setpoint();
        s.tick(now, &measured);
    }
    reasons(&mut s);
    s.end_session(now);
    assert_eq!(s.state(), SafetyState::Hold);
    assert_eq!(
        reasons(&mut s),
        vec![(SafetyState::Hold, TransitionReason::SessionEnded)]
    );
    let frozen = *s.setpoint();
    for seq in 2..20 {
        now += TICK;
        assert_eq!(
            s.handle_command(&command(seq, now, nudged(0.3)), now),
            CommandVerdict::Dropped(DropReason::NotEngaged)
        );
        assert_eq!(s.tick(now, &frozen), frozen);
    }
}

#[test]
fn a_re_engage_does_not_reopen_old_sequence_numbers() {
    let (mut s, t) = engaged();
    assert_eq!(
        s.handle_command(&command(10, t, nudged(0.01)), t),
        CommandVerdict::Applied
    );
    s.handle_request(Request::Disengage, t).unwrap();
    s.handle_request(Request::Engage { from_seq: 0 }, t)
        .unwrap();
    assert_eq!(
        s.handle_command(&command(9, t, nudged(0.02)), t),
        CommandVerdict::Dropped(DropReason::Reordered)
    );
    assert_eq!(
        s.handle_command(&command(11, t, nudged(0.02)), t),
        CommandVerdict::Applied
    );
}

#[test]
fn an_out_of_range_sequence_number_cannot_poison_the_session() {
    let (mut s, t) = engaged();
    let jump = s.config().max_sequence_jump;
    assert_eq!(
        s.handle_command(&command(1, t, nudged(0.01)), t),
        CommandVerdict::Applied
    );
    assert_eq!(
        s.handle_command(&command(u64::MAX, t, nudged(0.01)), t),
        CommandVerdict::Dropped(DropReason::OutOfRange)
    );
    assert_eq!(
        s.handle_command(&command(2, t, nudged(0.02)), t),
        CommandVerdict::Applied,
        "one far-out sequence number blocked the session"
    );
    assert_eq!(
        s.handle_command(&command(2 + jump + 1, t, nudged(0.02)), t),
        CommandVerdict::Dropped(DropReason::OutOfRange)
    );
    assert_eq!(
        s.handle_command(&command(2 + jump, t, nudged(0.02)), t),
        CommandVerdict::Applied
    );
    assert_eq!(s.drop_count(DropReason::OutOfRange), 2);
}

#[test]
fn before_any_command_the_range_counts_from_the_engagement() {
    let mut s = Supervisor::new(SupervisorConfig::default(), HOME, Duration::ZERO);
    let jump = s.config().max_sequence_jump;
    s.handle_request(Request::Enable, ms(1)).unwrap();
    s.handle_request(Request::Engage { from_seq: 1_000 }, ms(2))
        .unwrap();
    assert_eq!(
        s.handle_command(&command(u64::MAX, ms(2), nudged(0.01)), ms(2)),
        CommandVerdict::Dropped(DropReason::OutOfRange)
    );
    assert_eq!(
        s.handle_command(&command(1_000 + jump, ms(2), nudged(0.01)), ms(2)),
        CommandVerdict::Applied
    );
}

/// A console that kept counting through a long HOLD engages again from where it is now: the
/// engagement's first sequence number moves the range with it.
#[test]
fn a_re_engage_far_ahead_moves_the_range() {
    let (mut s, t) = engaged();
    let jump = s.config().max_sequence_jump;
    assert_eq!(
        s.handle_command(&command(10, t, nudged(0.01)), t),
        CommandVerdict::Applied
    );
    s.handle_request(Request::Disengage, t).unwrap();
    let from_seq = 10 + 3 * jump;
    s.handle_request(Request::Engage { from_seq }, t).unwrap();
    assert_eq!(
        s.handle_command(&command(from_seq, t, nudged(0.01)), t),
        CommandVerdict::Applied
    );
}

#[test]
fn overflowing_stamps_and_limits_are_refused_not_panics() {
    let config = SupervisorConfig {
        max_future_skew: Duration::MAX,
        survival_time: Duration::MAX,
        ..SupervisorConfig::default()
    };
    let mut s = Supervisor::new(config, HOME, Duration::ZERO);
    s.handle_request(Request::Enable, ms(1)).unwrap();
    s.handle_request(Request::Engage { from_seq: 1 }, ms(2))
        .unwrap();
    assert!(s.poll_timeout().is_some());
    assert_eq!(
        s.handle_command(&command(1, Duration::MAX, nudged(0.01)), ms(2)),
        CommandVerdict::Applied,
        "no future limit at all"
    );
    let (mut s, t) = engaged();
    assert_eq!(
        s.handle_command(&command(1, Duration::MAX, nudged(0.01)), t),
        CommandVerdict::Dropped(DropReason::Future)
    );
}

/// Engaged and moving toward a far target, ticked every millisecond up to the time returned.
fn moving() -> (Supervisor, Duration, u64) {
    let (mut s, mut now) = engaged();
    let mut seq = 1;
    for _ in 0..200 {
        now += TICK;
        s.handle_command(&command(seq, now, nudged(0.3)), now);
        seq += 1;
        let measured = *s.setpoint();
        s.tick(now, &measured);
    }
    reasons(&mut s);
    (s, now, seq)
}

#[test]
fn a_servo_stall_holds_on_the_first_tick_after_it() {
    let (mut s, t, _) = moving();
    let before = *s.setpoint();
    let gap = s.config().max_servo_gap + Duration::from_micros(1);
    assert_eq!(s.tick(t + gap, &before), before, "moved across the stall");
    assert_eq!(s.state(), SafetyState::Hold);
    assert_eq!(
        reasons(&mut s),
        vec![(SafetyState::Hold, TransitionReason::ServoStall)]
    );
    // Re-engaging needs an explicit engage: ticks on time again do not.
    for i in 1..10 {
        assert_eq!(s.tick(t + gap + ms(i), &before), before);
    }
    assert_eq!(s.state(), SafetyState::Hold);
}

#[test]
fn commands_after_a_stall_are_judged_after_the_hold() {
    let (mut s, t, seq) = moving();
    let before = *s.setpoint();
    let now = t + ms(30);
    // Queued during the stall: a stale one and a fresh one, handled before the next tick.
    let stale = command(seq, t - ms(200), nudged(0.1));
    assert_eq!(
        s.handle_command(&stale, now),
        CommandVerdict::Dropped(DropReason::Stale)
    );
    assert_eq!(s.state(), SafetyState::Hold);
    let fresh = command(seq + 1, now, nudged(0.1));
    assert_eq!(
        s.handle_command(&fresh, now),
        CommandVerdict::Dropped(DropReason::NotEngaged)
    );
    assert_eq!(
        reasons(&mut s),
        vec![(SafetyState::Hold, TransitionReason::ServoStall)]
    );
    assert_eq!(s.tick(now, &before), before);
    assert_eq!(
        s.state(),
        SafetyState::Hold,
        "one stall, one HOLD, no re-engage"
    );
}

#[test]
fn a_request_after_a_stall_is_handled_after_the_hold() {
    let (mut s, t, _) = moving();
    let now = t + ms(30);
    // Disengage is allowed from HOLD too, but the stall comes first in the log.
    s.handle_request(Request::Disengage, now).unwrap();
    assert_eq!(
        reasons(&mut s),
        vec![
            (SafetyState::Hold, TransitionReason::ServoStall),
            (SafetyState::Ready, TransitionReason::DisengageRequested)
        ]
    );
}

#[test]
fn a_servo_gap_at_the_limit_does_not_hold() {
    let (mut s, t, seq) = moving();
    let gap = s.config().max_servo_gap;
    s.handle_command(&command(seq, t + gap, nudged(0.3)), t + gap);
    let before = *s.setpoint();
    let after = s.tick(t + gap, &before);
    assert_eq!(s.state(), SafetyState::Engaged);
    assert_ne!(after, before, "still following");
}

/// Engaging needs a running servo: an engage during a stall is refused (the stall holds first),
/// and granted once the servo has ticked again.
#[test]
fn an_engage_is_refused_while_the_servo_is_stalled() {
    let (mut s, t, seq) = moving();
    let now = t + ms(30);
    assert!(
        s.handle_request(Request::Engage { from_seq: seq }, now)
            .is_err()
    );
    assert_eq!(s.state(), SafetyState::Hold);
    assert_eq!(
        reasons(&mut s),
        vec![(SafetyState::Hold, TransitionReason::ServoStall)]
    );
    let frozen = *s.setpoint();
    assert_eq!(s.tick(now, &frozen), frozen);
    s.handle_request(Request::Engage { from_seq: seq }, now)
        .unwrap();
    assert_eq!(s.state(), SafetyState::Engaged);
    // Never ticked yet: nothing to call a stall.
    let mut fresh = Supervisor::new(SupervisorConfig::default(), HOME, Duration::ZERO);
    fresh.handle_request(Request::Enable, ms(1)).unwrap();
    fresh
        .handle_request(Request::Engage { from_seq: 1 }, ms(100))
        .unwrap();
}

#[test]
fn while_the_bedside_team_has_control_no_remote_command_or_request_acts() {
    let (mut s, t) = engaged();
    assert_eq!(
        s.handle_command(&command(1, t, nudged(0.001)), t),
        CommandVerdict::Applied
    );
    s.set_bedside_control(true, t);
    assert_eq!(s.state(), SafetyState::Hold);
    assert_eq!(
        reasons(&mut s).last(),
        Some(&(SafetyState::Hold, TransitionReason::BedsideTakeover))
    );
    let held = *s.setpoint();
    let mut now = t;
    for seq in 2..200 {
        now += TICK;
        assert_eq!(
            s.handle_command(&command(seq, now, nudged(0.002)), now),
            CommandVerdict::Dropped(DropReason::BedsideControl)
        );
        for request in [
            Request::Enable,
            Request::Disable,
            Request::Engage { from_seq: seq },
            Request::Disengage,
        ] {
            assert_eq!(
                s.handle_request(request, now),
                Err("the bedside team has control"),
                "{request:?}"
            );
        }
        assert_eq!(s.tick(now, &held), held);
    }
    // Stopping is always allowed.
    assert!(s.handle_request(Request::RemoteEstop, now).is_ok());
}

#[test]
fn handing_control_back_engages_nothing_and_opens_a_fresh_window() {
    let (mut s, t) = engaged();
    s.handle_command(&command(50, t, nudged(0.001)), t);
    s.set_bedside_control(true, t);
    s.set_bedside_control(false, t + ms(1));
    assert!(!s.bedside_control());
    assert_eq!(s.state(), SafetyState::Hold);
    let now = t + ms(2);
    assert_eq!(
        s.handle_command(&command(1, now, nudged(0.002)), now),
        CommandVerdict::Dropped(DropReason::NotEngaged),
        "a fresh window (seq 1 is not reordered) and no engagement"
    );
    s.handle_request(Request::Engage { from_seq: 2 }, now)
        .unwrap();
    assert_eq!(
        s.handle_command(&command(2, now, nudged(0.002)), now),
        CommandVerdict::Applied
    );
}

#[test]
fn an_offered_handover_holds_an_engaged_arm() {
    let (mut s, t) = engaged();
    s.hold(TransitionReason::ControlHandover, t);
    assert_eq!(s.state(), SafetyState::Hold);
    assert_eq!(
        reasons(&mut s).last(),
        Some(&(SafetyState::Hold, TransitionReason::ControlHandover))
    );
}
