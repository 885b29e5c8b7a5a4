//! What a request presents to prove who sent it, read from its headers (outside input: any
//! bytes give an answer, never a panic): a bearer token when there is an Authorization header
//! (and then only that), else the `medlink_session` cookie.

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "medlink_session";

/// A request's credential, as presented (not yet checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented<'a> {
    /// Nothing: no Authorization header and no session cookie.
    Nothing,
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// An Authorization header of another scheme, or an empty token: never accepted.
    Unusable,
    /// The session cookie's value.
    Session(&'a str),
}

/// Reads the credential from the Authorization header (if any) and the Cookie headers.
pub fn presented<'a>(
    authorization: Option<&'a str>,
    cookies: impl IntoIterator<Item = &'a str>,
) -> Presented<'a> {
    if let Some(authorization) = authorization {
        return match authorization.strip_prefix("Bearer ").map(str::trim) {
            Some(token) if !token.is_empty() => Presented::Bearer(token),
            _ => Presented::Unusable,
        };
    }
    cookies
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map_or(Presented::Nothing, |(_, value)| Presented::Session(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_header_wins_and_the_cookie_is_found_among_others() {
        let cookies = ["theme=dark; medlink_session=abc ", "x=1"];
        assert_eq!(presented(None, cookies), Presented::Session("abc"));
        assert_eq!(
            presented(Some("Bearer t1"), cookies),
            Presented::Bearer("t1")
        );
        assert_eq!(presented(Some("Basic dTpw"), cookies), Presented::Unusable);
        assert_eq!(presented(Some("Bearer  "), cookies), Presented::Unusable);
        assert_eq!(
            presented(None, ["medlink_sessionx=1; y"]),
            Presented::Nothing
        );
        assert_eq!(presented(None, []), Presented::Nothing);
    }
}
