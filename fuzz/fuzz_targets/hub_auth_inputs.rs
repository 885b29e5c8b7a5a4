//! Fuzz target: what the hub reads from a request to find its caller (the Authorization and
//! Cookie headers), SMART scopes and a new password's strength check must answer, never panic.
#![no_main]

use hub::auth::password::check_strength;
use hub::auth::presented::presented;
use hub::auth::scopes::parse_scopes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Split the input into an Authorization header and cookie headers.
    let mut parts = text.split('\n');
    let authorization = parts.next().filter(|a| !a.is_empty());
    let cookies: Vec<&str> = parts.collect();
    let _ = presented(authorization, cookies.iter().copied());
    let _ = presented(None, cookies.iter().copied());
    let _ = parse_scopes(&text);
    let _ = check_strength(&text, "ann");
});
