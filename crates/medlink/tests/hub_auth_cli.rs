//! `medlink hub user` and `medlink hub token` against a running `medlink hub`: a weak password
//! is refused with the reason, an account added from a password file signs in, `curl` without
//! a token gets 401 (the issue's acceptance), a token issued on the command line works until
//! `token revoke`, and every change is in the audit trail that `hub audit verify` checks; so are
//! `medlink hub device add` and `remove`.

mod common;

use common::*;
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

fn medlink(args: &[&OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medlink"))
        .args(args)
        .output()
        .expect("medlink runs")
}

/// `medlink hub user add NAME --role ROLE [--password-file FILE] --db DB`.
fn add_user(db: &Path, name: &str, role: &str, password_file: Option<&Path>) -> Output {
    let mut args: Vec<&OsStr> = vec!["hub".as_ref(), "user".as_ref(), "add".as_ref()];
    args.extend([
        name.as_ref(),
        "--role".as_ref(),
        role.as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
    ]);
    if let Some(file) = password_file {
        args.extend(["--password-file".as_ref(), file.as_os_str()]);
    }
    medlink(&args)
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn curl(args: &[&str]) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = out.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn accounts_and_tokens_made_on_the_command_line_guard_the_running_hub() {
    let dir = temp_dir("hub-auth-cli");
    let db = dir.join("hub.db");
    let dbarg = db.as_os_str();
    let weak = dir.join("weak");
    std::fs::write(&weak, "short\n").unwrap();
    let refused = add_user(&db, "nell", "nurse", Some(&weak));
    assert!(!refused.status.success());
    assert!(text(&refused).contains("at least 12"), "{}", text(&refused));
    let bad_role = add_user(&db, "nell", "surgeon", Some(&weak));
    assert!(
        text(&bad_role).contains("charge_nurse"),
        "{}",
        text(&bad_role)
    );
    let strong = dir.join("password");
    std::fs::write(&strong, "ward seven night shift\n").unwrap();
    let added = add_user(&db, "nell", "nurse", Some(&strong));
    assert!(added.status.success(), "{}", text(&added));
    // From standard input, as a script would give it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_medlink"))
        .args(["hub", "user", "add", "vic", "--role", "viewer", "--db"])
        .arg(&db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"another long passphrase\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    let listed = medlink_succeeds(&[
        "hub".as_ref(),
        "user".as_ref(),
        "list".as_ref(),
        "--db".as_ref(),
        dbarg,
    ]);
    let listed = text(&listed);
    assert!(
        listed.contains("nell") && listed.contains("nurse") && listed.contains("viewer"),
        "{listed}"
    );

    let http_port = free_port();
    let mqtt = format!("127.0.0.1:{}", free_port());
    let _hub = start_hub(&db, http_port, &["--mqtt-listen".to_string(), mqtt]);
    let base = format!("http://127.0.0.1:{http_port}");
    let (status, body) = curl(&[&format!("{base}/api/alerts")]);
    assert_eq!(status, 401, "{body}");

    let login = r#"{"name":"nell","password":"ward seven night shift"}"#;
    let (status, body) = curl(&[
        "-H",
        "Content-Type: application/json",
        "-d",
        login,
        &format!("{base}/auth/login"),
    ]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""role":"nurse""#), "{body}");

    let token = issue_token(&db, "etl", "user/Alert.read");
    let bearer = format!("Authorization: Bearer {token}");
    assert_eq!(curl(&["-H", &bearer, &format!("{base}/api/alerts")]).0, 200);
    assert_eq!(
        curl(&["-H", &bearer, &format!("{base}/api/patients")]).0,
        403
    );
    let tokens = medlink_succeeds(&[
        "hub".as_ref(),
        "token".as_ref(),
        "list".as_ref(),
        "--db".as_ref(),
        dbarg,
    ]);
    let tokens = text(&tokens);
    let id = tokens
        .lines()
        .find(|l| l.contains(" etl "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{tokens}"))
        .to_string();
    assert!(!tokens.contains(&token), "secrets are never listed");
    medlink_succeeds(&[
        "hub".as_ref(),
        "token".as_ref(),
        "revoke".as_ref(),
        id.as_ref(),
        "--db".as_ref(),
        dbarg,
    ]);
    assert_eq!(curl(&["-H", &bearer, &format!("{base}/api/alerts")]).0, 401);

    let verified = medlink_succeeds(&[
        "hub".as_ref(),
        "audit".as_ref(),
        "verify".as_ref(),
        "--db".as_ref(),
        dbarg,
    ]);
    assert!(text(&verified).starts_with("OK"), "{}", text(&verified));
    let trail = store::read_audit_trail(&db.with_extension("alerts.db")).unwrap();
    let actions: Vec<&str> = trail.iter().map(|r| r.action.as_str()).collect();
    for action in ["user_added", "token_issued", "signed_in", "token_revoked"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `medlink hub device ARGS... --db DB`.
fn device(db: &Path, args: &[&str]) -> Output {
    let mut all: Vec<&OsStr> = vec!["hub".as_ref(), "device".as_ref()];
    all.extend(args.iter().map(|a| -> &OsStr { a.as_ref() }));
    all.extend(["--db".as_ref(), db.as_os_str()]);
    medlink(&all)
}

#[test]
fn device_registrations_and_removals_are_audited_with_who_and_which_patient() {
    let dir = temp_dir("hub-device-audit");
    let db = dir.join("hub.db");
    for (args, ok) in [
        (&["add", "w-1", "--patient", "p-1"][..], true),
        (&["add", "w-1", "--patient", "p-2"][..], true),
        (&["remove", "w-1"][..], true),
        (&["remove", "w-1"][..], false),
    ] {
        let output = device(&db, args);
        assert_eq!(output.status.success(), ok, "{args:?}: {}", text(&output));
    }
    let trail = store::read_audit_trail(&db.with_extension("alerts.db")).unwrap();
    let devices: Vec<(&str, &str)> = trail
        .iter()
        .filter(|r| r.entity_type == "device")
        .map(|r| (r.action.as_str(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        devices,
        [
            ("device_registered", "success: patient p-1"),
            (
                "device_registered",
                "success: new password, patient p-2 (was p-1)"
            ),
            ("device_removed", "success: was patient p-2"),
        ]
    );
    assert!(trail.iter().all(|r| r.actor.starts_with("cli:")));
    let dbarg = db.as_os_str();
    let verified = medlink(&[
        "hub".as_ref(),
        "audit".as_ref(),
        "verify".as_ref(),
        "--db".as_ref(),
        dbarg,
    ]);
    assert!(text(&verified).starts_with("OK"), "{}", text(&verified));
    let _ = std::fs::remove_dir_all(&dir);
}
