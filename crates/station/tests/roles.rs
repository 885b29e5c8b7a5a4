//! Roles and admission through the real station and console over QUIC: a surgeon operates while an
//! observer certificate from `pki issue` connects, watches the state stream and has its requests
//! refused; a station applying a site policy refuses a surgeon by the policy's rule; every step is
//! handed to the audit sink.

use console::{ConsoleConfig, Controls};
use link::pki::LeafRequest;
use station::{StationConfig, StationHandle};
use std::sync::{Arc, Mutex};
use teleop::{NoTap, OperatorAction};
use trust::{AuditAction, AuditRecord, AuditSink, Role};

#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Vec<AuditRecord>>>);

impl AuditSink for Collected {
    fn push(&self, record: AuditRecord) {
        if let Ok(mut records) = self.0.lock() {
            records.push(record);
        }
    }
}

fn no_tap<C>(_: &C) -> Result<NoTap, std::convert::Infallible> {
    Ok(NoTap)
}

fn issue(dir: &std::path::Path, role: Role, name: &str) -> String {
    let request = LeafRequest::valid_for_days(role, name, 30, link::pki::now_unix()).unwrap();
    let issued = link::pki::issue(dir, None, &request, dir, false).unwrap();
    issued
        .cert
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap()
        .to_string()
}

fn station(
    dir: &std::path::Path,
    policy: Option<std::path::PathBuf>,
    audit: &Collected,
) -> StationHandle {
    let config = StationConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        pki_dir: dir.to_owned(),
        record_dir: None,
        policy,
        ..StationConfig::default()
    };
    StationHandle::start(&config, Some(Box::new(audit.clone())), no_tap).unwrap()
}

fn console_config(
    dir: &std::path::Path,
    station: &StationHandle,
    certificate: &str,
    s: f64,
) -> ConsoleConfig {
    ConsoleConfig {
        station: station.local_addr(),
        pki_dir: dir.to_owned(),
        certificate: certificate.to_string(),
        duration_s: Some(s),
        record_dir: None,
        ..ConsoleConfig::default()
    }
}

#[test]
fn an_observer_connects_sees_the_state_and_its_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    link::pki::init(dir.path(), &["localhost".into()], false).unwrap();
    let observer = issue(dir.path(), Role::Observer, "Student Observer");
    let audit = Collected::default();
    let station = station(dir.path(), None, &audit);
    // The surgeon operates for 3 s; the observer joins and watches for 1.5 s of it.
    let surgeon_config = console_config(dir.path(), &station, "console", 3.0);
    let surgeon = std::thread::spawn(move || {
        console::run(&surgeon_config, Controls::default(), no_tap).unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(800));
    let (tx, rx) = std::sync::mpsc::channel();
    for action in [
        OperatorAction::Enable,
        OperatorAction::Engage,
        OperatorAction::AcceptControl,
        OperatorAction::Estop,
    ] {
        tx.send(action).unwrap();
    }
    let controls = Controls {
        actions: Some(rx),
        audit: None,
        hifu: None,
        thermometry: None,
        page: None,
    };
    let watched = console::run(
        &console_config(dir.path(), &station, &observer, 1.5),
        controls,
        no_tap,
    )
    .unwrap();
    let operated = surgeon.join().unwrap();
    station.shutdown();

    let admitted = watched.admitted.clone().unwrap_or_default();
    assert!(
        admitted.starts_with("Student Observer (observer), watch only"),
        "{admitted}"
    );
    assert!(
        watched.last_station_state.is_some(),
        "the observer saw the state stream"
    );
    for request in ["enable", "estop_request"] {
        assert!(
            watched
                .refused
                .iter()
                .any(|r| r.starts_with(request) && r.contains("may watch but not operate")),
            "{request}: {:?}",
            watched.refused
        );
    }
    assert!(watched.operator.commands_sent == 0);
    let station_report = operated.station.clone().unwrap();
    assert!(
        station_report.commands_applied > 1_000,
        "the surgeon operated throughout"
    );
    assert_eq!(station_report.unsafe_applied, 0);
    assert!(
        operated
            .control
            .iter()
            .any(|c| c.starts_with("granted: Demo Surgeon"))
    );

    let records = audit.0.lock().unwrap();
    let refused_enable = records.iter().any(|r| {
        r.action == AuditAction::Request
            && r.subject == "enable"
            && r.actor
                .as_ref()
                .is_some_and(|a| a.name == "Student Observer")
            && r.outcome.starts_with("refused")
    });
    assert!(
        refused_enable,
        "the observer's refused enable is audited by name"
    );
}

#[test]
fn a_station_with_a_site_policy_refuses_a_surgeon_it_does_not_credential_naming_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    link::pki::init(dir.path(), &["localhost".into()], false).unwrap();
    let stranger = issue(dir.path(), Role::Surgeon, "Dr Stranger");
    let policy = dir.path().join("site.toml");
    std::fs::write(
        &policy,
        r#"
[site]
name = "Test theatre"
jurisdiction = "CN"
recognised_licences = ["CN"]
devices = ["arm"]

[consent]
required = false

[bedside]
confirm_first_engage = false

[[surgeon]]
name = "Demo Surgeon"
credentialed_until = 2099-12-31
devices = ["arm"]
[[surgeon.licence]]
jurisdiction = "CN"
number = "T-1"
expires = 2099-12-31
"#,
    )
    .unwrap();
    let audit = Collected::default();
    let station = station(dir.path(), Some(policy), &audit);
    let refused = console::run(
        &console_config(dir.path(), &station, &stranger, 1.0),
        Controls::default(),
        no_tap,
    );
    station.shutdown();
    let error = match refused {
        Ok(report) => panic!("the console ran: {:?}", report.sessions),
        Err(e) => e.to_string(),
    };
    assert!(
        error.starts_with(
            "the station refused this console: refused by rule surgeon.not_credentialed"
        ),
        "{error}"
    );
    let records = audit.0.lock().unwrap();
    let admission = records
        .iter()
        .find(|r| r.action == AuditAction::Admission)
        .expect("the admission decision is audited");
    assert!(admission.outcome.starts_with("refused"), "{admission:?}");
    assert!(
        admission.outcome.contains("surgeon.not_credentialed"),
        "{}; console: {error}",
        admission.outcome
    );
}

#[test]
fn a_certificate_revoked_while_its_console_is_connected_is_dropped_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    link::pki::init(dir.path(), &["localhost".into()], false).unwrap();
    let audit = Collected::default();
    let station = station(dir.path(), None, &audit);
    let config = console_config(dir.path(), &station, "console", 8.0);
    let console = std::thread::spawn(move || console::run(&config, Controls::default(), no_tap));
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    link::pki::revoke(
        dir.path(),
        None,
        &dir.path().join("console.crt"),
        link::pki::RevocationReason::KeyCompromise,
        link::pki::now_unix(),
    )
    .unwrap();
    let result = console.join().unwrap();
    let report = station.shutdown();
    match result {
        Err(console::ConsoleError::Refused(reason)) => {
            assert!(reason.contains("certificate revoked"), "{reason}")
        }
        other => panic!("the console was not dropped: {other:?}"),
    }
    // Unrevoked, the console would have run its 8 s and ended with a bye, not a refusal.
    assert_eq!(report.unsafe_applied, 0);
    assert!(
        report
            .transitions
            .iter()
            .any(|t| t.reason == "the console session ended")
    );
    let records = audit.0.lock().unwrap();
    assert!(
        records
            .iter()
            .any(|r| r.action == AuditAction::Configuration
                && r.subject.starts_with("revocation list")
                && r.outcome.starts_with("reloaded")),
        "the reload is audited"
    );
}

#[test]
fn control_passes_between_two_surgeons_by_offer_and_accept_over_quic() {
    let dir = tempfile::tempdir().unwrap();
    link::pki::init(dir.path(), &["localhost".into()], false).unwrap();
    let second = issue(dir.path(), Role::Surgeon, "Dr B");
    let audit = Collected::default();
    let station = station(dir.path(), None, &audit);
    let (offer_tx, offer_rx) = std::sync::mpsc::channel();
    let first_config = console_config(dir.path(), &station, "console", 7.0);
    let first = std::thread::spawn(move || {
        let controls = Controls {
            actions: Some(offer_rx),
            audit: None,
            hifu: None,
            thermometry: None,
            page: None,
        };
        console::run(&first_config, controls, no_tap).unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let second_config = console_config(dir.path(), &station, &second, 4.0);
    let second = std::thread::spawn(move || {
        console::run(&second_config, Controls::default(), no_tap).unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(1_000));
    offer_tx
        .send(OperatorAction::OfferControl { to: "Dr B".into() })
        .unwrap();
    let (first, second) = (first.join().unwrap(), second.join().unwrap());
    let report = station.shutdown();

    assert!(
        first
            .control
            .iter()
            .any(|c| c == "offered: Demo Surgeon (surgeon) -> Dr B (surgeon)"),
        "{:?}",
        first.control
    );
    // Every console is told every step, with who took it.
    for console in [&first, &second] {
        assert!(
            console
                .control
                .iter()
                .any(|c| c == "accepted: Dr B (surgeon) -> Demo Surgeon (surgeon)"),
            "{:?}",
            console.control
        );
    }
    let applied_by_b = second.station.as_ref().map_or(0, |s| s.commands_applied);
    assert!(
        applied_by_b > 500,
        "Dr B operated after accepting: {applied_by_b}"
    );
    assert!(
        first
            .transitions_seen
            .iter()
            .any(|t| t.contains("control is being handed over")),
        "the arm held during the switch: {:?}",
        first.transitions_seen
    );
    assert_eq!(report.unsafe_applied, 0);
    let records = audit.0.lock().unwrap();
    let accepted = records.iter().any(|r| {
        r.action == AuditAction::Control
            && r.subject.starts_with("accepted")
            && r.actor.as_ref().is_some_and(|a| a.name == "Dr B")
    });
    assert!(accepted, "the acceptance is audited by name");
}
