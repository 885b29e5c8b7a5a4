//! Passwords: argon2id hashes in PHC form (salt and parameters inside), verification, and the
//! strength rule a new password must pass.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::OsRng;
use std::sync::OnceLock;

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted (hashing a megabyte is a denial of service, not a password).
pub const MAX_LENGTH: usize = 256;

/// Passwords that people pick first; refused whatever their length.
const COMMON: &[&str] = &[
    "password1234",
    "passwordpassword",
    "123456789012",
    "qwertyuiopas",
    "letmeinletmein",
    "changemechangeme",
    "welcome12345",
    "administrator",
    "medlinkmedlink",
];

/// Why a password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("the password is empty")]
    Empty,
    #[error("the password has {0} characters; at least {MIN_LENGTH} are needed")]
    TooShort(usize),
    #[error("the password is longer than {MAX_LENGTH} characters")]
    TooLong,
    #[error("the password contains the account's name")]
    ContainsName,
    #[error("the password has fewer than 5 different characters")]
    TooRepetitive,
    #[error("the password is on the list of commonly used passwords")]
    Common,
}

/// Checks a new password for account `name`.
pub fn check_strength(password: &str, name: &str) -> Result<(), WeakPassword> {
    let length = password.chars().count();
    if password.trim().is_empty() {
        return Err(WeakPassword::Empty);
    }
    if length < MIN_LENGTH {
        return Err(WeakPassword::TooShort(length));
    }
    if length > MAX_LENGTH {
        return Err(WeakPassword::TooLong);
    }
    let lower = password.to_lowercase();
    if name.len() >= 3 && lower.contains(&name.to_lowercase()) {
        return Err(WeakPassword::ContainsName);
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 5 {
        return Err(WeakPassword::TooRepetitive);
    }
    if COMMON.contains(&lower.as_str()) {
        return Err(WeakPassword::Common);
    }
    Ok(())
}

/// The hasher: argon2id, version 0x13, OWASP's minimum (19 MiB, 2 passes, 1 lane).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The argon2id hash (PHC string) of `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing the password: {e}"))
}

/// Whether `password` matches the PHC string `stored` (false for a malformed one).
pub fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_LENGTH * 4 {
        return false;
    }
    match PasswordHash::new(stored) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash no password is known for: verified against when the name is unknown, so an unknown
/// name costs the same time as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let secret = super::secrets::random_hex(32);
        hash(&secret).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$"));
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("anything", "not a phc string"));
        assert!(!verify("", decoy_hash()));
    }

    #[test]
    fn weak_passwords_are_refused_with_the_reason() {
        assert_eq!(check_strength("", "ann"), Err(WeakPassword::Empty));
        assert_eq!(
            check_strength("short1!", "ann"),
            Err(WeakPassword::TooShort(7))
        );
        assert_eq!(
            check_strength("xx-Annie-2026-yy", "annie"),
            Err(WeakPassword::ContainsName)
        );
        assert_eq!(
            check_strength("abababababab", "ann"),
            Err(WeakPassword::TooRepetitive)
        );
        assert_eq!(
            check_strength("Password1234", "ann"),
            Err(WeakPassword::Common)
        );
        assert_eq!(
            check_strength(&"x1y2z3".repeat(50), "ann"),
            Err(WeakPassword::TooLong)
        );
        assert_eq!(check_strength("ward 7 night shift", "ann"), Ok(()));
    }
}
