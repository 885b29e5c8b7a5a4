//! `medlink policy check` on the worked cross-border example: it explains an admission and a
//! refusal rule by rule, with exit 0 and 1; a malformed policy or certificate exits 2 naming
//! the problem; `policy validate` summarises the policy and warns of the unrecognised licence.

mod common;

use rcgen::{CertificateParams, DnType, KeyPair, SanType, date_time_ymd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A certificate for `name` in `role`, valid through 2027.
fn certificate(dir: &Path, name: &str, role: &str) -> PathBuf {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let uri = format!("urn:medlink:role:{role}");
    params
        .subject_alt_names
        .push(SanType::URI(uri.try_into().unwrap()));
    params.not_before = date_time_ymd(2026, 1, 1);
    params.not_after = date_time_ymd(2028, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let path = dir.join(format!("{}.crt", name.replace(' ', "-")));
    std::fs::write(&path, cert.pem()).unwrap();
    path
}

fn example() -> PathBuf {
    common::repo_root().join("examples/site-policy.toml")
}

fn policy(args: &[&str], policy: &Path, cert: Option<&Path>) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_medlink"));
    command.arg("policy").args(args).arg("--policy").arg(policy);
    if let Some(cert) = cert {
        command.arg("--cert").arg(cert);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("medlink runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[test]
fn check_explains_an_admission_and_a_refusal_on_the_cross_border_example() {
    let dir = common::temp_dir("policy-check");
    let chan = certificate(&dir, "Dr Chan Ka-ming", "surgeon");

    let (code, out, err) = policy(&["check", "--date", "2026-05-01"], &example(), Some(&chan));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("site     Nagqu People's Hospital (CN)"),
        "{out}"
    );
    assert!(out.contains("pass  licence.not_recognised"), "{out}");
    assert!(out.contains("consent/patient-0042.txt: present"), "{out}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("ADMITTED to operate the arm: Dr Chan Ka-ming (surgeon"),
        "{out}"
    );
    assert!(last.contains("under HK licence M12345"), "{out}");
    assert!(last.contains("a bedside team member must confirm"), "{out}");
    assert_eq!(out.matches("\n  pass  ").count(), 13, "{out}");

    let (code, out, _) = policy(&["check", "--date", "2027-04-01"], &example(), Some(&chan));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  licence.expired"), "{out}");
    assert_eq!(
        out.lines().last(),
        Some(
            "REFUSED by rule licence.expired: Dr Chan Ka-ming's HK licence M12345 expired on \
             2027-03-31 (today at the site is 2027-04-01)"
        ),
        "{out}"
    );

    let (code, out, _) = policy(
        &["check", "--date", "2026-05-01", "--device", "hifu"],
        &example(),
        Some(&chan),
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("REFUSED by rule device.not_permitted"),
        "{out}"
    );

    let berg = certificate(&dir, "Dr Anna Berg", "surgeon");
    let (code, out, _) = policy(
        &["check", "--date", "2026-05-01", "--json"],
        &example(),
        Some(&berg),
    );
    assert_eq!(code, 1, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["admitted"], false);
    assert_eq!(json["decision"]["rule"], "licence.not_recognised");
    assert_eq!(json["decision"]["access"], "refused");
    assert_eq!(json["identity"]["name"], "Dr Anna Berg");

    let observer = certificate(&dir, "Dr Observer", "observer");
    let (code, out, _) = policy(
        &["check", "--date", "2026-05-01"],
        &example(),
        Some(&observer),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ADMITTED to watch by rule role.may_not_operate: watch only"),
        "{out}"
    );
}

#[test]
fn a_malformed_policy_or_certificate_exits_2_naming_the_problem() {
    let dir = common::temp_dir("policy-bad");
    let chan = certificate(&dir, "Dr Chan Ka-ming", "surgeon");
    let text = std::fs::read_to_string(example()).unwrap();
    let bad = dir.join("site.toml");
    std::fs::write(
        &bad,
        text.replace("expires = 2027-03-31", "expires = 2027-03-32"),
    )
    .unwrap();
    let (code, _, err) = policy(&["check"], &bad, Some(&chan));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("site.toml"), "{err}");
    assert_eq!(err.matches("line 40").count(), 1, "said once: {err}");

    std::fs::write(&bad, text.replace("[bedside]", "[bedside]\nconfirm = true")).unwrap();
    let (code, _, err) = policy(&["validate"], &bad, None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown field `confirm`"), "{err}");

    let no_role = dir.join("no-role.crt");
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "Dr Chan Ka-ming");
    let key = KeyPair::generate().unwrap();
    std::fs::write(&no_role, params.self_signed(&key).unwrap().pem()).unwrap();
    let (code, _, err) = policy(&["check"], &example(), Some(&no_role));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("carries no medlink role"), "{err}");
}

#[test]
fn validate_summarises_the_example_and_warns_of_the_unrecognised_licence() {
    let (code, out, err) = policy(&["validate"], &example(), None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("licences  recognised from CN, HK"), "{out}");
    assert!(
        out.contains("surgeon   Dr Chan Ka-ming: arm until 2027-06-30"),
        "{out}"
    );
    assert!(
        out.contains("warning   surgeon \"Dr Anna Berg\": no licence from a recognised"),
        "{out}"
    );
}
