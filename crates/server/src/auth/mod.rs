//! Authentication and authorisation.
//!
//! ## Layout
//! - [`password`]: argon2id hashing of local users' passwords.
//! - [`jwt`]: short-lived session tokens (HS256 pinned, `exp` required).
//! - [`secret`]: random API tokens and SDK keys, stored as SHA-256 hashes.
//! - [`principal`]: the request extractor and the role matrix.
//! - [`credentials`]: credential lookups behind the [`negative`] cache and
//!   the failed-authentication limits of [`failures`]; [`kind`] names them.

pub mod credentials;
pub mod failures;
pub mod jwt;
pub mod kind;
pub mod negative;
pub mod password;
pub mod principal;
pub mod secret;

pub use principal::{Permission, Principal};
