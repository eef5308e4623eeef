//! Authentication and authorisation.
//!
//! ## Layout
//! - [`password`]: argon2id hashing of local users' passwords.
//! - [`jwt`]: short-lived session tokens (HS256 pinned, `exp` required).
//! - [`secret`]: random API tokens and SDK keys, stored as SHA-256 hashes.
//! - [`principal`]: authentication of admin credentials into a principal.
//! - [`sdk_key`]: authentication of SDK keys (SDK and OFREP routes).
//! - [`policy`]: the authorization table (route → role × scope) and the one function deciding.
//! - [`guard`]: the middleware applying the policy to every route before its handler.
//! - [`credentials`]: credential lookups behind the [`negative`] cache and
//!   the failed-authentication limits of [`failures`]; [`kind`] names them.

pub mod credentials;
pub mod failures;
pub mod guard;
pub mod jwt;
pub mod kind;
pub mod negative;
pub mod password;
pub mod policy;
pub mod principal;
pub mod sdk_key;
pub mod secret;

pub use policy::Permission;
pub use principal::Principal;
