//! Property tests: random command streams, requests, console sessions coming and going, servo
//! stalls and tick timings (network and station faults of every kind) never make the supervisor
//! apply an unsafe command, as judged by the independent auditor.

use proptest::prelude::*;
use safety::*;
use std::time::Duration;

const HOME: Joints = [0.0, 0.0, 0.12, 0.0, 0.0, 0.0];

#[derive(Debug, Clone)]
enum Step {
    /// A command: its sequence number, true age in µs (negative = stamped in the future), how
    /// much older the station's bound of its age is (µs), joint offsets, whether clock sync is
    /// known.
    Command {
        seq: Seq,
        age_us: i64,
        bound_slack_us: u32,
        offsets: [f64; 6],
        synced: bool,
    },
    Request(Request),
    /// Time passes by this many µs, then a tick.
    Tick(u32),
    /// The servo keeps ticking every millisecond, this many times, and no command arrives.
    Silence(u8),
    /// Time passes by this many µs with no tick (a stall when long), then a request.
    Stall(u32, Request),
    /// A new console session; its sequence numbers start again from this one.
    BeginSession(u64),
    EndSession,
}

#[derive(Debug, Clone, Copy)]
enum Seq {
    /// This far behind the stream's counter (late or duplicate when > 0).
    Back(u8),
    /// A forged or corrupted one, this far ahead of the counter.
    Ahead(u64),
    Max,
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        4 => Just(Request::Enable),
        6 => (0u64..400).prop_map(|from_seq| Request::Engage { from_seq }),
        1 => Just(Request::Disengage),
        1 => Just(Request::Disable),
        1 => Just(Request::RemoteEstop),
        1 => Just(Request::LocalEstop),
        1 => Just(Request::LocalEstopClear),
        1 => Just(Request::LocalFaultClear),
    ]
}

fn seq() -> impl Strategy<Value = Seq> {
    prop_oneof![
        40 => (0u8..4).prop_map(Seq::Back),
        1 => (0u64..300_000).prop_map(Seq::Ahead),
        1 => Just(Seq::Max),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        20 => (seq(), -10_000i64..200_000, prop_oneof![Just(0u32), 0u32..30_000], prop::array::uniform6(-0.3..0.3f64), prop::bool::weighted(0.97))
            .prop_map(|(seq, age_us, bound_slack_us, offsets, synced)| Step::Command { seq, age_us, bound_slack_us, offsets, synced }),
        2 => request().prop_map(Step::Request),
        20 => prop_oneof![18 => 0u32..3_000, 2 => 4_000u32..7_000, 1 => 0u32..3_000_000].prop_map(Step::Tick),
        1 => (4_000u32..1_000_000, request()).prop_map(|(gap, r)| Step::Stall(gap, r)),
        1 => (0u8..120).prop_map(Step::Silence),
        1 => prop_oneof![Just(1u64), 0u64..1_000, any::<u64>()].prop_map(Step::BeginSession),
        1 => Just(Step::EndSession),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn no_unsafe_command_is_ever_applied(steps in prop::collection::vec(step(), 1..600)) {
        let config = SupervisorConfig::default();
        let mut supervisor = Supervisor::new(config.clone(), HOME, Duration::ZERO);
        let mut auditor = Auditor::new(config.clone());
        let mut now = Duration::from_millis(1);
        let mut next_seq = 1u64;
        let mut measured = HOME;
        let mut last_valid_or_engage = now;
        let mut last_tick: Option<Duration> = None;
        for step in steps {
            match step {
                Step::Command { seq, age_us, bound_slack_us, offsets, synced } => {
                    let seq = match seq {
                        Seq::Back(back) => next_seq.saturating_sub(back as u64),
                        Seq::Ahead(ahead) => next_seq.saturating_add(ahead),
                        Seq::Max => u64::MAX,
                    };
                    next_seq = next_seq.saturating_add(1);
                    let issued = if age_us >= 0 {
                        now.checked_sub(Duration::from_micros(age_us as u64))
                    } else {
                        Some(now + Duration::from_micros((-age_us) as u64))
                    };
                    // The station judges by an upper bound of the age; the auditor gets the truth.
                    let bound = issued.and_then(|at| at.checked_sub(Duration::from_micros(bound_slack_us as u64)));
                    let mut joints = HOME;
                    for i in 0..6 {
                        joints[i] += offsets[i];
                    }
                    let tip = [0.0, 0.0, -(joints[2] - 0.02)];
                    let cmd = Command { seq, issued_at: if synced { bound } else { None }, joints, tip_position_m: tip };
                    let verdict = supervisor.handle_command(&cmd, now);
                    // A stall noticed by the command reaches the auditor before its verdict.
                    feed_transitions(&mut supervisor, &mut auditor);
                    if verdict == CommandVerdict::Applied {
                        prop_assert!(seq != u64::MAX, "a sequence number at the end of the range was applied");
                        let true_age = issued.map(|at| now.saturating_sub(at));
                        auditor.on_applied(seq, true_age, supervisor.state(), &joints, &tip);
                        last_valid_or_engage = now;
                    }
                }
                Step::Request(request) => {
                    if supervisor.handle_request(request, now).is_ok() && matches!(request, Request::Engage { .. }) {
                        last_valid_or_engage = now;
                    }
                    feed_transitions(&mut supervisor, &mut auditor);
                }
                Step::Stall(gap_us, request) => {
                    let was = supervisor.state();
                    now += Duration::from_micros(gap_us as u64);
                    let stalled = last_tick.is_some_and(|t| now - t > config.max_servo_gap);
                    let granted = supervisor.handle_request(request, now).is_ok();
                    let log: Vec<_> = std::iter::from_fn(|| supervisor.poll_transition()).collect();
                    if stalled {
                        if was == SafetyState::Engaged {
                            prop_assert_eq!(log.first().map(|t| t.reason), Some(TransitionReason::ServoStall), "{:?}", log);
                        }
                        prop_assert!(!(granted && matches!(request, Request::Engage { .. })), "engaged during a stall");
                    }
                    if granted && matches!(request, Request::Engage { .. }) {
                        last_valid_or_engage = now;
                    }
                    for t in log {
                        auditor.on_transition(t.to);
                    }
                }
                Step::BeginSession(first_seq) => {
                    supervisor.begin_session(now);
                    prop_assert_ne!(supervisor.state(), SafetyState::Engaged, "a new session stayed ENGAGED");
                    prop_assert_eq!(supervisor.last_applied_seq(), None);
                    next_seq = first_seq;
                    feed_transitions(&mut supervisor, &mut auditor);
                }
                Step::EndSession => {
                    supervisor.end_session(now);
                    prop_assert_ne!(supervisor.state(), SafetyState::Engaged, "an ended session stayed ENGAGED");
                    feed_transitions(&mut supervisor, &mut auditor);
                }
                Step::Tick(dt_us) => {
                    let before = supervisor.state();
                    now += Duration::from_micros(dt_us as u64);
                    measured = supervisor.tick(now, &measured);
                    last_tick = Some(now);
                    feed_transitions(&mut supervisor, &mut auditor);
                    auditor.on_setpoint(now, &measured, supervisor.state());
                    if before == SafetyState::Engaged && now - last_valid_or_engage > config.survival_time {
                        prop_assert_ne!(supervisor.state(), SafetyState::Engaged, "still ENGAGED after the survival time");
                    }
                }
                Step::Silence(ticks) => {
                    for _ in 0..ticks {
                        let before = supervisor.state();
                        now += Duration::from_millis(1);
                        measured = supervisor.tick(now, &measured);
                        last_tick = Some(now);
                        feed_transitions(&mut supervisor, &mut auditor);
                        auditor.on_setpoint(now, &measured, supervisor.state());
                        if before == SafetyState::Engaged && now - last_valid_or_engage > config.survival_time {
                            prop_assert_ne!(supervisor.state(), SafetyState::Engaged, "still ENGAGED after the survival time");
                        }
                    }
                }
            }
        }
        prop_assert_eq!(auditor.violations(), 0, "{:?}", auditor.first_violation());
    }
}

fn feed_transitions(supervisor: &mut Supervisor, auditor: &mut Auditor) {
    while let Some(transition) = supervisor.poll_transition() {
        auditor.on_transition(transition.to);
    }
}

/// The auditor is not a rubber stamp: it flags each kind of violation it is shown.
#[test]
fn the_auditor_flags_unsafe_applications() {
    let config = SupervisorConfig::default();
    let tip = [0.0, 0.0, -0.1];
    let mut a = Auditor::new(config.clone());
    a.on_applied(
        1,
        Some(Duration::from_millis(1)),
        SafetyState::Hold,
        &HOME,
        &tip,
    );
    assert_eq!(a.violations(), 1, "applied outside ENGAGED");
    a.on_applied(
        1,
        Some(Duration::from_millis(1)),
        SafetyState::Engaged,
        &HOME,
        &tip,
    );
    assert_eq!(a.violations(), 2, "duplicate seq");
    a.on_applied(
        2,
        Some(config.max_command_age),
        SafetyState::Engaged,
        &HOME,
        &tip,
    );
    assert_eq!(a.violations(), 3, "stale");
    let mut beyond = HOME;
    beyond[0] = 2.0;
    a.on_applied(3, Some(Duration::ZERO), SafetyState::Engaged, &beyond, &tip);
    assert_eq!(a.violations(), 4, "joint limit");
    a.on_setpoint(Duration::from_millis(1), &HOME, SafetyState::Hold);
    let mut moved = HOME;
    moved[1] = 0.01;
    a.on_setpoint(Duration::from_millis(2), &moved, SafetyState::Hold);
    assert!(a.violations() >= 6, "moved in HOLD and too fast");
}

#[test]
fn the_auditor_checks_acceleration_within_an_engagement_only() {
    let config = SupervisorConfig::default();
    let step = config.max_velocity[0] * 0.0005;
    let mut moving = HOME;
    moving[0] += step;
    let mut stopped_abruptly = Auditor::new(config.clone());
    stopped_abruptly.on_setpoint(Duration::from_micros(1000), &HOME, SafetyState::Engaged);
    stopped_abruptly.on_setpoint(Duration::from_micros(2000), &moving, SafetyState::Engaged);
    let before = stopped_abruptly.violations();
    stopped_abruptly.on_setpoint(Duration::from_micros(2001), &moving, SafetyState::Engaged);
    assert_eq!(
        stopped_abruptly.violations(),
        before + 1,
        "a stop within one engagement"
    );

    let mut re_engaged = Auditor::new(config);
    re_engaged.on_setpoint(Duration::from_micros(1000), &HOME, SafetyState::Engaged);
    re_engaged.on_setpoint(Duration::from_micros(2000), &moving, SafetyState::Engaged);
    let before = re_engaged.violations();
    re_engaged.on_transition(SafetyState::Ready);
    re_engaged.on_transition(SafetyState::Engaged);
    re_engaged.on_setpoint(Duration::from_micros(2001), &moving, SafetyState::Engaged);
    assert_eq!(
        re_engaged.violations(),
        before,
        "leaving ENGAGED stops the setpoint by design"
    );
}

#[test]
fn the_auditor_flags_an_arm_engaged_at_the_tick_after_a_servo_stall() {
    let config = SupervisorConfig::default();
    let gap = config.max_servo_gap;
    let mut a = Auditor::new(config);
    let t = Duration::from_millis(1);
    a.on_setpoint(t, &HOME, SafetyState::Engaged);
    a.on_setpoint(t + gap, &HOME, SafetyState::Engaged);
    assert_eq!(a.violations(), 0, "a gap at the limit is no stall");
    a.on_transition(SafetyState::Hold);
    a.on_transition(SafetyState::Engaged);
    a.on_setpoint(
        t + gap * 2 + Duration::from_micros(1),
        &HOME,
        SafetyState::Engaged,
    );
    assert_eq!(a.violations(), 1, "engaged during the stall");
}

#[test]
fn the_auditor_restarts_sequence_numbers_with_each_engagement_only() {
    let config = SupervisorConfig::default();
    let tip = [0.0, 0.0, -0.1];
    let young = Some(Duration::from_millis(1));
    let mut a = Auditor::new(config);
    a.on_applied(100, young, SafetyState::Engaged, &HOME, &tip);
    a.on_applied(1, young, SafetyState::Engaged, &HOME, &tip);
    assert_eq!(a.violations(), 1, "went back within an engagement");
    a.on_transition(SafetyState::Hold);
    a.on_transition(SafetyState::Engaged);
    a.on_applied(1, young, SafetyState::Engaged, &HOME, &tip);
    assert_eq!(a.violations(), 1, "a new session's engagement starts again");
}
