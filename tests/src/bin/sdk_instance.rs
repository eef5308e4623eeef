//! One SDK instance in its own process, for the end-to-end tests: a real
//! `switchyard::Client` that names its service, evaluates a flag every
//! 20 ms (with telemetry on), prints `ready` once it has the flags and
//! `value <revision> <bool>` whenever what it serves changes, and exits when
//! its standard input closes (the test dropping it ends it).
//!
//! Usage: `sdk_instance BASE_URL SDK_KEY SERVICE VERSION FLAG [poll]`
//! (`poll`: no stream, snapshot polls every 200 ms).

use std::time::Duration;

use switchyard::{Client, Context};
use tokio::io::AsyncReadExt;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, key, service, version, flag, rest @ ..] = args.as_slice() else {
        eprintln!("usage: sdk_instance BASE_URL SDK_KEY SERVICE VERSION FLAG [poll]");
        std::process::exit(2);
    };
    let poll = rest.first().is_some_and(|m| m == "poll");
    let client = Client::builder(key.as_str())
        .base_url(base.as_str())
        .service_name(service.as_str())
        .service_version(version.as_str())
        .streaming(!poll)
        .polling_interval(Duration::from_millis(200))
        .initial_backoff(Duration::from_millis(50))
        .max_backoff(Duration::from_millis(500))
        .telemetry(true)
        .build()
        .expect("a valid SDK configuration");
    client.wait_until_ready(Duration::from_secs(60)).await.expect("SDK ready");
    println!("ready");
    let ctx = Context::new("user-1");
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    let mut last = None;
    loop {
        tokio::select! {
            read = stdin.read(&mut buf) => if matches!(read, Ok(0) | Err(_)) { break },
            () = tokio::time::sleep(Duration::from_millis(20)) => {
                let detail = client.bool_detail(flag, &ctx, false);
                if last != Some((detail.revision, detail.value)) {
                    last = Some((detail.revision, detail.value));
                    println!("value {} {}", detail.revision, detail.value);
                }
            }
        }
    }
}
