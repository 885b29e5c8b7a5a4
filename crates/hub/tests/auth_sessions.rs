//! Sign-in over real HTTP, on a clock the test moves (no sleeps): the cookie and its flags,
//! `/auth/me`, one answer for an unknown name and a wrong password, lock-out after the
//! configured failures (429 with Retry-After, audited) until the window passes, idle and
//! absolute session expiry, sign-out, a disabled account, and token revocation and expiry; an
//! open event stream ends when its session or token does.

#[allow(dead_code)]
mod common;

use common::http::{Caller, PASSWORD, add_user, call, sign_in, signed_in, tempdir};
use common::start_hub;
use hub::auth::{Role, admin};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

const MINUTE: i64 = 60_000;

/// Puts the hub's sign-in service on a clock the test moves; returns the hand that moves it.
fn manual_clock(hub: &hub::RunningHub) -> Arc<AtomicI64> {
    let now = Arc::new(AtomicI64::new(hub::now_ms()));
    let read = now.clone();
    hub.shared
        .auth
        .set_clock(Arc::new(move || read.load(Ordering::SeqCst)));
    now
}

fn audited(hub: &hub::RunningHub, action: &str) -> Vec<store::AuditRow> {
    let trail = hub.shared.auth.with_accounts(|a| a.audit_trail()).unwrap();
    assert!(store::audit::verify(&trail).is_ok());
    trail.into_iter().filter(|r| r.action == action).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_a_strict_http_only_cookie_that_ends_when_idle_or_old_or_signed_out() {
    let dir = tempdir("auth-session");
    let hub = start_hub(&dir, |_| {}).await;
    let addr = hub.http_addr;
    let clock = manual_clock(&hub);
    add_user(&hub, "nell", Role::Nurse);
    let (reply, session) = sign_in(addr, "nell", PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let cookie = reply.header("set-cookie").unwrap();
    for flag in ["httponly", "samesite=strict", "path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(
        !cookie.contains("secure"),
        "plain HTTP on loopback: {cookie}"
    );
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("medlink_session=");
    assert_eq!(value.len(), 64, "256 random bits");
    assert_eq!(reply.json["name"], "nell");
    assert_eq!(reply.json["role"], "nurse");
    let session = session.unwrap();
    let me = call(addr, &session, "GET", "/auth/me", "").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["csrf"], reply.json["csrf"]);
    assert_eq!(
        call(addr, &Caller::Nobody, "GET", "/auth/me", "")
            .await
            .status,
        401
    );

    // Idle: used every 29 minutes it lives on; 30 minutes unused ends it.
    for _ in 0..3 {
        clock.fetch_add(29 * MINUTE, Ordering::SeqCst);
        assert_eq!(
            call(addr, &session, "GET", "/api/alerts", "").await.status,
            200
        );
    }
    clock.fetch_add(30 * MINUTE, Ordering::SeqCst);
    assert_eq!(
        call(addr, &session, "GET", "/api/alerts", "").await.status,
        401
    );

    // Absolute: however busy, 12 hours after signing in it has ended.
    let (_, busy) = sign_in(addr, "nell", PASSWORD).await;
    let busy = busy.unwrap();
    for _ in 0..(12 * 60 / 25) {
        clock.fetch_add(25 * MINUTE, Ordering::SeqCst);
        assert_eq!(call(addr, &busy, "GET", "/auth/me", "").await.status, 200);
    }
    clock.fetch_add(25 * MINUTE, Ordering::SeqCst);
    assert_eq!(call(addr, &busy, "GET", "/auth/me", "").await.status, 401);

    // Signing out needs the CSRF token, ends the session, and is audited.
    let (_, fresh) = sign_in(addr, "nell", PASSWORD).await;
    let fresh = fresh.unwrap();
    let refused = call(addr, &fresh.without_csrf(), "POST", "/auth/logout", "").await;
    assert_eq!(refused.status, 403);
    let out = call(addr, &fresh, "POST", "/auth/logout", "").await;
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("max-age=0"));
    assert_eq!(call(addr, &fresh, "GET", "/auth/me", "").await.status, 401);
    assert_eq!(audited(&hub, "signed_in").len(), 3);
    assert_eq!(audited(&hub, "signed_out").len(), 1);

    // A disabled account's sessions end, and it cannot sign in again.
    let (_, again) = sign_in(addr, "nell", PASSWORD).await;
    let again = again.unwrap();
    hub.shared
        .auth
        .with_accounts(|a| Ok(admin::disable_user(a, "nell", "cli:test", hub::now_ms())))
        .unwrap()
        .unwrap();
    assert_eq!(call(addr, &again, "GET", "/auth/me", "").await.status, 401);
    let (refused, _) = sign_in(addr, "nell", PASSWORD).await;
    assert_eq!(refused.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_the_name_out_until_the_window_passes() {
    let dir = tempdir("auth-lockout");
    let hub = start_hub(&dir, |config| config.auth.lockout_failures = 3).await;
    let addr = hub.http_addr;
    let clock = manual_clock(&hub);
    add_user(&hub, "nell", Role::Nurse);

    let (unknown, _) = sign_in(addr, "nobody", PASSWORD).await;
    let (wrong, _) = sign_in(addr, "nell", "not the password at all").await;
    assert_eq!((unknown.status, wrong.status), (401, 401));
    assert_eq!(unknown.json, wrong.json, "no hint whether the name exists");
    assert!(wrong.header("set-cookie").is_none());
    let garbled = call(addr, &Caller::Nobody, "POST", "/auth/login", "{\"name\": 1").await;
    assert_eq!(garbled.status, 400);
    assert!(garbled.json["error"].as_str().unwrap().contains("password"));

    clock.fetch_add(MINUTE, Ordering::SeqCst);
    assert_eq!(
        sign_in(addr, "nell", "wrong again, twice").await.0.status,
        401
    );
    assert_eq!(
        sign_in(addr, "nell", "wrong for the third time")
            .await
            .0
            .status,
        401
    );
    // Locked: even the right password is refused, with when to try again.
    let (locked, session) = sign_in(addr, "nell", PASSWORD).await;
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert!(session.is_none());
    let retry: i64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(
        retry,
        14 * 60,
        "the first of the three failures leaves the window then"
    );
    assert_eq!(audited(&hub, "account_locked").len(), 1);
    let failed = audited(&hub, "sign_in_failed");
    assert_eq!(failed.len(), 5, "four wrong, one while locked: {failed:?}");
    assert!(failed.last().unwrap().outcome.contains("locked out"));
    // Another name is not locked.
    add_user(&hub, "olive", Role::Nurse);
    assert_eq!(sign_in(addr, "olive", PASSWORD).await.0.status, 200);

    clock.fetch_add(14 * MINUTE, Ordering::SeqCst);
    let (after, session) = sign_in(addr, "nell", PASSWORD).await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert!(session.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_or_expired_token_is_refused() {
    let dir = tempdir("auth-tokens");
    let hub = start_hub(&dir, |_| {}).await;
    let addr = hub.http_addr;
    let clock = manual_clock(&hub);
    let issue = |days: Option<u32>| {
        hub.shared
            .auth
            .with_accounts(|a| {
                Ok(admin::issue_token(
                    a,
                    "etl",
                    "user/Alert.read",
                    days,
                    "cli:test",
                    // The hub's (injected) clock: a wall-clock stamp a few ms later would leave
                    // the token unexpired one day on by the injected clock.
                    clock.load(Ordering::SeqCst),
                ))
            })
            .unwrap()
            .unwrap()
    };
    let kept = issue(None);
    let revoked = issue(None);
    let short = issue(Some(1));
    for token in [&kept, &revoked, &short] {
        let caller = Caller::Bearer(token.secret.clone());
        assert_eq!(
            call(addr, &caller, "GET", "/api/alerts", "").await.status,
            200
        );
    }
    hub.shared
        .auth
        .with_accounts(|a| {
            Ok(admin::revoke_token(
                a,
                &revoked.id,
                "cli:test",
                hub::now_ms(),
            ))
        })
        .unwrap()
        .unwrap();
    let revoked = Caller::Bearer(revoked.secret);
    assert_eq!(
        call(addr, &revoked, "GET", "/api/alerts", "").await.status,
        401
    );
    clock.fetch_add(24 * 60 * MINUTE, Ordering::SeqCst);
    let short = Caller::Bearer(short.secret);
    assert_eq!(
        call(addr, &short, "GET", "/api/alerts", "").await.status,
        401
    );
    let kept = Caller::Bearer(kept.secret);
    assert_eq!(
        call(addr, &kept, "GET", "/api/alerts", "").await.status,
        200
    );
    // A token needs no CSRF token: it is not sent by a browser on its own.
    let writer = common::http::token(&hub, "pager", "user/Alert.*");
    let ack = call(addr, &writer, "POST", "/api/alerts/424242/ack", "{}").await;
    assert_eq!(ack.status, 404, "{}", ack.text);
    assert_eq!(audited(&hub, "token_revoked").len(), 1);
    let _ = signed_in;
}

/// Opens `path` as an event stream for `caller` on a thread of its own; the task ends when the
/// hub closes the stream.
fn open_stream(
    addr: std::net::SocketAddr,
    caller: &Caller,
    path: &'static str,
) -> tokio::task::JoinHandle<common::http::Reply> {
    let caller = caller.clone();
    tokio::task::spawn_blocking(move || common::http::request(addr, &caller, "GET", path, "", ""))
}

/// Long enough for any re-check on a loaded machine; only a hub that never closes waits it out.
const CLOSED_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_event_stream_ends_when_its_session_or_token_does() {
    let dir = tempdir("auth-streams");
    let hub = start_hub(&dir, |_| {}).await;
    let addr = hub.http_addr;
    let nurse = signed_in(&hub, "nell", Role::Nurse).await;
    let issue = || {
        hub.shared
            .auth
            .with_accounts(|a| {
                let at = hub::now_ms();
                Ok(admin::issue_token(
                    a,
                    "pager",
                    "user/Alert.read user/Observation.read",
                    None,
                    "cli:test",
                    at,
                ))
            })
            .unwrap()
            .unwrap()
    };
    let (revoked, kept) = (issue(), issue());
    let streams = [
        (
            open_stream(addr, &nurse, "/api/dashboard/events"),
            "session",
        ),
        (
            open_stream(addr, &Caller::Bearer(revoked.secret), "/api/events"),
            "revoked",
        ),
        (
            open_stream(addr, &Caller::Bearer(kept.secret), "/api/events"),
            "kept",
        ),
    ];
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        streams.iter().all(|(s, _)| !s.is_finished()),
        "all three open"
    );
    let out = call(addr, &nurse, "POST", "/auth/logout", "").await;
    assert_eq!(out.status, 204);
    let revoke = |id: &str| {
        hub.shared
            .auth
            .with_accounts(|a| Ok(admin::revoke_token(a, id, "cli:test", hub::now_ms())))
            .unwrap()
            .unwrap()
    };
    revoke(&revoked.id);
    let [(session, _), (revoked_stream, _), (kept_stream, _)] = streams;
    for (stream, who) in [(session, "session"), (revoked_stream, "revoked token")] {
        let reply = tokio::time::timeout(CLOSED_WITHIN, stream)
            .await
            .unwrap_or_else(|_| panic!("the {who}'s stream is still open"))
            .unwrap();
        assert_eq!(reply.status, 200, "{who}: {}", reply.text);
    }
    assert!(
        !kept_stream.is_finished(),
        "a stream whose token stands stays open"
    );
    revoke(&kept.id);
    assert!(
        tokio::time::timeout(CLOSED_WITHIN, kept_stream)
            .await
            .is_ok()
    );
}
