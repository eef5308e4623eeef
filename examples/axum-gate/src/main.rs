//! An axum service whose `/checkout` route is gated by the flag
//! `new-checkout`, evaluated locally by the Switchyard SDK on every request
//! (no network call per check). Kill the flag and the very next request
//! takes the old path.
//!
//! ```text
//! SWITCHYARD_URL=http://127.0.0.1:8080 SWITCHYARD_SDK_KEY=sdk_… \
//!   cargo run -p switchyard-example-axum-gate
//! curl 'http://127.0.0.1:3000/checkout?user=alice&plan=pro'
//! ```

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use switchyard::{Client, Context};

async fn checkout(State(flags): State<Client>, Query(q): Query<HashMap<String, String>>) -> String {
    let user = q.get("user").map_or("anonymous", String::as_str);
    let mut ctx = Context::new(user);
    if let Some(plan) = q.get("plan") {
        ctx = ctx.with("plan", plan.as_str());
    }
    let detail = flags.bool_detail("new-checkout", &ctx, false);
    let path = if detail.value { "new checkout" } else { "old checkout" };
    format!("{path} (reason {}, revision {})\n", detail.reason.code(), detail.revision)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("SWITCHYARD_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let key = std::env::var("SWITCHYARD_SDK_KEY").map_err(|_| "set SWITCHYARD_SDK_KEY")?;
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());

    let flags = Client::builder(key).base_url(url).build()?;
    // Serve defaults if the flag server is down at start: never block startup for long.
    if let Err(err) = flags.wait_until_ready(Duration::from_secs(5)).await {
        eprintln!("flags not ready yet ({err}); serving defaults until they are");
    }
    let app = Router::new().route("/checkout", get(checkout)).with_state(flags);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
