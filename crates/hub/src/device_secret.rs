//! Device passwords: made at random, stored only as a salted hash in mosquitto's own password
//! form (`$7$ITERATIONS$SALT$HASH`, PBKDF2-HMAC-SHA512, base64), so the one stored string serves
//! the embedded gateway and a mosquitto password file alike.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::Sha512;

/// PBKDF2 rounds for new hashes. The passwords are 144 random bits, so rounds add little; this
/// keeps a CONNECT check near a millisecond (mosquitto_passwd uses 101 by default).
pub const ITERATIONS: u32 = 1000;
const SALT_LEN: usize = 12;
const HASH_LEN: usize = 64;
/// Fewest and most rounds a stored hash may ask for (a corrupt or hostile file must not make a
/// CONNECT check run for minutes).
const ROUNDS: std::ops::RangeInclusive<u32> = 1..=1_000_000;

/// A new device password: 18 random bytes, URL-safe base64 (24 characters).
pub fn new_password() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Hashes `password` with a fresh random salt.
pub fn hash_new(password: &str) -> Result<String, getrandom::Error> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt)?;
    Ok(hash(password, &salt, ITERATIONS))
}

/// Hashes `password` with `salt` and `iterations` rounds, in mosquitto's `$7$` form.
pub fn hash(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut out = [0u8; HASH_LEN];
    pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), salt, iterations, &mut out);
    format!(
        "$7${iterations}${}${}",
        STANDARD.encode(salt),
        STANDARD.encode(out)
    )
}

/// Whether `password` matches `stored` (a `$7$` hash); a malformed hash matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(""), Some("7"), Some(rounds), Some(salt), Some(expected), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(rounds), Ok(salt), Ok(expected)) = (
        rounds.parse::<u32>(),
        STANDARD.decode(salt),
        STANDARD.decode(expected),
    ) else {
        return false;
    };
    if !ROUNDS.contains(&rounds) || expected.len() != HASH_LEN {
        return false;
    }
    let mut got = [0u8; HASH_LEN];
    pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), &salt, rounds, &mut got);
    // Constant time: every byte is compared whatever the first difference.
    got.iter().zip(&expected).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_its_hash_only() {
        let password = new_password().unwrap();
        assert_eq!(password.len(), 24);
        let stored = hash_new(&password).unwrap();
        assert!(stored.starts_with("$7$1000$"));
        assert!(verify(&password, &stored));
        assert!(!verify("wrong", &stored));
        assert!(!verify(&password[1..], &stored));
        assert_ne!(stored, hash_new(&password).unwrap(), "salted");
        assert!(!stored.contains(&password), "never the password itself");
    }

    #[test]
    fn matches_mosquitto_passwd() {
        // Made by Debian's mosquitto_passwd 2.0 (`mosquitto_passwd -b file dev-1 s3cret`).
        let stored = "$7$101$DI01RlSGLFs10woD$yWI7C9q0v5rdc+2v6ax1c7LiY3OiwDj6gaQ1GKjaaLopRx0T+mRL9awfw9+NlIVUpIfjYk+keBRoDDqZyoQXvg==";
        assert!(verify("s3cret", stored));
        assert!(!verify("s3creT", stored));
    }

    #[test]
    fn malformed_hashes_match_nothing() {
        for stored in [
            "",
            "s3cret",
            "$6$101$c2FsdA==$aGFzaA==",
            "$7$x$c2FsdA==$aGFzaA==",
            "$7$0$c2FsdA==$aGFzaA==",
            "$7$4000000000$c2FsdA==$aGFzaA==",
            "$7$101$!!$aGFzaA==",
            "$7$101$c2FsdA==$aGFzaA==",
            "$7$101$c2FsdA==$aGFzaA==$extra",
        ] {
            assert!(!verify("s3cret", stored), "{stored:?}");
        }
    }
}
