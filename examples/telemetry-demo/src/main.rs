//! A stand-in for a service's request loop with SDK telemetry on: each
//! round serves `REQUESTS` requests, one per user `user-0`, `user-1`, …;
//! each evaluates the boolean flag `FLAG`, records the request's outcome
//! for the variant served and counts a `checkout` event per success, then
//! the round's telemetry is flushed. The flag's page in the web UI charts
//! what arrives (the browser tests use this binary as their real SDK).
//!
//! Outcomes are simulated, deterministically: a request served `true`
//! takes 30 ms and, with `FAIL_EVERY=n`, every n-th of them fails; one
//! served `false` takes 8 ms and succeeds.
//!
//! ```text
//! SWITCHYARD_URL=http://127.0.0.1:8080 SWITCHYARD_SDK_KEY=sdk_… FLAG=new-checkout \
//!   ROUNDS=0 REQUESTS=200 FAIL_EVERY=10 cargo run -p switchyard-example-telemetry-demo
//! ```
//!
//! `ROUNDS=0` (the default) runs until stopped; `PAUSE_MS` (default 1000)
//! separates rounds. After each flush it prints one line:
//! `round <n>: <requests> requests, <true> true, <errors> errors, flushed`.

use std::time::Duration;

use switchyard::telemetry::{Exposure, Outcome};
use switchyard::{Client, Context};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| format!("{name}: not a number: {v}")),
        Err(_) => Ok(default),
    }
}

/// Serves one round; returns (requests served `true`, errors).
fn round(client: &Client, flag: &str, requests: u64, fail_every: u64) -> (u64, u64) {
    let (mut on, mut errors) = (0, 0);
    for i in 0..requests {
        let user = format!("user-{i}");
        let detail = client.bool_detail(flag, &Context::new(&user), false);
        let outcome = if detail.value {
            on += 1;
            if fail_every > 0 && on % fail_every == 0 {
                errors += 1;
                Outcome::failed(Duration::from_millis(30))
            } else {
                Outcome::ok(Duration::from_millis(30))
            }
        } else {
            Outcome::ok(Duration::from_millis(8))
        };
        if let Some(exposure) = Exposure::of(flag, &detail) {
            client.record(exposure, outcome);
        }
        if !outcome.error {
            client.track("checkout", 1.0);
        }
    }
    (on, errors)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("SWITCHYARD_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let key = std::env::var("SWITCHYARD_SDK_KEY").map_err(|_| "set SWITCHYARD_SDK_KEY")?;
    let flag = std::env::var("FLAG").unwrap_or_else(|_| "new-checkout".into());
    let rounds: u64 = env_or("ROUNDS", 0)?;
    let requests: u64 = env_or("REQUESTS", 200)?;
    let fail_every: u64 = env_or("FAIL_EVERY", 0)?;
    let pause = Duration::from_millis(env_or("PAUSE_MS", 1000)?);

    let client = Client::builder(key).base_url(url).telemetry(true).build()?;
    client.wait_until_ready(Duration::from_secs(10)).await?;
    let mut n = 0;
    while rounds == 0 || n < rounds {
        if n > 0 {
            tokio::time::sleep(pause).await;
        }
        n += 1;
        let (on, errors) = round(&client, &flag, requests, fail_every);
        client.flush().await?;
        println!("round {n}: {requests} requests, {on} true, {errors} errors, flushed");
    }
    Ok(())
}
