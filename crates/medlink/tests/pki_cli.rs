//! `medlink pki` as an administrator runs it: init (with a passphrase), issue a surgeon and an
//! unknown role, revoke, list; the keys readable by their owner only, and clear errors for a
//! bad request.

use std::path::Path;
use std::process::{Command, Output};

fn medlink(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medlink"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("medlink runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn succeeds(args: &[&str]) -> String {
    let out = medlink(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    text(&out)
}

fn fails(args: &[&str]) -> String {
    let out = medlink(args);
    assert!(
        !out.status.success(),
        "{args:?} should fail: {}",
        text(&out)
    );
    text(&out)
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
#[cfg(unix)]
fn init_issue_revoke_and_list() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let out = tmp.path().join("people");
    let secret = tmp.path().join("secret");
    std::fs::write(&secret, "theatre three\n").unwrap();
    let (dir_s, out_s, secret_s) = (
        dir.to_str().unwrap(),
        out.to_str().unwrap(),
        secret.to_str().unwrap(),
    );

    succeeds(&["pki", "init", "--dir", dir_s, "--passphrase-file", secret_s]);
    for key in ["ca.key", "station.key", "console.key"] {
        assert_eq!(mode(&dir.join(key)), 0o600, "{key}");
    }
    let ca_key = std::fs::read_to_string(dir.join("ca.key")).unwrap();
    assert!(ca_key.contains("ENCRYPTED PRIVATE KEY"), "{ca_key}");

    let issue = ["pki", "issue", "--dir", dir_s, "--out", out_s];
    let without = fails(&[&issue[..], &["--role", "surgeon", "--name", "Dr Li Wei"]].concat());
    assert!(without.contains("ca.key is encrypted"), "{without}");
    let printed = succeeds(
        &[
            &issue[..],
            &["--role", "surgeon", "--name", "Dr Li Wei", "--days", "30"],
            &["--passphrase-file", secret_s],
        ]
        .concat(),
    );
    assert!(
        printed.contains("Dr Li Wei: role surgeon, serial "),
        "{printed}"
    );
    assert_eq!(mode(&out.join("dr-li-wei.key")), 0o600);
    assert!(out.join("dr-li-wei.crt").exists() && out.join("ca.crt").exists());

    let unknown = succeeds(
        &[
            &issue[..],
            &["--role", "anaesthetist", "--name", "Dr Gas"],
            &["--passphrase-file", secret_s],
        ]
        .concat(),
    );
    assert!(unknown.contains("grants it nothing"), "{unknown}");
    let zero_days = fails(
        &[
            &issue[..],
            &["--role", "observer", "--name", "Student", "--days", "0"],
            &["--passphrase-file", secret_s],
        ]
        .concat(),
    );
    assert!(zero_days.contains("--days 0"), "{zero_days}");

    let cert = out.join("dr-li-wei.crt");
    let revoked = succeeds(&[
        "pki",
        "revoke",
        "--dir",
        dir_s,
        "--cert",
        cert.to_str().unwrap(),
        "--reason",
        "keyCompromise",
        "--passphrase-file",
        secret_s,
    ]);
    assert!(
        revoked.contains("revoked \"Dr Li Wei\" (role surgeon"),
        "{revoked}"
    );
    assert!(revoked.contains("CRL number 1"), "{revoked}");
    assert!(dir.join("ca.crl").exists());
    let bad_reason = fails(&[
        "pki",
        "revoke",
        "--dir",
        dir_s,
        "--cert",
        cert.to_str().unwrap(),
        "--reason",
        "stolen",
    ]);
    assert!(
        bad_reason.contains("not an RFC 5280 reason"),
        "{bad_reason}"
    );

    let listed = succeeds(&["pki", "list", "--dir", dir_s]);
    let line = |name: &str| {
        listed
            .lines()
            .find(|l| l.ends_with(name))
            .unwrap_or_else(|| panic!("{name} not in:\n{listed}"))
            .to_string()
    };
    assert!(
        line("Dr Li Wei").contains("revoked (keyCompromise)"),
        "{listed}"
    );
    assert!(line("Demo Surgeon").contains("valid"), "{listed}");
    assert!(line("Dr Gas").contains("anaesthetist"), "{listed}");
}

#[test]
fn a_pki_without_a_ca_key_says_to_make_a_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let dir_s = dir.to_str().unwrap();
    succeeds(&["pki", "init", "--dir", dir_s]);
    std::fs::remove_file(dir.join("ca.key")).unwrap();
    let out_dir = tmp.path().join("out");
    let err = fails(&[
        "pki",
        "issue",
        "--dir",
        dir_s,
        "--out",
        out_dir.to_str().unwrap(),
        "--role",
        "surgeon",
        "--name",
        "Dr A",
    ]);
    assert!(
        err.contains("this PKI was made before CA keys were kept; run pki init --force"),
        "{err}"
    );
}
