//! A person's sign-in to a page: the program makes a random one-time token and prints it in the
//! page's URL; the first request that brings it gets a random session cookie (HttpOnly,
//! SameSite=Strict, Secure over HTTPS) and is sent on to the page without the token, which is
//! then spent. Every other request, WebSockets included, must bring the cookie, and a WebSocket
//! must come from the page's own origin.

use crate::WebUiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Random bytes in a token or a session id.
const SECRET_BYTES: usize = 24;

/// The page's sign-in state: the token not yet spent, and the sessions it opened.
pub struct Access {
    cookie: &'static str,
    secure: bool,
    token: Mutex<Option<String>>,
    sessions: Mutex<HashSet<String>>,
}

/// Marks a request that brought a valid session cookie (an extension the guard adds).
#[derive(Debug, Clone, Copy)]
pub struct SignedIn;

impl Access {
    /// A fresh one-time token; `cookie` names the session cookie (one per page kind, so the
    /// console and the bedside panel on one host do not overwrite each other's).
    pub fn new(cookie: &'static str, secure: bool) -> Result<Arc<Self>, WebUiError> {
        Ok(Arc::new(Self {
            cookie,
            secure,
            token: Mutex::new(Some(random_hex()?)),
            sessions: Mutex::new(HashSet::new()),
        }))
    }

    /// The token to print in the URL, while it is not spent.
    pub fn token(&self) -> Option<String> {
        self.token.lock().ok().and_then(|t| t.clone())
    }

    /// Spends the token if `offered` is it, and opens a session; its id, for the cookie.
    pub fn exchange(&self, offered: &str) -> Option<String> {
        let mut token = self.token.lock().ok()?;
        let matches = token
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), offered.as_bytes()));
        if !matches {
            return None;
        }
        *token = None;
        let session = random_hex().ok()?;
        self.sessions.lock().ok()?.insert(session.clone());
        Some(session)
    }

    /// Whether the request's cookies hold an open session.
    pub fn signed_in(&self, headers: &HeaderMap) -> bool {
        let Ok(sessions) = self.sessions.lock() else {
            return false;
        };
        cookies(headers, self.cookie).any(|value| sessions.contains(value))
    }

    fn set_cookie(&self, session: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={session}; Path=/; HttpOnly; SameSite=Strict{secure}",
            self.cookie
        )
    }
}

/// The guard in front of every route (`axum::middleware::from_fn_with_state`).
pub async fn guard(
    State(access): State<Arc<Access>>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(offered) = query_value(request.uri().query(), "token") {
        return match access.exchange(offered) {
            Some(session) => {
                let mut response = (StatusCode::SEE_OTHER, "signed in").into_response();
                let headers = response.headers_mut();
                headers.insert(header::LOCATION, HeaderValue::from_static("/"));
                if let Ok(cookie) = HeaderValue::from_str(&access.set_cookie(&session)) {
                    headers.insert(header::SET_COOKIE, cookie);
                }
                response
            }
            None => refuse(
                "this sign-in link was already used or is wrong; ask the program for a new one (it prints one at start)",
            ),
        };
    }
    if !access.signed_in(request.headers()) {
        return refuse(
            "not signed in: open the link with the token that the program printed at start",
        );
    }
    if !same_origin(request.headers()) {
        return (StatusCode::FORBIDDEN, "cross-origin request refused").into_response();
    }
    request.extensions_mut().insert(SignedIn);
    next.run(request).await
}

fn refuse(why: &'static str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        why,
    )
        .into_response()
}

/// A request with an Origin header (browsers send one on WebSockets and POSTs) must come from
/// the page's own host: another site's page cannot drive the console with the person's cookie.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let (Ok(origin), Some(Ok(host))) = (
        origin.to_str(),
        headers.get(header::HOST).map(|h| h.to_str()),
    ) else {
        return false;
    };
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or("");
    origin_host == host
}

/// The values of the cookie `name` in every Cookie header.
fn cookies<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(move |pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// The value of `key` in a query string, as it stands (tokens are hex: nothing to unescape).
pub fn query_value<'a>(query: Option<&'a str>, key: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(k, v)| (k == key).then_some(v))
}

fn random_hex() -> Result<String, WebUiError> {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; SECRET_BYTES];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| WebUiError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_token_opens_one_session_once() {
        let access = Access::new("c", false).unwrap();
        let token = access.token().unwrap();
        assert!(access.exchange("wrong").is_none());
        let session = access.exchange(&token).unwrap();
        assert!(access.exchange(&token).is_none(), "the token is spent");
        assert!(access.token().is_none());
        let cookie = format!("other=1; c={session}");
        assert!(access.signed_in(&headers(&[(header::COOKIE, &cookie)])));
        assert!(!access.signed_in(&headers(&[(header::COOKIE, "c=nope")])));
        assert!(!access.signed_in(&HeaderMap::new()));
    }

    #[test]
    fn a_websocket_from_another_site_is_refused() {
        let host = (header::HOST, "127.0.0.1:8080");
        assert!(same_origin(&headers(std::slice::from_ref(&host))));
        assert!(same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            (header::ORIGIN, "https://evil.example")
        ])));
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_https() {
        let access = Access::new("c", true).unwrap();
        let cookie = access.set_cookie("abc");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(cookie.ends_with("Secure"));
        assert_eq!(query_value(Some("a=1&token=ff"), "token"), Some("ff"));
        assert_eq!(query_value(None, "token"), None);
    }
}
