//! Session tokens (JWT) against the real server over sockets, on both
//! stores: every token below is built by hand (claims and header chosen by
//! the test, signed with the server's own secret unless the case is about
//! the signature) and sent as a bearer token to `GET /api/v1/me`.
//! Only the well-formed, current one may pass.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Sha256, Sha384};
use switchyard_server::config::ServeConfig;
use switchyard_server::testing::{TestDb, TestServer};

const SECRET: &str = "sessions-test-secret-0123456789-abcdefghij";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims of a session that would be accepted, as of now.
fn good_claims() -> Value {
    json!({"sub": "admin", "role": "admin", "exp": now() + 600, "iat": now(), "iss": "switchyard", "aud": "switchyard-admin"})
}

fn b64(value: &Value) -> String {
    B64.encode(serde_json::to_vec(value).unwrap())
}

/// `header.claims.signature`, HMAC-SHA256 (or SHA-384) over the first two
/// parts with `secret`, whatever `alg` the header names.
fn token(header: Value, claims: &Value, secret: &str, sha384: bool) -> String {
    let signing_input = format!("{}.{}", b64(&header), b64(claims));
    let signature = if sha384 {
        let mut mac = Hmac::<Sha384>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(signing_input.as_bytes());
        mac.finalize().into_bytes().to_vec()
    } else {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(signing_input.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    format!("{signing_input}.{}", B64.encode(signature))
}

fn hs256(claims: &Value) -> String {
    token(json!({"alg": "HS256", "typ": "JWT"}), claims, SECRET, false)
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(key);
    } else {
        claims[key] = value;
    }
    claims
}

/// Every token a client could forge or replay, and whether it must pass.
fn cases() -> Vec<(&'static str, String, bool)> {
    let good = good_claims();
    let valid = hs256(&good);
    let (head, rest) = valid.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let mut flipped = sig.to_string();
    let last = if flipped.ends_with('A') { 'B' } else { 'A' };
    flipped.pop();
    flipped.push(last);
    let escalated = with(with(good.clone(), "sub", json!("mallory")), "role", json!("admin"));
    vec![
        ("valid", valid.clone(), true),
        ("nbf in the past", hs256(&with(good.clone(), "nbf", json!(now() - 60))), true),
        ("expired", hs256(&with(good.clone(), "exp", json!(now() - 60))), false),
        ("exp missing", hs256(&with(good.clone(), "exp", Value::Null)), false),
        ("exp as a string", hs256(&with(good.clone(), "exp", json!("99999999999"))), false),
        ("nbf in the future", hs256(&with(good.clone(), "nbf", json!(now() + 3600))), false),
        ("nbf as a string", hs256(&with(good.clone(), "nbf", json!((now() + 3600).to_string()))), false),
        ("iat in the future", hs256(&with(good.clone(), "iat", json!(now() + 3600))), false),
        ("iat missing", hs256(&with(good.clone(), "iat", Value::Null)), false),
        ("wrong issuer", hs256(&with(good.clone(), "iss", json!("someone-else"))), false),
        ("wrong audience", hs256(&with(good.clone(), "aud", json!("switchyard-sdk"))), false),
        ("alg none, no signature", format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&good)), false),
        ("alg None, no signature", format!("{}.{}.", b64(&json!({"alg": "None"})), b64(&good)), false),
        ("alg HS384 with the server secret", token(json!({"alg": "HS384"}), &good, SECRET, true), false),
        ("alg RS256 header, HMAC signature", token(json!({"alg": "RS256"}), &good, SECRET, false), false),
        (
            "another secret",
            token(json!({"alg": "HS256"}), &good, "another-secret-0123456789-abcdefghijkl", false),
            false,
        ),
        ("tampered signature", format!("{head}.{}.{flipped}", b64(&good)), false),
        ("tampered claims, original signature", format!("{head}.{}.{sig}", b64(&escalated)), false),
        ("signature stripped", format!("{head}.{}.", b64(&good)), false),
    ]
}

#[tokio::test]
async fn only_current_well_signed_hs256_sessions_pass() {
    for db in TestDb::all().await {
        let mut config = ServeConfig::for_tests(db.url());
        config.jwt_secret = Some(SECRET.into());
        let server = TestServer::start_with(config).await;
        let http = reqwest::Client::new();
        let mut wrong = Vec::new();
        for (name, token, accepted) in cases() {
            let resp = http.get(server.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
            let status = resp.status().as_u16();
            let ok = if accepted {
                status == 200
            } else {
                let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let body: Value = resp.json().await.unwrap_or_default();
                status == 401 && ctype == "application/problem+json" && body["code"] == "unauthorized"
            };
            if !ok {
                wrong.push(format!("{name}: {status}"));
            }
        }
        assert!(wrong.is_empty(), "{}: tokens answered wrongly: {wrong:#?}", db.label());
        server.stop().await;
        db.cleanup().await;
    }
}
