//! Loading a policy file: the worked example loads and decides as its comments say; unknown
//! keys, bad dates and bad codes are refused naming the line; cross-field problems are all
//! reported, each naming its key; omitted keys take their documented defaults.

use super::tests_decide::BASE;
use super::*;
use crate::identity::{Identity, Role};

const EXAMPLE: &str = include_str!("../../../../examples/site-policy.toml");

fn syntax_error(text: &str) -> String {
    match Policy::from_toml(text) {
        Err(PolicyError::Syntax(message)) => message,
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

fn problems(text: &str) -> Vec<String> {
    match Policy::from_toml(text) {
        Err(PolicyError::Invalid(problems)) => problems,
        other => panic!("expected validation problems, got {other:?}"),
    }
}

fn surgeon(name: &str) -> Identity {
    Identity::simulated(name, Role::Surgeon)
}

#[test]
fn the_worked_cross_border_example_admits_the_hk_surgeon_and_refuses_the_swedish_one() {
    let policy = Policy::from_toml(EXAMPLE).unwrap();
    assert_eq!(policy.site().jurisdiction.as_str(), "CN");
    let now = policy.midday_on("2026-05-01".parse().unwrap());
    let present = ConsentState::Present;
    let chan = policy.decide(&surgeon("Dr Chan Ka-ming"), Device::Arm, now, &present);
    assert!(chan.may_operate(), "{}", chan.summary());
    assert!(chan.explanation.contains("HK licence M12345"));
    let berg = policy.decide(&surgeon("Dr Anna Berg"), Device::Arm, now, &present);
    assert_eq!(berg.rule, Some(Rule::LicenceNotRecognised));
    let norbu = policy.decide(&surgeon("Dr Tenzin Norbu"), Device::Hifu, now, &present);
    assert!(norbu.may_operate(), "{}", norbu.summary());
    let warnings = policy.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("Dr Anna Berg"));
}

#[test]
fn an_unknown_key_is_refused_naming_it_and_its_line() {
    let text = BASE.replace(
        "utc_offset = \"+08:00\"",
        "utc_offset = \"+08:00\"\ncolour = \"red\"",
    );
    let message = syntax_error(&text);
    assert!(message.contains("unknown field `colour`"), "{message}");
    assert!(message.contains("line 8"), "{message}");
    let message = syntax_error(&format!("{BASE}[bedsides]\nconfirm_first_engage = true\n"));
    assert!(message.contains("unknown field `bedsides`"), "{message}");
    let text = BASE.replace(
        "number = \"M12345\"",
        "number = \"M12345\"\nissued = 2020-01-01",
    );
    let message = syntax_error(&text);
    assert!(message.contains("unknown field `issued`"), "{message}");
}

#[test]
fn a_bad_date_is_refused_naming_its_line() {
    for (bad, says) in [
        ("expires = 2027-02-30", "value is out of range"),
        (
            "expires = \"31/03/2027\"",
            "not a date: expected YYYY-MM-DD",
        ),
        (
            "expires = 2027-03-31T00:00:00Z",
            "expected a date like 2027-06-30",
        ),
        (
            "expires = 20270331",
            "expected a date like 2027-06-30, found a integer",
        ),
    ] {
        let message = syntax_error(&BASE.replace("expires = 2027-03-31", bad));
        assert!(message.contains(says), "{bad}: {message}");
        assert!(message.contains("line 26"), "{bad}: {message}");
    }
    // A quoted date is a date too.
    let quoted = BASE.replace("expires = 2027-03-31", "expires = \"2027-03-31\"");
    assert!(Policy::from_toml(&quoted).is_ok());
}

#[test]
fn bad_codes_devices_offsets_serials_and_digests_are_refused_where_written() {
    for (from, to, says) in [
        (
            "jurisdiction = \"HK\"",
            "jurisdiction = \"hk\"",
            "not a jurisdiction code",
        ),
        (
            "devices = [\"arm\"]",
            "devices = [\"laser\"]",
            "unknown variant `laser`",
        ),
        ("\"+08:00\"", "\"+8\"", "not a UTC offset"),
        ("\"+08:00\"", "\"+15:00\"", "not a UTC offset on Earth"),
        ("\"0A:1B\"", "\"0x1B\"", "not a certificate serial"),
        ("sha256 = \"9f86", "sha256 = \"zz86", "not a SHA-256 digest"),
        (
            "credentialed_until = 2027-06-30\n",
            "",
            "missing field `credentialed_until`",
        ),
        ("[site]", "[place]", "unknown field `place`"),
    ] {
        assert!(BASE.contains(from), "{from}");
        let message = syntax_error(&BASE.replacen(from, to, 1));
        assert!(message.contains(says), "{to}: {message}");
    }
}

#[test]
fn cross_field_problems_are_all_reported_each_naming_its_key() {
    let text = format!(
        "{}{}",
        BASE.replace(
            "recognised_licences = [\"CN\", \"HK\"]",
            "recognised_licences = []"
        )
        .replace(
            "devices = [\"arm\", \"hifu\"]",
            "devices = [\"arm\", \"arm\"]"
        ),
        "\n[[surgeon]]\nname = \"Dr Li Wei\"\ncredentialed_until = 2027-01-01\ndevices = [\"hifu\"]\n"
    );
    let found = problems(&text);
    for expected in [
        "site.devices: arm is listed twice",
        "site.recognised_licences: empty",
        "surgeon[2] (\"Dr Li Wei\"): listed twice",
        "surgeon[2] (\"Dr Li Wei\").devices: hifu is not hosted by this site",
        "surgeon[2] (\"Dr Li Wei\"): no [[surgeon.licence]]",
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "{expected} in {found:#?}"
        );
    }
    assert_eq!(found.len(), 5, "{found:#?}");
    let message = PolicyError::Invalid(found).to_string();
    assert!(
        message.starts_with("the policy is not valid:\n  - "),
        "{message}"
    );
}

#[test]
fn a_required_consent_needs_a_record_and_consent_is_required_unless_said_otherwise() {
    let (consent_at, bedside_at) = (BASE.find("[consent]"), BASE.find("[bedside]"));
    let without_consent = format!(
        "{}{}",
        &BASE[..consent_at.unwrap()],
        &BASE[bedside_at.unwrap()..]
    );
    let found = problems(&without_consent);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].starts_with("consent.record: the site requires a recorded consent"));
    let opted_out =
        without_consent.replace("[bedside]", "[consent]\nrequired = false\n\n[bedside]");
    let policy = Policy::from_toml(&opted_out).unwrap();
    assert!(!policy.consent().required);
}

#[test]
fn omitted_keys_take_their_documented_defaults() {
    let text = "[site]\nname = \"Clinic\"\njurisdiction = \"GB\"\ndevices = [\"arm\"]\n\
                [consent]\nrequired = false\n";
    let policy = Policy::from_toml(text).unwrap();
    assert_eq!(
        policy.site().recognised(),
        vec![policy.site().jurisdiction.clone()]
    );
    assert_eq!(policy.site().utc_offset.to_string(), "+00:00");
    assert!(policy.bedside().confirm_first_engage);
    assert!(policy.surgeons().is_empty());
    assert_eq!(policy.warnings().len(), 1);
}

#[test]
fn text_that_is_not_toml_is_a_syntax_error() {
    for text in ["", "[site", "site = 3", "\u{0}"] {
        assert!(
            matches!(Policy::from_toml(text), Err(PolicyError::Syntax(_))),
            "{text:?}"
        );
    }
}
