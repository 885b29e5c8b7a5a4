//! Property tests: random command streams, requests and tick timings (network faults of every
//! kind) never make the supervisor apply an unsafe command, as judged by the independent auditor.

use proptest::prelude::*;
use safety::*;
use std::time::Duration;

const HOME: Joints = [0.0, 0.0, 0.12, 0.0, 0.0, 0.0];

#[derive(Debug, Clone)]
enum Step {
    /// A command: seq offset from the stream's counter (negative = late/duplicate), age in µs
    /// (negative = stamped in the future), joint offsets, whether clock sync is known.
    Command {
        seq_back: u8,
        age_us: i64,
        offsets: [f64; 6],
        synced: bool,
    },
    Request(Request),
    /// Time passes by this many µs, then a tick.
    Tick(u32),
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

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        20 => (0u8..4, -10_000i64..200_000, prop::array::uniform6(-0.3..0.3f64), prop::bool::weighted(0.97))
            .prop_map(|(seq_back, age_us, offsets, synced)| Step::Command { seq_back, age_us, offsets, synced }),
        2 => request().prop_map(Step::Request),
        20 => prop_oneof![9 => 0u32..3_000, 1 => 0u32..3_000_000].prop_map(Step::Tick),
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
        for step in steps {
            match step {
                Step::Command { seq_back, age_us, offsets, synced } => {
                    let seq = next_seq.saturating_sub(seq_back as u64);
                    next_seq += 1;
                    let issued = if age_us >= 0 {
                        now.checked_sub(Duration::from_micros(age_us as u64))
                    } else {
                        Some(now + Duration::from_micros((-age_us) as u64))
                    };
                    let mut joints = HOME;
                    for i in 0..6 {
                        joints[i] += offsets[i];
                    }
                    let tip = [0.0, 0.0, -(joints[2] - 0.02)];
                    let cmd = Command { seq, issued_at: if synced { issued } else { None }, joints, tip_position_m: tip };
                    let state = supervisor.state();
                    if supervisor.handle_command(&cmd, now) == CommandVerdict::Applied {
                        let age = cmd.issued_at.map(|at| now.saturating_sub(at));
                        auditor.on_applied(seq, age, state, &joints, &tip);
                        last_valid_or_engage = now;
                    }
                }
                Step::Request(request) => {
                    if supervisor.handle_request(request, now).is_ok() && matches!(request, Request::Engage { .. }) {
                        last_valid_or_engage = now;
                    }
                    while let Some(transition) = supervisor.poll_transition() {
                        auditor.on_transition(transition.to);
                    }
                }
                Step::Tick(dt_us) => {
                    let before = supervisor.state();
                    now += Duration::from_micros(dt_us as u64);
                    measured = supervisor.tick(now, &measured);
                    auditor.on_setpoint(now, &measured, supervisor.state());
                    if before == SafetyState::Engaged && now - last_valid_or_engage > config.survival_time {
                        prop_assert_ne!(supervisor.state(), SafetyState::Engaged, "still ENGAGED after the survival time");
                    }
                }
            }
        }
        prop_assert_eq!(auditor.violations(), 0, "{:?}", auditor.first_violation());
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
