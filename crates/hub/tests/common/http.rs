//! HTTP for the hub's tests: one request on a fresh connection (plain or TLS), and callers to
//! make it as: nobody, a bearer token with chosen scopes, or a person signed in with a role.

#![allow(dead_code)]

use hub::auth::{Role, admin};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

/// A test account's password (strong enough for the rules).
pub const PASSWORD: &str = "ward seven night shift";

/// Who a request is made as.
#[derive(Debug, Clone)]
pub enum Caller {
    Nobody,
    Bearer(String),
    /// A dashboard session: the cookie, and the CSRF token sent with changes (if `csrf`).
    Session {
        cookie: String,
        csrf: Option<String>,
    },
}

impl Caller {
    /// The same session without its CSRF token.
    pub fn without_csrf(&self) -> Caller {
        match self {
            Caller::Session { cookie, .. } => Caller::Session {
                cookie: cookie.clone(),
                csrf: None,
            },
            other => other.clone(),
        }
    }

    fn header_lines(&self) -> String {
        match self {
            Caller::Nobody => String::new(),
            Caller::Bearer(token) => format!("Authorization: Bearer {token}\r\n"),
            Caller::Session { cookie, csrf } => {
                let csrf = csrf
                    .as_ref()
                    .map(|c| format!("X-CSRF-Token: {c}\r\n"))
                    .unwrap_or_default();
                format!("Cookie: theme=dark; medlink_session={cookie}\r\n{csrf}")
            }
        }
    }
}

/// A whole answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// The head, lower-cased.
    pub head: String,
    pub text: String,
    /// The body as JSON (Null if it is not).
    pub json: Value,
}

impl Reply {
    /// The value of header `name` (lower-case), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_string())
        })
    }
}

/// The raw request text.
pub fn request_text(method: &str, path: &str, caller: &Caller, extra: &str, body: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{}{extra}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        caller.header_lines(),
        body.len()
    )
}

/// Parses a whole HTTP/1.1 answer (not chunked).
pub fn parse_reply(response: &str) -> Reply {
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, text) = response.split_once("\r\n\r\n").unwrap_or((response, ""));
    Reply {
        status,
        head: head.to_ascii_lowercase(),
        text: text.to_string(),
        json: serde_json::from_str(text).unwrap_or(Value::Null),
    }
}

/// One request over plain HTTP, blocking; `extra` header lines end with CRLF.
pub fn request(
    addr: SocketAddr,
    caller: &Caller,
    method: &str,
    path: &str,
    extra: &str,
    body: &str,
) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    let text = request_text(method, path, caller, extra, body);
    stream.write_all(text.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    parse_reply(&response)
}

/// The same, off the async threads.
pub async fn call(
    addr: SocketAddr,
    caller: &Caller,
    method: &str,
    path: &str,
    body: &str,
) -> Reply {
    let (caller, method, path, body) = (
        caller.clone(),
        method.to_string(),
        path.to_string(),
        body.to_string(),
    );
    tokio::task::spawn_blocking(move || request(addr, &caller, &method, &path, "", &body))
        .await
        .unwrap()
}

/// A bearer token named `name` with `scopes`, issued straight into the hub's accounts.
pub fn token(hub: &hub::RunningHub, name: &str, scopes: &str) -> Caller {
    let issued = hub
        .shared
        .auth
        .with_accounts(|a| {
            Ok(admin::issue_token(
                a,
                name,
                scopes,
                None,
                "cli:test",
                hub::now_ms(),
            ))
        })
        .unwrap()
        .unwrap();
    Caller::Bearer(issued.secret)
}

/// A token that may do everything, as a `Copy` target for tests that are not about access.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub addr: SocketAddr,
    pub bearer: &'static str,
}

impl Target {
    pub fn caller(&self) -> Caller {
        Caller::Bearer(self.bearer.to_string())
    }
}

/// The hub's address with a token named `tester` that has every scope.
pub fn full_access(hub: &hub::RunningHub) -> Target {
    let Caller::Bearer(secret) = token(hub, "tester", "system/*.*") else {
        unreachable!()
    };
    Target {
        addr: hub.http_addr,
        bearer: Box::leak(secret.into_boxed_str()),
    }
}

/// Adds account `name` with `role` and [`PASSWORD`].
pub fn add_user(hub: &hub::RunningHub, name: &str, role: Role) {
    hub.shared
        .auth
        .with_accounts(|a| {
            Ok(admin::add_user(
                a,
                name,
                role,
                PASSWORD,
                "cli:test",
                hub::now_ms(),
            ))
        })
        .unwrap()
        .unwrap();
}

/// Signs `name` in with `password`: the answer, and the session if it succeeded.
pub async fn sign_in(addr: SocketAddr, name: &str, password: &str) -> (Reply, Option<Caller>) {
    let body = serde_json::json!({"name": name, "password": password}).to_string();
    let reply = call(addr, &Caller::Nobody, "POST", "/auth/login", &body).await;
    let cookie = reply.header("set-cookie").and_then(|c| {
        let value = c.split(';').next()?.strip_prefix("medlink_session=")?;
        Some(value.to_string())
    });
    let session = cookie.map(|cookie| Caller::Session {
        cookie,
        csrf: reply.json["csrf"].as_str().map(str::to_string),
    });
    (reply, session)
}

/// Adds account `name` with `role` and signs it in.
pub async fn signed_in(hub: &hub::RunningHub, name: &str, role: Role) -> Caller {
    add_user(hub, name, role);
    let (reply, session) = sign_in(hub.http_addr, name, PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    session.unwrap()
}

/// A fresh temporary directory for one test.
pub fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("medlink-hub-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
