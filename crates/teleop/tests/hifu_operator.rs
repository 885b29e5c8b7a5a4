//! The console's HIFU operator: it sends the plan, runs the accepted spots in order with their
//! cooling, waits for the operator after a safety stop (ack, then resume), finishes when the last
//! spot is delivered even if the station's word of the end is lost, and with the plan's closed
//! loop ends a spot when its cell has the target dose and holds the next until it has cooled.

use hifu::closed_loop::ClosedLoopSettings;
use hifu::device::ThermometryFrame;
mod common;

use common::hifu_plans;
use hifu::plan::{Plan, PlannerSettings};
use std::time::Duration;
use teleop::hifu::operator::{HifuOperator, OperatorCommand, OperatorStep};
use teleop::hifu::{HifuNews, HifuRequest, PlanLimits, plan_digest, validate_plan};

fn plan(spots: usize, closed_loop: Option<ClosedLoopSettings>) -> Plan {
    let planner = PlannerSettings {
        closed_loop,
        ..PlannerSettings::default()
    };
    hifu_plans::plan_with(vec![hifu_plans::spot(100.0, 10.0); spots], planner)
}

fn s(v: u64) -> Duration {
    Duration::from_secs(v)
}

/// The operator past the plan's acceptance, with the device ready.
fn ready(operator: &mut HifuOperator, p: &Plan) {
    assert_eq!(operator.poll(s(0)), Some(OperatorStep::SendPlan));
    let preview = validate_plan(p, p, &PlanLimits::default(), &Default::default()).unwrap();
    operator.on_news(&HifuNews::PlanAccepted(Box::new(preview)), s(0));
    let digest = plan_digest(p);
    operator.on_news(&HifuNews::DeviceReady { digest }, s(0));
}

fn request(step: Option<OperatorStep>) -> Option<HifuRequest> {
    match step {
        Some(OperatorStep::Request { request, .. }) => Some(request),
        _ => None,
    }
}

fn started(spot: usize, time_s: f64) -> HifuNews {
    HifuNews::SpotStarted {
        spot,
        power_w: 100.0,
        duration_s: 10.0,
        time_s,
    }
}

fn ended(spot: usize, delivered_s: f64, complete: bool) -> HifuNews {
    HifuNews::SpotEnded {
        spot,
        delivered_s,
        complete,
        time_s: 0.0,
    }
}

#[test]
fn spots_run_in_order_with_their_cooling_and_the_last_one_ends_the_procedure() {
    let p = plan(2, None);
    let mut operator = HifuOperator::new(p.clone());
    ready(&mut operator, &p);
    assert_eq!(
        request(operator.poll(s(1))),
        Some(HifuRequest::Start { spot: 0 })
    );
    assert_eq!(operator.poll(s(1)), None, "one start at a time");
    operator.on_news(&started(0, 0.0), s(1));
    operator.on_news(&ended(0, 10.0, true), s(11));
    assert_eq!(operator.poll(s(12)), None, "cooling for 2 s");
    assert_eq!(
        request(operator.poll(s(13))),
        Some(HifuRequest::Start { spot: 1 })
    );
    operator.on_news(&started(1, 12.0), s(13));
    operator.on_news(&ended(1, 10.0, true), s(23));
    assert!(
        matches!(operator.outcome(), Some(Ok(_))),
        "done without the station's Ended"
    );
}

#[test]
fn after_a_safety_stop_the_operator_must_acknowledge_and_resume() {
    let p = plan(2, None);
    let mut operator = HifuOperator::new(p.clone());
    ready(&mut operator, &p);
    operator.poll(s(1));
    operator.on_news(&started(0, 0.0), s(1));
    operator.on_news(&ended(0, 3.0, false), s(4));
    let stop = HifuNews::Beam {
        state: "stopped".into(),
        rule: Some("oar_temperature".into()),
        reason: Some("bowel 45.2 °C".into()),
        time_s: 3.0,
    };
    operator.on_news(&stop, s(4));
    assert_eq!(operator.poll(s(30)), None, "nothing starts by itself");
    assert!(
        operator
            .status()
            .last_stop
            .unwrap()
            .contains("oar_temperature")
    );
    operator.on_command(OperatorCommand::Acknowledge);
    operator.on_command(OperatorCommand::Resume);
    assert_eq!(
        request(operator.poll(s(31))),
        Some(HifuRequest::Acknowledge)
    );
    assert_eq!(request(operator.poll(s(31))), Some(HifuRequest::Resume));
}

fn frame(dose: f32, hottest_c: f32) -> ThermometryFrame {
    ThermometryFrame {
        time_s: 4.0,
        slice_z: 5,
        dims: [9, 9],
        spacing_m: 1e-3,
        temperature_c: vec![hottest_c; 81],
        dose_cem43: vec![dose; 81],
        focal_temperature_c: 60.0,
        oar_max_temp_c: 37.0,
        sonicating_spot: Some(0),
    }
}

#[test]
fn the_closed_loop_completes_a_spot_at_its_target_dose_and_waits_for_the_next_to_cool() {
    let settings = ClosedLoopSettings {
        max_wait_s: 1_000.0,
        ..ClosedLoopSettings::default()
    };
    let p = plan(2, Some(settings));
    let mut operator =
        HifuOperator::new(p.clone()).with_closed_loop(vec![[4, 4, 5], [5, 4, 5]], 1.0);
    ready(&mut operator, &p);
    operator.poll(s(1));
    operator.on_news(&started(0, 0.0), s(1));
    operator.on_frame(frame(10.0, 60.0));
    assert_eq!(operator.poll(s(2)), None, "below the target dose");
    operator.on_frame(frame(300.0, 60.0));
    assert_eq!(request(operator.poll(s(3))), Some(HifuRequest::Complete));
    operator.on_news(&ended(0, 4.0, true), s(4));
    operator.on_frame(frame(300.0, 50.0));
    assert_eq!(
        operator.poll(s(10)),
        None,
        "the next spot's neighbourhood is still hot"
    );
    operator.on_frame(frame(300.0, 40.0));
    assert_eq!(
        request(operator.poll(s(11))),
        Some(HifuRequest::Start { spot: 1 })
    );
}
