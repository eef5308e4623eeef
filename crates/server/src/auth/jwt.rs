//! Session tokens: HS256 JWTs signed with the server secret. The algorithm
//! is pinned (a header naming any other, `none` included, is refused);
//! `exp`, `iat`, `iss`, `aud` and `sub` are required and checked; `nbf`,
//! when present, must have passed; `iat` may not lie in the future. Clock
//! skew allowed on each time claim: [`LEEWAY_SECS`]. The secret must be at
//! least 32 bytes (a GrowthBook advisory: a default `JWT_SECRET="dev"` let
//! anyone forge sessions).

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::store::Role;

const ISSUER: &str = "switchyard";
const AUDIENCE: &str = "switchyard-admin";

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECS: u64 = 5;

/// Minimum secret length in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// Claims of a session token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// User name.
    pub sub: String,
    /// Role at login time.
    pub role: Role,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The user's password version at login: once a password change bumps
    /// it, the token is refused (absent in tokens from before versions: 0).
    #[serde(default)]
    pub pwv: i64,
}

/// Signing and verification keys.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(<redacted>)")
    }
}

/// Why a secret was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "the JWT secret must be at least {MIN_SECRET_LEN} bytes of random data (got {0} bytes, or a trivially repetitive value)"
)]
pub struct WeakSecret(pub usize);

impl JwtKeys {
    /// Builds keys from a secret, refusing weak ones.
    pub fn new(secret: &[u8]) -> Result<Self, WeakSecret> {
        let distinct = secret.iter().collect::<std::collections::HashSet<_>>().len();
        if secret.len() < MIN_SECRET_LEN || distinct < 8 {
            return Err(WeakSecret(secret.len()));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        // Off by default in jsonwebtoken: a token "not valid before"
        // tomorrow was accepted today.
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        })
    }

    /// Issues a token valid until `expires_at`, for the user's current
    /// password version `pwv`.
    pub fn issue(&self, user: &str, role: Role, pwv: i64, expires_at: DateTime<Utc>) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user.to_string(),
            role,
            exp: expires_at.timestamp(),
            iat: Utc::now().timestamp(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            pwv,
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// Verifies signature, algorithm, expiry, not-before, issue time,
    /// issuer and audience.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?.claims;
        // jsonwebtoken does not look at `iat`: a token issued "in the
        // future" was minted by a skewed or forged clock.
        let skew = i64::try_from(LEEWAY_SECS).unwrap_or(i64::MAX);
        (claims.iat <= Utc::now().timestamp().saturating_add(skew)).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn keys() -> JwtKeys {
        JwtKeys::new(b"0123456789abcdefghijklmnopqrstuvwxyz").unwrap()
    }

    #[test]
    fn weak_secrets_are_refused() {
        assert!(JwtKeys::new(b"dev").is_err());
        assert!(JwtKeys::new(&[b'a'; 64]).is_err());
    }

    #[test]
    fn issue_and_verify() {
        let k = keys();
        let t = k.issue("alice", Role::Editor, 0, Utc::now() + Duration::minutes(5)).unwrap();
        let c = k.verify(&t).unwrap();
        assert_eq!((c.sub.as_str(), c.role), ("alice", Role::Editor));
    }

    #[test]
    fn expired_foreign_and_unsigned_tokens_fail() {
        let k = keys();
        let expired = k.issue("a", Role::Admin, 0, Utc::now() - Duration::minutes(5)).unwrap();
        assert!(k.verify(&expired).is_none());
        let other = JwtKeys::new(b"ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210").unwrap();
        let forged = other.issue("a", Role::Admin, 0, Utc::now() + Duration::minutes(5)).unwrap();
        assert!(k.verify(&forged).is_none());
        // alg=none token with valid-looking claims
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhIiwicm9sZSI6ImFkbWluIiwiZXhwIjo5OTk5OTk5OTk5LCJpYXQiOjAsImlzcyI6InN3aXRjaHlhcmQiLCJhdWQiOiJzd2l0Y2h5YXJkLWFkbWluIn0.";
        assert!(k.verify(none).is_none());
        // HS512 with the right secret is still refused: the algorithm is pinned
        let claims = Claims {
            sub: "a".into(),
            role: Role::Admin,
            exp: Utc::now().timestamp() + 60,
            iat: 0,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            pwv: 0,
        };
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(b"0123456789abcdefghijklmnopqrstuvwxyz"),
        )
        .unwrap();
        assert!(k.verify(&hs512).is_none());
    }
}
