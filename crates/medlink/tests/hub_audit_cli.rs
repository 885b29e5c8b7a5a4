//! `medlink hub audit verify --db PATH`: OK on an intact trail, and the first bad row (with a
//! failing exit status) once a row was edited; no journal is an error, not an empty OK.

use std::process::Command;
use store::audit::action;
use store::{AlertStore, Durability, NewAudit};

fn verify(db: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_medlink"))
        .args(["hub", "audit", "verify", "--db"])
        .arg(db)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn verify_prints_ok_then_names_the_edited_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let journal_path = dir.path().join("hub.alerts.db");
    let mut journal = AlertStore::open(&journal_path, Durability::Normal).unwrap();
    for n in 1..=3 {
        let entry = NewAudit {
            at_ms: 1_000 + n,
            actor: format!("nurse {n}"),
            account: None,
            action: action::ALERT_SNOOZED.into(),
            entity_type: "alert".into(),
            entity: n.to_string(),
            outcome: "success".into(),
        };
        journal.append_audit(entry).unwrap();
    }
    drop(journal);
    let (ok, text) = verify(&db);
    assert!(ok, "{text}");
    assert!(text.starts_with("OK: 3 audit rows"), "{text}");

    let conn = rusqlite::Connection::open(&journal_path).unwrap();
    conn.execute("UPDATE audit SET entity = '7' WHERE seq = 2", [])
        .unwrap();
    drop(conn);
    let (ok, text) = verify(&db);
    assert!(!ok, "{text}");
    assert!(text.contains("audit row 2:"), "{text}");

    let (ok, text) = verify(&dir.path().join("elsewhere.db"));
    assert!(!ok && text.contains("no alert journal"), "{text}");
}
