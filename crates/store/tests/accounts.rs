//! Accounts, sessions, tokens and sign-in failures in the alert journal: a journal from before
//! accounts (version 3) is migrated keeping its audit trail; two connections (the hub and a
//! command) append to one chain; sessions start, are found, touched and ended; failures are
//! counted in their window and forgotten after it or on success; tokens are issued, found by
//! their secret's hash and revoked once. On SQLite and on PostgreSQL.

mod common;

use common::on_each_backend;
use store::{AccountStore, AlertStore, Durability, NewAudit, SessionRow, TokenRow, UserRow};

fn entry(action: &str, at_ms: i64) -> NewAudit {
    NewAudit {
        at_ms,
        actor: "cli:test".into(),
        account: None,
        action: action.into(),
        entity_type: "user".into(),
        entity: "ann".into(),
        outcome: "success".into(),
    }
}

fn ann() -> UserRow {
    UserRow {
        name: "ann".into(),
        role: "nurse".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        created_ms: 1,
    }
}

#[test]
fn a_journal_from_before_accounts_is_migrated_and_both_connections_share_one_chain() {
    on_each_backend("accounts-migrate", migrated_and_one_chain_on)
}

fn migrated_and_one_chain_on(b: &common::Backend) {
    {
        let mut journal = AlertStore::connect(&b.journal, Durability::Normal).unwrap();
        journal
            .append_audit(entry("alert_acknowledged", 1))
            .unwrap();
    }
    b.journal_back_to(3);
    let mut accounts = AccountStore::connect(&b.journal, Durability::Normal).unwrap();
    let mut journal = AlertStore::connect(&b.journal, Durability::Normal).unwrap();
    assert!(accounts.add_user(&ann(), entry("user_added", 2)).unwrap());
    assert!(
        !accounts.add_user(&ann(), entry("user_added", 3)).unwrap(),
        "taken"
    );
    journal.append_audit(entry("alert_snoozed", 4)).unwrap();
    assert!(
        accounts
            .disable_user("ann", entry("user_disabled", 5))
            .unwrap()
    );
    let trail = accounts.audit_trail().unwrap();
    let actions: Vec<&str> = trail.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "alert_acknowledged",
            "user_added",
            "alert_snoozed",
            "user_disabled"
        ]
    );
    assert_eq!(store::audit::verify(&trail), Ok(4));
    assert!(accounts.users().unwrap()[0].disabled);
}

#[test]
fn sessions_and_failures_live_and_end() {
    on_each_backend("sessions", sessions_and_failures_live_and_end_on)
}

fn sessions_and_failures_live_and_end_on(b: &common::Backend) {
    let mut accounts = AccountStore::connect(&b.journal, Durability::Normal).unwrap();
    accounts.add_user(&ann(), entry("user_added", 1)).unwrap();
    assert_eq!(
        accounts
            .record_failure("ann", 10, 0, entry("sign_in_failed", 10))
            .unwrap(),
        1
    );
    assert_eq!(
        accounts
            .record_failure("ann", 20, 0, entry("sign_in_failed", 20))
            .unwrap(),
        2
    );
    assert_eq!(
        accounts
            .record_failure("ann", 30, 15, entry("sign_in_failed", 30))
            .unwrap(),
        2
    );
    assert_eq!(
        accounts.failures_since("ann", 0).unwrap(),
        [20, 30],
        "10 forgotten"
    );
    let session = SessionRow {
        id_hash: "h1".into(),
        name: "ann".into(),
        csrf: "c1".into(),
        created_ms: 40,
        last_seen_ms: 40,
    };
    accounts
        .start_session(&session, entry("signed_in", 40))
        .unwrap();
    assert!(
        accounts.failures_since("ann", 0).unwrap().is_empty(),
        "success forgets"
    );
    accounts.touch_session("h1", 50).unwrap();
    assert_eq!(accounts.session("h1").unwrap().unwrap().last_seen_ms, 50);
    assert!(
        accounts
            .set_password("ann", "new", entry("password_changed", 60))
            .unwrap()
    );
    assert_eq!(
        accounts.session("h1").unwrap(),
        None,
        "a new password ends sessions"
    );
    accounts
        .start_session(&session, entry("signed_in", 70))
        .unwrap();
    assert!(
        accounts
            .end_session("h1", Some(entry("signed_out", 80)))
            .unwrap()
    );
    assert!(!accounts.end_session("h1", None).unwrap());
    assert_eq!(
        store::audit::verify(&accounts.audit_trail().unwrap()),
        Ok(8)
    );
}

#[test]
fn tokens_are_issued_found_and_revoked_once() {
    on_each_backend("tokens", |b| {
        let mut accounts = AccountStore::connect(&b.journal, Durability::Normal).unwrap();
        let token = TokenRow {
            id: "t1".into(),
            name: "ward-feed".into(),
            scopes: "alerts:read fhir:read".into(),
            secret_hash: "ab12".into(),
            created_ms: 5,
            expires_ms: Some(500),
            revoked_ms: None,
        };
        assert!(
            accounts
                .add_token(&token, entry("token_issued", 5))
                .unwrap()
        );
        assert!(
            !accounts
                .add_token(&token, entry("token_issued", 6))
                .unwrap(),
            "taken"
        );
        assert_eq!(
            accounts.token_by_secret_hash("ab12").unwrap(),
            Some(token.clone())
        );
        assert_eq!(accounts.token_by_secret_hash("ffff").unwrap(), None);
        assert!(
            accounts
                .revoke_token("t1", 9, entry("token_revoked", 9))
                .unwrap()
        );
        assert!(
            !accounts
                .revoke_token("t1", 10, entry("token_revoked", 10))
                .unwrap()
        );
        let listed = accounts.tokens().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].revoked_ms, listed[0].expires_ms),
            (Some(9), Some(500))
        );
        assert_eq!(
            store::audit::verify(&accounts.audit_trail().unwrap()),
            Ok(2)
        );
    })
}
