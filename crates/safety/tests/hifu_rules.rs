//! One test per HIFU supervisor rule: removing the rule makes its test fail.

use safety::hifu::*;
use std::time::Duration;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

const BOWEL_OK: OarReading = OarReading {
    organ: "bowel",
    temp_c: 39.0,
    cem43: 0.1,
};
const SKIN_OK: OarReading = OarReading {
    organ: "skin",
    temp_c: 37.5,
    cem43: 0.0,
};

fn reading(oars: &[OarReading]) -> BeamReading<'_> {
    BeamReading {
        focal_temp_c: 70.0,
        oars,
        sonicated_s: 1.0,
        planned_s: 4.0,
        energy_j: 400.0,
    }
}

/// A supervisor with the beam on at 1 s, the operator's heartbeat fresh.
fn on(limits: HifuLimits) -> HifuSupervisor {
    let mut s = HifuSupervisor::new(limits, ms(1_000));
    s.request_on(0.0, &[], ms(1_000)).unwrap();
    assert!(s.beam_on());
    s
}

fn stopped_by(s: &HifuSupervisor) -> Option<&'static str> {
    match s.state() {
        BeamState::Stopped(stop) => Some(stop.name()),
        _ => None,
    }
}

#[test]
fn a_reading_within_every_limit_keeps_the_beam_on() {
    let mut s = on(HifuLimits::default());
    assert!(s.check(&reading(&[BOWEL_OK, SKIN_OK]), ms(1_100)));
    assert_eq!(s.state(), BeamState::On);
}

#[test]
fn any_organ_at_risk_over_its_temperature_limit_switches_the_beam_off() {
    let mut s = on(HifuLimits::default());
    let hot_skin = OarReading {
        temp_c: 45.2,
        ..SKIN_OK
    };
    assert!(!s.check(&reading(&[BOWEL_OK, hot_skin]), ms(1_100)));
    assert_eq!(stopped_by(&s), Some("oar_temperature"));
    match s.state() {
        BeamState::Stopped(BeamStop::OarTemperature { organ, .. }) => assert_eq!(organ, "skin"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn any_organ_at_risk_over_its_dose_limit_switches_the_beam_off() {
    let mut s = on(HifuLimits::default());
    let dosed = OarReading {
        cem43: 30.5,
        ..BOWEL_OK
    };
    assert!(!s.check(&reading(&[dosed]), ms(1_100)));
    assert_eq!(stopped_by(&s), Some("oar_dose"));
}

#[test]
fn an_unreadable_organ_temperature_switches_the_beam_off() {
    let mut s = on(HifuLimits::default());
    let nan = OarReading {
        temp_c: f32::NAN,
        ..BOWEL_OK
    };
    assert!(!s.check(&reading(&[nan]), ms(1_100)));
    assert_eq!(stopped_by(&s), Some("oar_temperature"));
}

#[test]
fn the_focus_over_its_ceiling_switches_the_beam_off() {
    let mut s = on(HifuLimits::default());
    let r = BeamReading {
        focal_temp_c: 90.5,
        ..reading(&[BOWEL_OK])
    };
    assert!(!s.check(&r, ms(1_100)));
    assert_eq!(stopped_by(&s), Some("focal_ceiling"));
}

#[test]
fn a_spot_past_its_planned_duration_switches_the_beam_off() {
    let mut s = on(HifuLimits::default());
    let on_time = BeamReading {
        sonicated_s: 4.04,
        ..reading(&[BOWEL_OK])
    };
    assert!(
        s.check(&on_time, ms(1_100)),
        "within one solver step of the plan"
    );
    let overdue = BeamReading {
        sonicated_s: 4.2,
        ..reading(&[BOWEL_OK])
    };
    assert!(!s.check(&overdue, ms(1_200)));
    assert_eq!(stopped_by(&s), Some("planned_duration_passed"));
}

#[test]
fn the_plan_past_its_energy_budget_switches_the_beam_off_and_refuses_the_next_spot() {
    let limits = HifuLimits {
        energy_budget_j: Some(1_000.0),
        ..HifuLimits::default()
    };
    let mut s = on(limits);
    let spent = BeamReading {
        energy_j: 1_000.5,
        ..reading(&[BOWEL_OK])
    };
    assert!(!s.check(&spent, ms(1_100)));
    assert_eq!(stopped_by(&s), Some("energy_budget"));
    s.acknowledge(ms(1_200)).unwrap();
    assert_eq!(s.request_on(1_000.5, &[], ms(1_200)), Err(REFUSED_BUDGET));
}

#[test]
fn a_silent_operator_switches_the_beam_off_after_the_survival_time_and_it_never_latches_on() {
    let mut s = on(HifuLimits::default());
    // Heartbeats keep it on...
    for t in (1_100..=2_000).step_by(100) {
        s.heartbeat(ms(t));
        assert!(s.tick(ms(t)));
    }
    assert_eq!(s.poll_timeout(), Some(ms(2_500)));
    // ...silence at the survival time does not yet, one tick after it does.
    assert!(s.tick(ms(2_500)));
    assert!(!s.tick(ms(2_501)));
    assert_eq!(stopped_by(&s), Some("heartbeat_lost"));
    // A heartbeat coming back does not switch it on again.
    s.heartbeat(ms(2_600));
    assert!(!s.tick(ms(2_600)));
    assert!(!s.beam_on());
}

#[test]
fn a_silent_operator_is_also_caught_by_the_step_reading() {
    let mut s = on(HifuLimits::default());
    assert!(!s.check(&reading(&[BOWEL_OK]), ms(1_501)));
    assert_eq!(stopped_by(&s), Some("heartbeat_lost"));
}

#[test]
fn the_beam_cannot_go_on_without_a_fresh_heartbeat() {
    let mut s = HifuSupervisor::new(HifuLimits::default(), ms(0));
    assert_eq!(s.request_on(0.0, &[], ms(600)), Err(REFUSED_SILENT));
    s.heartbeat(ms(600));
    assert_eq!(s.request_on(0.0, &[], ms(600)), Ok(()));
}

#[test]
fn a_stop_by_a_rule_latches_until_the_operator_acknowledges_it() {
    let mut s = on(HifuLimits::default());
    let r = BeamReading {
        focal_temp_c: 95.0,
        ..reading(&[BOWEL_OK])
    };
    s.check(&r, ms(1_100));
    s.heartbeat(ms(1_150));
    assert_eq!(s.request_on(0.0, &[], ms(1_150)), Err(REFUSED_LATCHED));
    // Readings within limits do not clear it either.
    assert!(!s.check(&reading(&[BOWEL_OK]), ms(1_160)));
    s.acknowledge(ms(1_200)).unwrap();
    assert_eq!(s.state(), BeamState::Off);
    assert_eq!(s.request_on(0.0, &[], ms(1_200)), Ok(()));
}

#[test]
fn the_operator_stop_and_the_end_of_input_switch_off_without_a_latch() {
    let mut s = on(HifuLimits::default());
    s.stop(BeamStop::InputEnded, ms(1_100));
    assert_eq!(s.state(), BeamState::Off);
    s.heartbeat(ms(1_100));
    s.request_on(0.0, &[], ms(1_100)).unwrap();
    s.stop(BeamStop::OperatorStop, ms(1_200));
    assert_eq!(s.state(), BeamState::Off);
}

#[test]
fn every_change_is_reported_with_its_time_and_reason() {
    let mut s = on(HifuLimits::default());
    let r = BeamReading {
        focal_temp_c: 95.0,
        ..reading(&[BOWEL_OK])
    };
    s.check(&r, ms(1_100));
    let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].state, BeamState::On);
    assert_eq!(events[1].at, ms(1_100));
    assert!(matches!(
        events[1].state,
        BeamState::Stopped(BeamStop::FocalCeiling { .. })
    ));
}

#[test]
fn without_an_expected_heartbeat_only_the_thermal_rules_apply() {
    let limits = HifuLimits {
        survival_time: None,
        ..HifuLimits::default()
    };
    let mut s = on(limits);
    assert!(s.tick(ms(600_000)));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn the_beam_never_goes_on_while_an_organ_at_risk_is_at_or_above_its_limit() {
    let mut s = HifuSupervisor::new(HifuLimits::default(), ms(1_000));
    let warm_bowel = OarReading {
        temp_c: 45.0,
        ..BOWEL_OK
    };
    assert_eq!(
        s.request_on(0.0, &[SKIN_OK, warm_bowel], ms(1_000)),
        Err(REFUSED_OAR)
    );
    let dosed_skin = OarReading {
        cem43: 30.0,
        ..SKIN_OK
    };
    assert_eq!(
        s.request_on(0.0, &[dosed_skin], ms(1_000)),
        Err(REFUSED_OAR)
    );
    let unreadable = OarReading {
        temp_c: f32::NAN,
        ..SKIN_OK
    };
    assert_eq!(
        s.request_on(0.0, &[unreadable], ms(1_000)),
        Err(REFUSED_OAR)
    );
    assert!(!s.beam_on());
    assert_eq!(s.request_on(0.0, &[SKIN_OK, BOWEL_OK], ms(1_000)), Ok(()));
}
