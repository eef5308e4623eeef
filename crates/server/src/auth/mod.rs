//! Authentication and authorisation: the pieces (hashing, tokens, the
//! policy table, credential caches and limits). Must not touch the
//! application state or HTTP handlers: the middleware that applies them to
//! a request is [`crate::http::guard`].
//!
//! ## Layout
//! - [`password`]: argon2id hashing of local users' passwords.
//! - [`jwt`]: short-lived session tokens (HS256 pinned, `exp` required).
//! - [`secret`]: random API tokens and SDK keys, stored as SHA-256 hashes.
//! - [`principal`]: authentication of admin credentials into a principal.
//! - [`policy`]: the authorization table (route → role × scope) and the one function deciding.
//! - [`ratelimit`]: per-address (login) and per-user (password change) rate limits; the client address behind trusted proxies.
//! - [`sdk_keys`]: the cache of authenticated SDK keys and the revocation signals of their streams.
//! - [`credentials`]: credential lookups behind the [`negative`] cache and
//!   the failed-authentication limits of [`failures`]; [`kind`] names them.

pub mod credentials;
pub mod failures;
pub mod jwt;
pub mod kind;
pub mod negative;
pub mod password;
pub mod policy;
pub mod principal;
pub mod ratelimit;
pub mod sdk_keys;
pub mod secret;

pub use policy::Permission;
pub use principal::Principal;
