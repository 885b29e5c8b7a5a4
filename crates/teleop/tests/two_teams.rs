//! Who may operate and who has control, at the station core: roles and admission on connect and on
//! every request, control passing between two consoles only by offer and accept (the arm holding
//! meanwhile), the bedside team taking over and handing back, the bedside confirmation the site
//! policy can require, and an audit record for each step.

mod common;

use common::ward::*;
use proto::SupervisorStateCode;
use teleop::station::peers::Admission;
use teleop::{LocalRequest, SessionEvent, StationInput, StationSessionConfig};
use trust::{AuditAction, Identity, Role as TrustRole};

/// A station with surgeon A connected, enabled and engaged, following A's commands.
fn engaged_with_a() -> Ward {
    let mut ward = Ward::new(StationSessionConfig::default());
    ward.connect_operator(A, "Dr A");
    ward.event(A, SessionEvent::Enable);
    ward.run(100, &[A]);
    ward.engage(A);
    ward.run(50, &[A]);
    assert_eq!(ward.state(), SupervisorStateCode::Engaged);
    ward
}

#[test]
fn an_observer_watches_the_state_stream_but_cannot_engage_or_command() {
    let mut ward = engaged_with_a();
    let observer = Identity::simulated("Student", TrustRole::Observer);
    let admission = Admission::without_policy(&observer);
    ward.connect(OBSERVER, observer, admission);
    ward.events.clear();
    ward.run(20, &[A, OBSERVER]);
    let before = ward.setpoint();
    ward.nudge();
    for request in [
        SessionEvent::Enable,
        SessionEvent::Engage { from_seq: 1 },
        SessionEvent::Disengage,
        SessionEvent::EstopRequest,
        SessionEvent::OfferControl { to: "Dr A".into() },
    ] {
        ward.event(OBSERVER, request);
    }
    let refusals = ward.take_refusals(Some(OBSERVER));
    assert_eq!(refusals.len(), 5, "{refusals:?}");
    assert!(refusals.iter().all(|r| r.contains("watch but not operate")));
    ward.verdicts.clear();
    ward.run(20, &[OBSERVER]);
    assert!(ward.verdicts.iter().all(|v| v == "not_in_control"));
    assert_eq!(
        ward.setpoint(),
        before,
        "the observer's commands moved nothing"
    );
    assert_eq!(ward.state(), SupervisorStateCode::Engaged);
    let report = ward.station.report(ward.now, true);
    assert_eq!(report.commands_dropped.get("not_in_control"), Some(&40));
    let refused = ward.audited(AuditAction::Request, "engage");
    assert!(
        refused
            .iter()
            .any(|r| r.actor.as_ref().is_some_and(|a| a.name == "Student")
                && r.outcome.starts_with("refused"))
    );
}

#[test]
fn a_station_certificate_or_a_refused_admission_never_becomes_a_console() {
    let mut ward = Ward::new(StationSessionConfig::default());
    let station = Identity::simulated("Other station", TrustRole::Station);
    let admission = Admission::without_policy(&station);
    ward.connect(A, station, admission);
    assert_eq!(ward.closed.len(), 1);
    assert!(
        ward.closed[0].1.contains("role.not_console"),
        "{:?}",
        ward.closed
    );
    let refused = Admission::refused(
        "licence.expired",
        "Dr B's HK licence expired on 2026-03-31".into(),
    );
    ward.connect(B, surgeon("Dr B"), refused);
    assert_eq!(ward.closed[1].0, B);
    assert!(
        ward.closed[1].1.contains("licence.expired"),
        "{:?}",
        ward.closed
    );
    // Neither joined: their events are ignored, and nothing was granted.
    ward.event(B, SessionEvent::Enable);
    assert_eq!(ward.state(), SupervisorStateCode::Disabled);
    let admissions = ward.audited(AuditAction::Admission, "console");
    assert_eq!(admissions.len(), 2);
    assert!(admissions.iter().all(|r| r.outcome.starts_with("refused")));
}

#[test]
fn control_passes_between_consoles_by_offer_and_accept_with_the_arm_in_hold() {
    let mut ward = engaged_with_a();
    ward.connect_operator(B, "Dr B");
    ward.run(20, &[A, B]);
    assert!(ward.station.control().is_controller(A));
    // B cannot take control, and its requests are refused while A holds it.
    ward.event(B, SessionEvent::AcceptControl);
    ward.engage(B);
    let refusals = ward.take_refusals(Some(B));
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    ward.event(A, SessionEvent::OfferControl { to: "Dr B".into() });
    assert_eq!(
        ward.state(),
        SupervisorStateCode::Hold,
        "the arm holds during the switch"
    );
    let held = ward.setpoint();
    ward.nudge();
    ward.run(20, &[A, B]);
    assert_eq!(
        ward.setpoint(),
        held,
        "nothing moves while the offer is pending"
    );
    ward.engage(A);
    assert!(
        ward.take_refusals(Some(A))
            .iter()
            .any(|r| r.contains("offer is pending"))
    );
    ward.event(B, SessionEvent::AcceptControl);
    assert!(ward.station.control().is_controller(B));
    ward.run(20, &[A, B]);
    assert_eq!(
        ward.setpoint(),
        held,
        "nothing moves before the new holder engages"
    );
    ward.engage(A);
    assert!(
        ward.take_refusals(Some(A))
            .iter()
            .any(|r| r.contains("does not have control"))
    );
    ward.engage(B);
    ward.run(200, &[A, B]);
    assert_eq!(ward.state(), SupervisorStateCode::Engaged);
    assert_ne!(ward.setpoint(), held, "B's commands move the arm");
    let steps: Vec<_> = ward
        .audited(AuditAction::Control, "")
        .iter()
        .map(|r| r.subject.clone())
        .collect();
    assert!(
        steps.contains(&"offered -> Dr B (surgeon)".to_string()),
        "{steps:?}"
    );
    assert!(
        steps.contains(&"accepted -> Dr A (surgeon)".to_string()),
        "{steps:?}"
    );
}

#[test]
fn a_declined_offer_leaves_control_with_the_offerer_who_must_engage_again() {
    let mut ward = engaged_with_a();
    ward.connect_operator(B, "Dr B");
    ward.event(A, SessionEvent::OfferControl { to: "Dr B".into() });
    ward.event(B, SessionEvent::DeclineControl);
    assert!(ward.station.control().is_controller(A));
    assert_eq!(ward.state(), SupervisorStateCode::Hold);
    ward.engage(A);
    ward.run(10, &[A]);
    assert_eq!(ward.state(), SupervisorStateCode::Engaged);
}

#[test]
fn the_offering_console_dropping_mid_way_lapses_the_offer() {
    let mut ward = engaged_with_a();
    ward.connect_operator(B, "Dr B");
    ward.event(A, SessionEvent::OfferControl { to: "Dr B".into() });
    ward.input(StationInput::Disconnected { peer: A });
    ward.events.clear();
    ward.event(B, SessionEvent::AcceptControl);
    assert!(!ward.station.control().is_controller(B));
    assert!(!ward.take_refusals(Some(B)).is_empty());
    let held = ward.setpoint();
    ward.nudge();
    ward.engage(B);
    ward.run(50, &[B]);
    assert_eq!(ward.setpoint(), held);
    assert_eq!(ward.state(), SupervisorStateCode::Hold);
    // A's certificate reconnecting holds control again, and must engage.
    ward.connect_operator(10, "Dr A");
    assert!(ward.station.control().is_controller(10));
}

#[test]
fn while_the_bedside_team_has_control_no_remote_command_moves_the_arm() {
    let mut ward = engaged_with_a();
    ward.local(LocalRequest::TakeOver);
    assert_eq!(ward.state(), SupervisorStateCode::Hold);
    let held = ward.setpoint();
    ward.nudge();
    ward.verdicts.clear();
    ward.engage(A);
    ward.event(A, SessionEvent::Enable);
    ward.event(A, SessionEvent::Disengage);
    ward.run(300, &[A]);
    assert_eq!(ward.setpoint(), held);
    assert!(
        ward.verdicts.iter().all(|v| v == "bedside_control"),
        "{:?}",
        &ward.verdicts[..3]
    );
    let refusals = ward.take_refusals(Some(A));
    for request in ["engage", "enable", "disengage"] {
        assert!(
            refusals.contains(&format!("{request}: the bedside team has control")),
            "{refusals:?}"
        );
    }
    // The hand-back must be accepted before anything moves; then the surgeon engages.
    ward.local(LocalRequest::HandBack { to: None });
    ward.run(20, &[A]);
    assert_eq!(ward.setpoint(), held, "not before the surgeon accepts");
    ward.event(A, SessionEvent::AcceptControl);
    ward.run(20, &[A]);
    assert_eq!(ward.setpoint(), held, "not before the surgeon engages");
    ward.engage(A);
    ward.run(200, &[A]);
    assert_eq!(ward.state(), SupervisorStateCode::Engaged);
    assert_ne!(ward.setpoint(), held);
    let steps = ward.control_steps();
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("taken_over by bedside team (bedside)")),
        "{steps:?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("hand_back_offered by bedside team")),
        "{steps:?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("handed_back by Dr A (surgeon)")),
        "{steps:?}"
    );
}

#[test]
fn a_site_policy_can_require_a_bedside_confirmation_before_the_first_engage() {
    let mut ward = Ward::new(StationSessionConfig::default());
    let identity = surgeon("Dr C");
    let admission = Admission {
        bedside_confirmation: true,
        ..Admission::without_policy(&identity)
    };
    ward.connect(A, identity, admission);
    ward.event(A, SessionEvent::Enable);
    ward.run(100, &[A]);
    ward.events.clear();
    ward.engage(A);
    assert!(
        ward.take_refusals(Some(A))
            .iter()
            .any(|r| r.contains("not confirmed"))
    );
    assert_eq!(ward.state(), SupervisorStateCode::Ready);
    ward.local(LocalRequest::Confirm);
    ward.engage(A);
    ward.run(10, &[A]);
    assert_eq!(ward.state(), SupervisorStateCode::Engaged);
    assert!(
        ward.control_steps()
            .iter()
            .any(|s| s.starts_with("bedside_confirmed by bedside team"))
    );
}

#[test]
fn every_admission_request_control_step_and_transition_is_audited_with_who() {
    let mut ward = engaged_with_a();
    ward.local(LocalRequest::TakeOver);
    ward.local(LocalRequest::Estop);
    for (action, subject) in [
        (AuditAction::Started, "station"),
        (AuditAction::Admission, "console"),
        (AuditAction::Request, "enable"),
        (AuditAction::Request, "engage"),
        (AuditAction::Control, "granted"),
        (AuditAction::Control, "taken_over"),
        (AuditAction::Request, "local_estop"),
        (AuditAction::Transition, "ENGAGED -> HOLD"),
        (AuditAction::Transition, "HOLD -> ESTOP"),
    ] {
        let found = ward.audited(action, subject);
        assert!(!found.is_empty(), "no {action:?} {subject}");
    }
    let engage = ward.audited(AuditAction::Request, "engage")[0];
    assert_eq!(engage.actor.as_ref().map(|a| a.name.as_str()), Some("Dr A"));
    let estop = ward.audited(AuditAction::Request, "local_estop")[0];
    assert_eq!(
        estop.actor.as_ref().map(|a| a.role.clone()),
        Some(TrustRole::Bedside)
    );
}

#[test]
fn bedside_and_operator_commands_parse_with_clear_errors() {
    use teleop::OperatorAction;
    assert_eq!(
        LocalRequest::parse("handback Dr Li Wei"),
        Ok(Some(LocalRequest::HandBack {
            to: Some("Dr Li Wei".into())
        }))
    );
    assert_eq!(
        LocalRequest::parse(" handback "),
        Ok(Some(LocalRequest::HandBack { to: None }))
    );
    assert_eq!(
        LocalRequest::parse("takeover"),
        Ok(Some(LocalRequest::TakeOver))
    );
    assert_eq!(LocalRequest::parse(""), Ok(None));
    assert!(
        LocalRequest::parse("launch")
            .unwrap_err()
            .contains("takeover")
    );
    assert!(LocalRequest::parse("estop now").is_err());
    assert_eq!(
        OperatorAction::parse("offer Dr B"),
        Ok(Some(OperatorAction::OfferControl { to: "Dr B".into() }))
    );
    assert!(OperatorAction::parse("offer").is_err());
    assert_eq!(
        OperatorAction::parse("accept"),
        Ok(Some(OperatorAction::AcceptControl))
    );
    assert!(
        OperatorAction::parse("jump")
            .unwrap_err()
            .contains("offer NAME")
    );
}

#[test]
fn a_console_flooding_the_station_with_requests_is_disconnected() {
    let mut ward = engaged_with_a();
    let observer = Identity::simulated("Flooder", TrustRole::Observer);
    let admission = Admission::without_policy(&observer);
    ward.connect(OBSERVER, observer, admission);
    let limit = teleop::station::peers::MAX_EVENTS_PER_SECOND;
    // A person's pace is fine, however long it goes on.
    for _ in 0..3 {
        for _ in 0..limit - 1 {
            ward.event(OBSERVER, SessionEvent::Enable);
        }
        ward.run(1_000, &[A]);
    }
    assert!(ward.closed.is_empty(), "{:?}", ward.closed);
    for _ in 0..=limit {
        ward.event(OBSERVER, SessionEvent::Enable);
    }
    assert_eq!(ward.closed.len(), 1);
    assert_eq!(ward.closed[0].0, OBSERVER);
    assert!(ward.closed[0].1.contains("more than 100 events"));
    let audited = ward
        .audited(AuditAction::Request, "enable")
        .iter()
        .filter(|r| r.actor.as_ref().is_some_and(|a| a.name == "Flooder"))
        .count() as u32;
    assert_eq!(
        audited,
        3 * (limit - 1) + limit,
        "every request before the cut is audited"
    );
    assert_eq!(
        ward.state(),
        SupervisorStateCode::Engaged,
        "the surgeon operates on"
    );
}

#[test]
fn a_full_station_refuses_a_ninth_console_but_not_a_reconnect() {
    let mut ward = engaged_with_a();
    let max = teleop::station::peers::MAX_CONSOLES as u64;
    for peer in 2..=max {
        let watcher = Identity::simulated(&format!("Watcher {peer}"), TrustRole::Observer);
        let admission = Admission::without_policy(&watcher);
        ward.connect(peer, watcher, admission);
    }
    assert!(ward.closed.is_empty(), "{:?}", ward.closed);
    let ninth = Identity::simulated("Ninth", TrustRole::Observer);
    let admission = Admission::without_policy(&ninth);
    ward.connect(max + 1, ninth, admission);
    assert_eq!(ward.closed.last().map(|c| c.0), Some(max + 1));
    assert!(ward.closed.last().unwrap().1.contains("no more consoles"));
    // The surgeon's certificate reconnecting replaces its old connection and keeps control.
    ward.connect_operator(max + 2, "Dr A");
    assert_eq!(
        ward.closed.last().map(|c| c.0),
        Some(A),
        "the old connection is closed"
    );
    assert!(ward.station.control().is_controller(max + 2));
}

#[test]
fn only_the_console_in_control_paces_the_camera() {
    let mut ward = engaged_with_a();
    ward.connect_operator(B, "Dr B");
    ward.run(20, &[A]);
    ward.event(B, SessionEvent::VideoPacing { shift_us: 4_000 });
    ward.event(A, SessionEvent::VideoPacing { shift_us: -2_500 });
    assert_eq!(
        ward.capture_shifts,
        vec![-2_500],
        "B watches; A holds control"
    );
    assert!(ward.closed.is_empty(), "pacing is no reason to close");
    assert_eq!(ward.state(), SupervisorStateCode::Engaged);
}
