//! SDK key authentication: the key a request presents (`Authorization:
//! Bearer <key>`, or OFREP's `X-API-Key: <key>`), checked against the cache
//! of authenticated keys ([`crate::auth::sdk_keys`]), then the store behind the negative cache
//! and the failed-authentication limits ([`crate::auth::credentials`]).

use axum::http::HeaderMap;

use crate::auth::credentials::{Kind, Peer};
use crate::auth::principal::bearer;
use crate::auth::secret;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::SdkKey;

/// Authenticates an SDK key (cached per secret hash; revocation evicts;
/// unknown and revoked keys are remembered by the negative cache and their
/// failures limited, see [`crate::auth::credentials`]). Called by the
/// [`guard`](super::guard) for the SDK routes, which get the key as an
/// `Extension<SdkKey>`.
pub async fn sdk_key(state: &AppState, peer: Peer, headers: &HeaderMap) -> ApiResult<SdkKey> {
    let token = sdk_secret(headers).ok_or(ApiError::Unauthorized("missing SDK key"))?;
    sdk_key_by_hash(state, peer, headers, secret::hash(token)).await
}

/// The SDK key a request presents: `Authorization: Bearer <key>`, or
/// `X-API-Key: <key>` (OFREP's API-key option).
pub fn sdk_secret(headers: &HeaderMap) -> Option<&str> {
    bearer(headers).or_else(|| {
        let value = headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim);
        value.filter(|v| !v.is_empty())
    })
}

/// The SDK key whose secret hashes to `hash` (see [`sdk_key`]; the OFREP
/// refetch stream carries the hash in its path).
pub async fn sdk_key_by_hash(state: &AppState, peer: Peer, headers: &HeaderMap, hash: String) -> ApiResult<SdkKey> {
    if let Some(key) = state.sdk_keys.cached(&hash) {
        return Ok(key);
    }
    let fetch = || state.store.sdk_key_by_hash(&hash);
    let Some(key) = state.credentials.lookup(Kind::SdkKey, &hash, fetch, |k: &SdkKey| k.revoked_at.is_none()).await?
    else {
        state.sdk_keys.forget(&hash);
        let client = state.credentials.client(peer, headers);
        let rejection = ApiError::Unauthorized("invalid or revoked SDK key");
        return Err(state.credentials.failed(Kind::SdkKey, client, &hash, rejection));
    };
    state.sdk_keys.remember(hash, key.clone());
    // When the key was last used (the in-use check before an environment
    // is archived): on a cache miss only, off the request's path, and the
    // store writes at most once per key every few minutes.
    let (store, id) = (state.store.clone(), key.id);
    tokio::spawn(async move {
        if let Err(e) = store.record_sdk_key_use(id).await {
            tracing::debug!(error = %e, key = id, "recording an SDK key's use");
        }
    });
    Ok(key)
}
