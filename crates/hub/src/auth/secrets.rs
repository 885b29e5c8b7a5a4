//! Random secrets (session cookies, CSRF tokens, bearer tokens) from the operating system's
//! generator, their SHA-256 for storage, and a comparison whose time does not depend on where
//! two secrets differ.

use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// `bytes` random bytes as lower-case hex (32 bytes: 256 bits, 64 characters).
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    hex(&buffer)
}

/// SHA-256 of `secret`, lower-case hex.
pub fn sha256_hex(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `a` and `b` are equal, looking at every byte whatever differs first.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_256_bit_hex() {
        let (a, b) = (random_hex(32), random_hex(32));
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b) && !same_secret(&a, &a[..63]));
    }
}
