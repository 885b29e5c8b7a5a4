//! The station's admission edge on real files: the consent record is found relative to the
//! policy file and checked at every decision; a changed policy is picked up, and one that fails
//! to validate leaves the previous policy in force and is reported once.

use station::admission::{Admission, AdmissionError};
use std::fs;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};
use trust::policy::{Access, Device, Rule};
use trust::{Identity, Role};

const CONSENT: &[u8] = b"consent record placeholder\n";

fn policy(sha256: Option<&str>, surgeon_until: &str) -> String {
    let sha256 = sha256.map_or(String::new(), |s| format!("sha256 = \"{s}\"\n"));
    format!(
        r#"[site]
name = "Nagqu People's Hospital"
jurisdiction = "CN"
recognised_licences = ["CN", "HK"]
devices = ["arm"]
utc_offset = "+08:00"

[consent]
required = true
record = "consent/patient-0042.txt"
{sha256}
[[surgeon]]
name = "Dr Li Wei"
credentialed_until = {surgeon_until}
devices = ["arm"]

[[surgeon.licence]]
jurisdiction = "HK"
number = "M12345"
expires = 2027-03-31
"#
    )
}

fn site(dir: &Path, text: &str) -> std::path::PathBuf {
    fs::create_dir_all(dir.join("consent")).unwrap();
    fs::write(dir.join("consent/patient-0042.txt"), CONSENT).unwrap();
    let path = dir.join("site.toml");
    fs::write(&path, text).unwrap();
    path
}

fn li_wei() -> Identity {
    Identity::simulated("Dr Li Wei", Role::Surgeon)
}

/// 2026-05-01 12:00 at the site (04:00 UTC).
fn may_day() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_777_608_000)
}

fn sha256_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn the_consent_record_is_found_beside_the_policy_and_checked_at_each_decision() {
    let dir = tempfile::tempdir().unwrap();
    let path = site(dir.path(), &policy(Some(&sha256_of(CONSENT)), "2027-06-30"));
    let admission = Admission::load(&path).unwrap();
    assert_eq!(
        admission.consent_record(),
        Some(dir.path().join("consent/patient-0042.txt"))
    );
    let decision = admission.decide(&li_wei(), Device::Arm, may_day());
    assert_eq!(decision.access, Access::Operate, "{}", decision.summary());
    assert_eq!(decision.today.to_string(), "2026-05-01");

    fs::write(
        dir.path().join("consent/patient-0042.txt"),
        b"another patient\n",
    )
    .unwrap();
    let decision = admission.decide(&li_wei(), Device::Arm, may_day());
    assert_eq!(
        decision.rule,
        Some(Rule::ConsentRecordMismatch),
        "{}",
        decision.summary()
    );

    fs::remove_file(dir.path().join("consent/patient-0042.txt")).unwrap();
    let decision = admission.decide(&li_wei(), Device::Arm, may_day());
    assert_eq!(decision.rule, Some(Rule::ConsentMissing));
    assert!(
        decision.explanation.contains("patient-0042.txt"),
        "{}",
        decision.explanation
    );
}

#[test]
fn an_empty_consent_record_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = site(dir.path(), &policy(None, "2027-06-30"));
    fs::write(dir.path().join("consent/patient-0042.txt"), b"").unwrap();
    let decision = Admission::load(&path)
        .unwrap()
        .decide(&li_wei(), Device::Arm, may_day());
    assert_eq!(decision.rule, Some(Rule::ConsentMissing));
    assert!(decision.explanation.contains("empty"));
}

#[test]
fn a_changed_policy_is_reloaded_and_a_bad_one_keeps_the_previous_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = site(dir.path(), &policy(None, "2027-06-30"));
    let mut admission = Admission::load(&path).unwrap();
    assert!(!admission.reload_if_changed().unwrap(), "unchanged");

    fs::write(&path, policy(None, "2026-04-30")).unwrap();
    assert!(admission.reload_if_changed().unwrap());
    let decision = admission.decide(&li_wei(), Device::Arm, may_day());
    assert_eq!(decision.rule, Some(Rule::CredentialExpired));

    fs::write(&path, policy(None, "2027-06-31")).unwrap();
    let error = admission.reload_if_changed().unwrap_err();
    assert!(matches!(error, AdmissionError::Policy { .. }));
    assert!(error.to_string().contains("site.toml"), "{error}");
    assert!(error.to_string().contains("line 14"), "{error}");
    let decision = admission.decide(&li_wei(), Device::Arm, may_day());
    assert_eq!(
        decision.rule,
        Some(Rule::CredentialExpired),
        "the previous policy stays"
    );
    assert!(!admission.reload_if_changed().unwrap(), "reported once");

    fs::write(&path, policy(None, "2027-06-30")).unwrap();
    assert!(admission.reload_if_changed().unwrap());
    assert!(
        admission
            .decide(&li_wei(), Device::Arm, may_day())
            .may_operate()
    );

    fs::remove_file(&path).unwrap();
    assert!(matches!(
        admission.reload_if_changed(),
        Err(AdmissionError::Read { .. })
    ));
    assert!(
        admission
            .decide(&li_wei(), Device::Arm, may_day())
            .may_operate()
    );
}

#[test]
fn a_missing_or_invalid_policy_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = Admission::load(dir.path().join("absent.toml")).unwrap_err();
    assert!(error.to_string().contains("absent.toml"), "{error}");
    let path = site(dir.path(), "[site]\nname = \"x\"\n");
    let error = Admission::load(&path).unwrap_err().to_string();
    assert!(error.contains("missing field `jurisdiction`"), "{error}");
}
