//! Random secrets (API tokens, SDK keys, trigger URLs): 32 random bytes,
//! URL-safe base64, behind a readable type prefix. Only their SHA-256 is
//! stored; a database leak does not leak usable credentials.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of API tokens.
pub const API_TOKEN_PREFIX: &str = "sya";
/// Prefix of SDK keys.
pub const SDK_KEY_PREFIX: &str = "sdk";

/// A new random secret `"{kind}_{43 chars}"`.
pub fn random_token(kind: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{kind}_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 hex of a secret, as stored and looked up.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The displayable prefix of a secret (type + 6 characters).
pub fn display_prefix(secret: &str) -> String {
    secret.chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = super::random_token("sya");
        let b = super::random_token("sya");
        assert_ne!(a, b);
        assert!(a.starts_with("sya_") && a.len() == 4 + 43);
        assert_eq!(super::hash("x"), super::hash("x"));
        assert_eq!(super::hash("abc").len(), 64);
        assert_eq!(super::display_prefix(&a).len(), 10);
    }
}
