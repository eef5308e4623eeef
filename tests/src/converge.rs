//! The SDK under test and the checks that it serves exactly what the server
//! does; [`eventually`]: polling a condition against a deadline.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::Value;
use switchyard::core::CompiledSnapshot;
use switchyard::{Client, Context, Snapshot};

use crate::DEADLINE;

/// An SDK client for tests: the default options except a short
/// reconnection backoff (servers restart within the test).
pub fn sdk(base: &str, sdk_key: &str) -> Client {
    sdk_builder(base, sdk_key).build().expect("building the SDK client")
}

/// The builder behind [`sdk`], to adjust further.
pub fn sdk_builder(base: &str, sdk_key: &str) -> switchyard::ClientBuilder {
    Client::builder(sdk_key)
        .base_url(base)
        .initial_backoff(Duration::from_millis(50))
        .max_backoff(Duration::from_millis(500))
        .polling_interval(Duration::from_secs(2))
}

/// The server's snapshot for `sdk_key` (`GET /sdk/v1/snapshot`).
pub async fn server_snapshot(base: &str, sdk_key: &str) -> Snapshot {
    let resp = reqwest::Client::new()
        .get(format!("{base}/sdk/v1/snapshot"))
        .bearer_auth(sdk_key)
        .send()
        .await
        .expect("snapshot request");
    assert_eq!(resp.status(), 200, "GET /sdk/v1/snapshot");
    resp.json().await.expect("snapshot body")
}

/// Context keys every comparison evaluates (targets in the tests use them).
pub fn probe_contexts() -> Vec<Context<'static>> {
    let mut out: Vec<Context<'static>> =
        (0..6).map(|i| Context::new(format!("user-{i}")).with("plan", "pro")).collect();
    out.push(Context::new("anonymous"));
    out
}

/// Differences between what `client` serves and `server` (empty: equal):
/// the revision, the set of flags, each flag's version, on/off and kill,
/// and every flag's evaluation (value, variant, reason) for
/// [`probe_contexts`].
pub fn differences(client: &Client, server: &Snapshot) -> Vec<String> {
    let mut diffs = Vec::new();
    let Some(ours) = client.snapshot() else {
        return vec!["the client has no snapshot".into()];
    };
    if ours.revision() != server.revision {
        diffs.push(format!("revision: client {} vs server {}", ours.revision(), server.revision));
    }
    let theirs = CompiledSnapshot::compile(server).expect("the server snapshot compiles");
    let mut our_keys: Vec<&str> = ours.flag_keys().collect();
    let mut their_keys: Vec<&str> = theirs.flag_keys().collect();
    our_keys.sort_unstable();
    their_keys.sort_unstable();
    if our_keys != their_keys {
        diffs.push(format!("flags: client {our_keys:?} vs server {their_keys:?}"));
    }
    let contexts = probe_contexts();
    for flag in theirs.flags() {
        let key = flag.key();
        let Some(mine) = ours.flag(key) else { continue };
        let state = |f: &switchyard::core::CompiledFlag| (f.version(), f.is_on(), f.kill().cloned());
        if state(mine) != state(flag) {
            diffs.push(format!("{key}: client (version, on, kill) {:?} vs server {:?}", state(mine), state(flag)));
        }
        for ctx in &contexts {
            let got = client.json_detail(key, ctx, Value::Null);
            let want = theirs.json_detail(key, ctx, Value::Null);
            let got = (got.value, got.variant, got.reason.code());
            let want = (want.value, want.variant, want.reason.code());
            if got != want {
                diffs.push(format!("{key} for {}: client {got:?} vs server {want:?}", ctx.key()));
            }
        }
    }
    diffs
}

/// Asserts that `client` serves exactly `server`.
pub fn assert_converged(client: &Client, server: &Snapshot) {
    let diffs = differences(client, server);
    assert!(diffs.is_empty(), "the SDK differs from the server:\n  {}", diffs.join("\n  "));
}

/// Waits until `client` serves the server's current snapshot, then
/// asserts they are equal in every respect (see [`differences`]). Call it
/// once writes have stopped. Returns the snapshot.
pub async fn wait_converged(client: &Client, base: &str, sdk_key: &str) -> Snapshot {
    let server = server_snapshot(base, sdk_key).await;
    let want = server.revision;
    eventually(&format!("the SDK reaches revision {want}"), || async { client.revision() >= Some(want) }).await;
    assert_converged(client, &server);
    server
}

/// Polls `condition` every 20 ms until it holds; panics after [`DEADLINE`].
pub async fn eventually<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_within(DEADLINE, what, condition).await;
}

/// [`eventually`] with another deadline.
pub async fn eventually_within<F, Fut>(within: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if condition().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
