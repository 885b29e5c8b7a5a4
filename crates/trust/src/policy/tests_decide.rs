//! Each admission rule refuses on its own (every test passes all other rules, so it fails if its
//! rule is removed), the rules run in their documented order, and watchers only watch.

use super::*;
use crate::identity::{Identity, Role};

/// A station in Nagqu (CN, UTC+8) that recognises HK licences; one HK-licensed surgeon.
pub(super) const BASE: &str = r#"
[site]
name = "Nagqu People's Hospital"
jurisdiction = "CN"
recognised_licences = ["CN", "HK"]
devices = ["arm", "hifu"]
utc_offset = "+08:00"

[consent]
required = true
record = "consent/patient-0042.txt"
sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

[bedside]
confirm_first_engage = true

[[surgeon]]
name = "Dr Li Wei"
serial = "0A:1B"
credentialed_until = 2027-06-30
devices = ["arm"]

[[surgeon.licence]]
jurisdiction = "HK"
number = "M12345"
expires = 2027-03-31
"#;

/// A surgeon licensed in Sweden only, which the site does not recognise.
const UNRECOGNISED: &str = r#"
[[surgeon]]
name = "Dr Anna Berg"
credentialed_until = 2027-06-30
devices = ["arm", "hifu"]

[[surgeon.licence]]
jurisdiction = "SE"
number = "SE-998877"
expires = 2028-01-31
"#;

fn policy(text: &str) -> Policy {
    match Policy::from_toml(text) {
        Ok(policy) => policy,
        Err(e) => panic!("{e}"),
    }
}

fn base() -> Policy {
    policy(&format!("{BASE}{UNRECOGNISED}"))
}

fn date(text: &str) -> Date {
    text.parse().unwrap()
}

/// Noon at the site on `day`.
fn on(policy: &Policy, day: &str) -> i64 {
    policy.midday_on(date(day))
}

fn person(name: &str, role: Role) -> Identity {
    Identity {
        name: name.into(),
        role,
        serial: "0a1b".into(),
        not_before: date("2026-01-01").unix_seconds_at_midnight_utc(),
        not_after: date("2030-01-01").unix_seconds_at_midnight_utc(),
    }
}

fn li_wei() -> Identity {
    person("Dr Li Wei", Role::Surgeon)
}

const TODAY: &str = "2026-05-01";

fn decide_with(policy: &Policy, who: &Identity, device: Device, day: &str) -> Decision {
    policy.decide(who, device, on(policy, day), &ConsentState::Present)
}

/// Asserts `decision` is a refusal by `rule`, and returns its explanation.
fn refused_by(decision: &Decision, rule: Rule) -> String {
    assert_eq!(decision.access, Access::Refused, "{}", decision.summary());
    assert_eq!(decision.rule, Some(rule), "{}", decision.summary());
    assert!(!decision.bedside_confirmation_required);
    let last = decision.steps.last().expect("a refusal records its step");
    assert_eq!((last.rule, last.passed), (rule, false));
    decision.explanation.clone()
}

#[test]
fn a_credentialed_recognised_surgeon_is_admitted_after_every_rule_in_order() {
    let policy = base();
    let decision = decide_with(&policy, &li_wei(), Device::Arm, TODAY);
    assert_eq!(decision.access, Access::Operate, "{}", decision.summary());
    assert_eq!(decision.rule, None);
    assert!(decision.bedside_confirmation_required);
    assert_eq!(decision.today, date(TODAY));
    let checked: Vec<Rule> = decision.steps.iter().map(|step| step.rule).collect();
    assert_eq!(checked, Rule::ORDER);
    assert!(decision.steps.iter().all(|step| step.passed));
    let summary = decision.summary();
    assert!(
        summary.starts_with("ADMITTED to operate the arm: Dr Li Wei"),
        "{summary}"
    );
    for part in [
        "Nagqu People's Hospital (CN)",
        "HK licence M12345",
        "2027-03-31",
        "2027-06-30",
    ] {
        assert!(summary.contains(part), "{part} in {summary}");
    }
}

#[test]
fn the_bedside_confirmation_follows_the_policy() {
    let text = BASE.replace(
        "confirm_first_engage = true",
        "confirm_first_engage = false",
    );
    let decision = decide_with(&policy(&text), &li_wei(), Device::Arm, TODAY);
    assert!(decision.may_operate());
    assert!(!decision.bedside_confirmation_required);
}

#[test]
fn role_not_console_refuses_stations_devices_and_unknown_roles() {
    let policy = base();
    for role in [
        Role::Station,
        Role::HifuDevice,
        Role::Other("anaesthetist".into()),
    ] {
        let decision = decide_with(
            &policy,
            &person("Dr Li Wei", role.clone()),
            Device::Arm,
            TODAY,
        );
        let why = refused_by(&decision, Rule::RoleNotConsole);
        assert!(why.contains(&format!("a {role} certificate")), "{why}");
    }
}

#[test]
fn certificate_not_yet_valid_refuses() {
    let policy = base();
    let mut early = li_wei();
    early.not_before = on(&policy, "2026-05-02");
    let why = refused_by(
        &decide_with(&policy, &early, Device::Arm, TODAY),
        Rule::CertificateNotYetValid,
    );
    assert!(why.contains("not valid before 2026-05-02"), "{why}");
}

#[test]
fn certificate_expired_refuses() {
    let policy = base();
    let mut late = li_wei();
    late.not_after = on(&policy, "2026-04-30");
    let why = refused_by(
        &decide_with(&policy, &late, Device::Arm, TODAY),
        Rule::CertificateExpired,
    );
    assert!(why.contains("expired on 2026-04-30"), "{why}");
}

#[test]
fn observers_and_bedside_watch_without_being_listed_and_never_operate() {
    let policy = base();
    for role in [Role::Observer, Role::Bedside] {
        let decision = decide_with(
            &policy,
            &person("Nurse Dawa", role.clone()),
            Device::Arm,
            TODAY,
        );
        assert_eq!(decision.access, Access::Watch, "{}", decision.summary());
        assert!(decision.admitted() && !decision.may_operate());
        assert_eq!(decision.rule, Some(Rule::RoleMayNotOperate));
        assert_eq!(
            decision.explanation,
            format!("watch only: role {role} does not operate")
        );
        assert!(!decision.bedside_confirmation_required);
    }
    // Listed as a surgeon by name does not let an observer certificate operate.
    let decision = decide_with(
        &policy,
        &person("Dr Li Wei", Role::Observer),
        Device::Arm,
        TODAY,
    );
    assert_eq!(decision.access, Access::Watch);
}

#[test]
fn device_not_hosted_refuses() {
    let text = BASE.replace(r#"devices = ["arm", "hifu"]"#, r#"devices = ["arm"]"#);
    let policy = policy(&text);
    let why = refused_by(
        &decide_with(&policy, &li_wei(), Device::Hifu, TODAY),
        Rule::DeviceNotHosted,
    );
    assert!(
        why.contains("hosts arm only; the hifu was requested"),
        "{why}"
    );
}

#[test]
fn surgeon_not_credentialed_refuses() {
    let policy = base();
    let stranger = person("Dr Zhang San", Role::Surgeon);
    let why = refused_by(
        &decide_with(&policy, &stranger, Device::Arm, TODAY),
        Rule::SurgeonNotCredentialed,
    );
    assert!(
        why.contains("Dr Zhang San is not credentialed at Nagqu"),
        "{why}"
    );
}

#[test]
fn pinned_serial_mismatch_refuses_and_serials_compare_as_numbers() {
    let policy = base();
    let mut other_cert = li_wei();
    other_cert.serial = "0c".into();
    let why = refused_by(
        &decide_with(&policy, &other_cert, Device::Arm, TODAY),
        Rule::PinnedSerialMismatch,
    );
    assert!(why.contains("pinned to certificate serial 0a1b"), "{why}");
    let mut same_cert = li_wei();
    same_cert.serial = "00:0A:1b".into();
    assert_eq!(Serial::normalise("a1b").unwrap().as_str(), "0a1b");
    assert_eq!(Serial::normalise("00").unwrap().as_str(), "00");
    assert!(decide_with(&policy, &same_cert, Device::Arm, TODAY).may_operate());
}

#[test]
fn credential_expired_refuses() {
    let text = BASE.replace(
        "credentialed_until = 2027-06-30",
        "credentialed_until = 2026-04-30",
    );
    let why = refused_by(
        &decide_with(&policy(&text), &li_wei(), Device::Arm, TODAY),
        Rule::CredentialExpired,
    );
    assert!(
        why.contains("ended on 2026-04-30 (today at the site is 2026-05-01)"),
        "{why}"
    );
}

#[test]
fn device_not_permitted_refuses() {
    let why = refused_by(
        &decide_with(&base(), &li_wei(), Device::Hifu, TODAY),
        Rule::DeviceNotPermitted,
    );
    assert!(why.contains("for arm only, not the hifu"), "{why}");
}

#[test]
fn licence_not_recognised_refuses_a_licence_from_elsewhere() {
    let berg = person("Dr Anna Berg", Role::Surgeon);
    let why = refused_by(
        &decide_with(&base(), &berg, Device::Arm, TODAY),
        Rule::LicenceNotRecognised,
    );
    assert!(why.contains("(SE SE-998877) are not recognised"), "{why}");
    assert!(why.contains("recognises CN, HK only"), "{why}");
}

#[test]
fn licence_expired_refuses_and_names_the_licence_and_date() {
    let why = refused_by(
        &decide_with(&base(), &li_wei(), Device::Arm, "2027-04-01"),
        Rule::LicenceExpired,
    );
    assert_eq!(
        why,
        "Dr Li Wei's HK licence M12345 expired on 2027-03-31 (today at the site is 2027-04-01)"
    );
}

#[test]
fn a_licence_is_valid_through_its_last_day_at_the_site_local_time() {
    let policy = base();
    let consent = ConsentState::Present;
    // 2027-03-31 15:59:59 UTC is 23:59:59 in Nagqu (UTC+8): the last second of the last day.
    let last_second = date("2027-03-31").unix_seconds_at_midnight_utc() + 16 * 3600 - 1;
    assert!(
        policy
            .decide(&li_wei(), Device::Arm, last_second, &consent)
            .may_operate()
    );
    let decision = policy.decide(&li_wei(), Device::Arm, last_second + 1, &consent);
    assert_eq!(decision.rule, Some(Rule::LicenceExpired));
}

#[test]
fn a_valid_recognised_licence_admits_beside_an_expired_one() {
    let text = format!(
        "{BASE}\n[[surgeon.licence]]\njurisdiction = \"CN\"\nnumber = \"110-778\"\nexpires = 2026-01-31\n"
    );
    let decision = decide_with(&policy(&text), &li_wei(), Device::Arm, "2027-02-01");
    assert!(decision.may_operate(), "{}", decision.summary());
    assert!(decision.explanation.contains("HK licence M12345"));
}

#[test]
fn consent_missing_refuses_when_required() {
    let policy = base();
    let now = on(&policy, TODAY);
    let missing = ConsentState::Missing {
        reason: "consent/patient-0042.txt: No such file or directory".into(),
    };
    let why = refused_by(
        &policy.decide(&li_wei(), Device::Arm, now, &missing),
        Rule::ConsentMissing,
    );
    assert!(
        why.contains("required and missing: consent/patient-0042.txt"),
        "{why}"
    );
    let unchecked = policy.decide(&li_wei(), Device::Arm, now, &ConsentState::NotChecked);
    refused_by(&unchecked, Rule::ConsentMissing);
}

#[test]
fn consent_is_not_looked_for_where_the_site_requires_none() {
    let text = BASE.replace("required = true", "required = false");
    let policy = policy(&text);
    let now = on(&policy, TODAY);
    for state in [
        ConsentState::NotChecked,
        ConsentState::Missing { reason: "x".into() },
    ] {
        assert!(
            policy
                .decide(&li_wei(), Device::Arm, now, &state)
                .may_operate()
        );
    }
}

#[test]
fn consent_record_mismatch_refuses() {
    let policy = base();
    let mismatch = ConsentState::Mismatch {
        expected: "9f86".into(),
        found: "60303".into(),
    };
    let decision = policy.decide(&li_wei(), Device::Arm, on(&policy, TODAY), &mismatch);
    let why = refused_by(&decision, Rule::ConsentRecordMismatch);
    assert!(why.contains("may be another patient's"), "{why}");
}

#[test]
fn the_first_failing_rule_in_order_decides() {
    let policy = base();
    // Wrong device, expired licence, no consent: the device rule comes first.
    let missing = ConsentState::Missing {
        reason: "gone".into(),
    };
    let decision = policy.decide(&li_wei(), Device::Hifu, on(&policy, "2027-05-01"), &missing);
    refused_by(&decision, Rule::DeviceNotPermitted);
    let checked: Vec<Rule> = decision.steps.iter().map(|step| step.rule).collect();
    assert_eq!(checked, Rule::ORDER[..checked.len()]);
    assert!(decision.steps[..checked.len() - 1].iter().all(|s| s.passed));
    // Fix the device: the licence is next.
    let decision = policy.decide(&li_wei(), Device::Arm, on(&policy, "2027-05-01"), &missing);
    refused_by(&decision, Rule::LicenceExpired);
}

#[test]
fn rule_names_are_unique_and_parse_back() {
    for (i, rule) in Rule::ORDER.iter().enumerate() {
        assert_eq!(Rule::parse(rule.name()), Some(*rule));
        assert!(!Rule::ORDER[..i].iter().any(|r| r.name() == rule.name()));
    }
    assert_eq!(
        serde_json::to_string(&Rule::LicenceExpired).unwrap(),
        "\"licence.expired\""
    );
}
