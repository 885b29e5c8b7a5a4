//! The remote HIFU procedure at the station core: a plan is accepted only for the station's own
//! patient model and within its limits, never edited in flight; only the console in control may
//! start or resume spots, always naming the accepted plan; pausing and stopping are open to any
//! operator; a safety stop must be acknowledged before the spot resumes; the controller's clock
//! echoes renew the beam's dead-man's switch, an observer's do not; the bedside e-stop switches
//! the beam off; every request is audited with its actor.

mod common;

use common::hifu_plans::{plan, spot};
use common::ward::*;
use hifu::device::DeviceCommand;
use hifu::plan::{MediumSource, Plan};
use hifu::scenario::FibroidScenario;
use proto::{ClockPong, Datagram};
use std::time::Duration;
use teleop::hifu::procedure::HifuStationConfig;
use teleop::hifu::{BulkMessage, DeviceOrder, DeviceReport, HifuNews, HifuRequest, PlanLimits};
use teleop::station::peers::Admission;
use teleop::{LocalRequest, SessionEvent, StationInput, StationSessionConfig};
use trust::{AuditAction, Identity, Role as TrustRole};

fn station() -> Ward {
    let config = StationSessionConfig {
        hifu: Some(HifuStationConfig {
            reference: Box::new(plan(vec![spot(100.0, 10.0)])),
            plan_limits: PlanLimits {
                max_power_w: 300.0,
                max_on_s: 30.0,
                max_spots: 10,
                energy_budget_j: Some(20_000.0),
            },
            device_limits: Default::default(),
        }),
        ..StationSessionConfig::default()
    };
    let mut ward = Ward::new(config);
    ward.connect_operator(A, "Dr A");
    ward
}

impl Ward {
    fn send_plan(&mut self, peer: u64, plan: &Plan) {
        let message = BulkMessage::Plan(Box::new(plan.clone()));
        self.input(StationInput::Bulk { peer, message });
    }

    fn report(&mut self, report: DeviceReport) {
        self.input(StationInput::HifuDevice { report });
    }

    fn hifu(&mut self, peer: u64, digest: &str, request: HifuRequest) {
        let digest = digest.to_string();
        self.event(peer, SessionEvent::HifuRequest { digest, request });
    }

    /// News every console was told since the last call.
    fn take_news(&mut self) -> Vec<HifuNews> {
        std::mem::take(&mut self.events)
            .into_iter()
            .filter_map(|(_, e)| match e {
                SessionEvent::Hifu(news) => Some(news),
                _ => None,
            })
            .collect()
    }

    fn take_commands(&mut self) -> Vec<DeviceCommand> {
        std::mem::take(&mut self.device_orders)
            .into_iter()
            .filter_map(|o| match o {
                DeviceOrder::Command(c) => Some(c),
                DeviceOrder::Load { .. } => None,
            })
            .collect()
    }

    /// Sends `plan` from A and brings the device up; the plan's digest.
    fn ready(&mut self, plan: &Plan) -> String {
        self.send_plan(A, plan);
        let digest = teleop::hifu::plan_digest(plan);
        self.report(DeviceReport::Loaded {
            digest: digest.clone(),
        });
        self.take_news();
        self.device_orders.clear();
        digest
    }

    /// Starts `spot` and has the device report the beam on at `time_s`.
    fn start(&mut self, digest: &str, spot: usize, time_s: f64) {
        self.hifu(A, digest, HifuRequest::Start { spot });
        assert!(matches!(
            self.take_commands()[..],
            [DeviceCommand::Sonicate { spot: s, .. }] if s == spot
        ));
        self.beam("on", None, time_s);
    }

    fn beam(&mut self, state: &str, rule: Option<&str>, time_s: f64) {
        self.report(DeviceReport::Beam {
            state: state.into(),
            rule: rule.map(String::from),
            reason: rule.map(|r| format!("{r} (test)")),
            time_s,
        });
    }
}

fn sonicate(spot: usize, power_w: f64, duration_s: f64) -> DeviceCommand {
    DeviceCommand::Sonicate {
        spot,
        power_w,
        duration_s,
    }
}

#[test]
fn a_plan_for_the_station_model_within_its_limits_is_accepted_and_loaded() {
    let mut ward = station();
    let p = plan(vec![spot(200.0, 10.0), spot(250.0, 20.0)]);
    ward.send_plan(A, &p);
    let news = ward.take_news();
    let Some(HifuNews::PlanAccepted(preview)) = news.first() else {
        panic!("no acceptance: {news:?}");
    };
    assert_eq!(preview.digest, teleop::hifu::plan_digest(&p));
    assert_eq!(preview.energy_j, 200.0 * 10.0 + 250.0 * 20.0);
    assert_eq!(preview.beam_on_s, 30.0);
    assert!(matches!(&ward.device_orders[..], [DeviceOrder::Load { plan, .. }] if **plan == p));
    assert_eq!(ward.audited(AuditAction::Request, "hifu_plan").len(), 1);
}

#[test]
fn a_plan_for_another_patient_model_or_beyond_the_limits_is_refused_and_never_loaded() {
    let other_model = Plan {
        medium: MediumSource::Fibroid(FibroidScenario {
            fat_mm: 5.0,
            ..FibroidScenario::default()
        }),
        ..plan(vec![spot(100.0, 5.0)])
    };
    let cases = [
        (other_model, "patient model"),
        (plan(vec![spot(350.0, 5.0)]), "power"),
        (plan(vec![spot(100.0, 45.0)]), "sonication"),
        (plan(vec![spot(290.0, 30.0); 3]), "budget"),
        (plan(vec![spot(10.0, 1.0); 11]), "spots"),
        (plan(vec![]), "no spots"),
    ];
    for (p, why) in cases {
        let mut ward = station();
        ward.send_plan(A, &p);
        let news = ward.take_news();
        assert!(
            matches!(&news[..], [HifuNews::PlanRefused { reason, .. }] if reason.contains(why)),
            "{why}: {news:?}"
        );
        assert!(ward.device_orders.is_empty(), "{why}: loaded");
    }
}

#[test]
fn a_plan_cannot_be_edited_in_flight_but_the_same_plan_is_answered_again() {
    let mut ward = station();
    let p = plan(vec![spot(100.0, 10.0), spot(100.0, 10.0)]);
    let digest = ward.ready(&p);
    ward.start(&digest, 0, 0.0);
    ward.take_news();
    let edited = plan(vec![spot(290.0, 10.0), spot(100.0, 10.0)]);
    ward.send_plan(A, &edited);
    let news = ward.take_news();
    assert!(
        matches!(&news[..], [HifuNews::PlanRefused { reason, .. }] if reason.contains("edited in flight")),
        "{news:?}"
    );
    assert!(ward.device_orders.is_empty());
    // A console that reconnects sends the same plan: the same answer, nothing reloaded.
    ward.send_plan(A, &p);
    let news = ward.take_news();
    assert!(matches!(news[0], HifuNews::PlanAccepted(_)), "{news:?}");
    assert!(matches!(news[1], HifuNews::DeviceReady { .. }), "{news:?}");
    assert!(ward.device_orders.is_empty());
    // After the operator stops the procedure a new plan may come.
    ward.hifu(A, &digest, HifuRequest::Stop);
    ward.take_news();
    ward.send_plan(A, &edited);
    assert!(matches!(ward.take_news()[0], HifuNews::PlanAccepted(_)));
}

#[test]
fn only_the_console_in_control_starts_a_spot_of_the_accepted_plan_once_the_device_is_ready() {
    let mut ward = station();
    let observer = Identity::simulated("Watcher", TrustRole::Observer);
    let admission = Admission::without_policy(&observer);
    ward.connect(OBSERVER, observer, admission);
    ward.connect_operator(B, "Dr B");
    let p = plan(vec![spot(100.0, 10.0)]);
    let digest = teleop::hifu::plan_digest(&p);
    ward.send_plan(A, &p);
    ward.device_orders.clear();
    ward.hifu(A, &digest, HifuRequest::Start { spot: 0 });
    assert!(ward.take_refusals(Some(A))[0].contains("being prepared"));
    ward.report(DeviceReport::Loaded {
        digest: digest.clone(),
    });
    ward.hifu(OBSERVER, &digest, HifuRequest::Start { spot: 0 });
    assert!(ward.take_refusals(Some(OBSERVER))[0].contains("watch but not operate"));
    ward.hifu(B, &digest, HifuRequest::Start { spot: 0 });
    assert_eq!(
        ward.take_refusals(Some(B)).len(),
        1,
        "B does not hold control"
    );
    ward.hifu(A, "0123456789abcdef", HifuRequest::Start { spot: 0 });
    assert!(ward.take_refusals(Some(A))[0].contains("the station holds plan"));
    ward.hifu(A, &digest, HifuRequest::Start { spot: 3 });
    assert!(ward.take_refusals(Some(A))[0].contains("has 1 spots"));
    assert!(
        ward.take_commands().is_empty(),
        "nothing reached the device"
    );
    ward.hifu(A, &digest, HifuRequest::Start { spot: 0 });
    assert_eq!(ward.take_commands(), [sonicate(0, 100.0, 10.0)]);
    let refused = ward.audited(AuditAction::Request, "hifu_start");
    assert_eq!(refused.len(), 6);
    assert_eq!(refused[1].actor.as_ref().unwrap().name, "Watcher");
}

#[test]
fn a_paused_spot_resumes_for_its_remaining_time_and_a_delivered_one_is_not_repeated() {
    let mut ward = station();
    let p = plan(vec![spot(100.0, 10.0), spot(120.0, 8.0)]);
    let digest = ward.ready(&p);
    ward.start(&digest, 0, 1.0);
    // Pausing is open to any operator, like an e-stop.
    ward.connect_operator(B, "Dr B");
    ward.hifu(B, &digest, HifuRequest::Pause);
    assert_eq!(ward.take_commands(), [DeviceCommand::Stop]);
    ward.beam("off", None, 4.0);
    ward.report(DeviceReport::SonicationDone {
        spot: 0,
        time_s: 4.0,
    });
    ward.hifu(A, &digest, HifuRequest::Start { spot: 1 });
    assert!(ward.take_refusals(Some(A))[0].contains("interrupted"));
    ward.hifu(A, &digest, HifuRequest::Resume);
    assert_eq!(ward.take_commands(), [sonicate(0, 100.0, 7.0)]);
    ward.beam("on", None, 5.0);
    ward.report(DeviceReport::SonicationDone {
        spot: 0,
        time_s: 12.0,
    });
    let news = ward.take_news();
    assert!(news.iter().any(|n| matches!(n, HifuNews::SpotEnded { spot: 0, complete: true, delivered_s, .. } if (*delivered_s - 10.0).abs() < 1e-9)), "{news:?}");
    ward.hifu(A, &digest, HifuRequest::Start { spot: 0 });
    assert!(ward.take_refusals(Some(A))[0].contains("delivered"));
    ward.start(&digest, 1, 14.0);
    ward.report(DeviceReport::SonicationDone {
        spot: 1,
        time_s: 22.0,
    });
    let news = ward.take_news();
    assert!(
        news.iter().any(|n| matches!(
            n,
            HifuNews::Ended {
                spots_complete: 2,
                ..
            }
        )),
        "{news:?}"
    );
}

#[test]
fn after_a_safety_stop_the_spot_resumes_only_once_the_operator_has_acknowledged_it() {
    let mut ward = station();
    let p = plan(vec![spot(100.0, 10.0)]);
    let digest = ward.ready(&p);
    ward.start(&digest, 0, 0.0);
    ward.report(DeviceReport::SonicationDone {
        spot: 0,
        time_s: 3.0,
    });
    ward.beam("stopped", Some("oar_temperature"), 3.0);
    ward.take_commands();
    ward.hifu(A, &digest, HifuRequest::Resume);
    assert!(ward.take_refusals(Some(A))[0].contains("not been acknowledged"));
    assert!(ward.take_commands().is_empty());
    ward.hifu(A, &digest, HifuRequest::Acknowledge);
    assert_eq!(ward.take_commands(), [DeviceCommand::Acknowledge]);
    ward.hifu(A, &digest, HifuRequest::Resume);
    assert_eq!(ward.take_commands(), [sonicate(0, 100.0, 7.0)]);
    let stops = ward.audited(AuditAction::Transition, "hifu_beam");
    assert!(stops.iter().any(|r| r.outcome.contains("oar_temperature")));
}

#[test]
fn the_controllers_clock_echoes_renew_the_dead_mans_switch_an_observers_do_not() {
    let mut ward = station();
    let observer = Identity::simulated("Watcher", TrustRole::Observer);
    let admission = Admission::without_policy(&observer);
    ward.connect(OBSERVER, observer, admission);
    let digest = ward.ready(&plan(vec![spot(100.0, 10.0)]));
    assert!(!digest.is_empty());
    let pong = |peer| StationInput::Datagram {
        peer,
        datagram: Datagram::Pong(ClockPong::default()),
        received_at: Duration::ZERO,
    };
    ward.input(pong(OBSERVER));
    assert!(ward.take_commands().is_empty());
    ward.input(pong(A));
    assert_eq!(ward.take_commands(), [DeviceCommand::Heartbeat]);
}

#[test]
fn the_bedside_estop_switches_the_beam_off() {
    let mut ward = station();
    let digest = ward.ready(&plan(vec![spot(100.0, 10.0)]));
    ward.start(&digest, 0, 0.0);
    ward.take_commands();
    ward.input(StationInput::Local {
        request: LocalRequest::Estop,
    });
    assert_eq!(ward.take_commands(), [DeviceCommand::Stop]);
}

#[test]
fn a_station_without_a_hifu_device_refuses_plans_and_requests() {
    let mut ward = Ward::new(StationSessionConfig::default());
    ward.connect_operator(A, "Dr A");
    ward.send_plan(A, &plan(vec![spot(100.0, 10.0)]));
    ward.hifu(A, "0", HifuRequest::Start { spot: 0 });
    let refusals = ward.take_refusals(Some(A));
    assert_eq!(refusals.len(), 2);
    assert!(refusals.iter().all(|r| r.contains("no HIFU device")));
    assert!(ward.device_orders.is_empty());
}

#[test]
fn a_console_sending_a_thermometry_frame_is_closed() {
    let mut ward = station();
    let frame = hifu::device::ThermometryFrame {
        time_s: 0.0,
        slice_z: 0,
        dims: [1, 1],
        spacing_m: 1e-3,
        temperature_c: vec![37.0],
        dose_cem43: vec![0.0],
        focal_temperature_c: 37.0,
        oar_max_temp_c: 37.0,
        sonicating_spot: None,
    };
    let message = BulkMessage::Thermometry(Box::new(frame));
    ward.input(StationInput::Bulk { peer: A, message });
    assert_eq!(ward.closed.len(), 1);
}

#[test]
fn a_spot_the_closed_loop_completes_early_counts_as_delivered() {
    let mut ward = station();
    let p = plan(vec![spot(100.0, 10.0), spot(100.0, 10.0)]);
    let digest = ward.ready(&p);
    ward.hifu(A, &digest, HifuRequest::Complete);
    assert!(ward.take_refusals(Some(A))[0].contains("no spot is sonicating"));
    ward.start(&digest, 0, 0.0);
    ward.take_news();
    ward.hifu(A, &digest, HifuRequest::Complete);
    assert_eq!(ward.take_commands(), [DeviceCommand::Stop]);
    ward.beam("off", None, 6.0);
    ward.report(DeviceReport::SonicationDone {
        spot: 0,
        time_s: 6.0,
    });
    let news = ward.take_news();
    assert!(
        news.iter().any(|n| matches!(n, HifuNews::SpotEnded { spot: 0, complete: true, delivered_s, .. } if (*delivered_s - 6.0).abs() < 1e-9)),
        "{news:?}"
    );
    ward.hifu(A, &digest, HifuRequest::Resume);
    assert!(ward.take_refusals(Some(A))[0].contains("no spot is paused"));
    ward.hifu(A, &digest, HifuRequest::Start { spot: 0 });
    assert!(ward.take_refusals(Some(A))[0].contains("delivered"));
}
