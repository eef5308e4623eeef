//! Propagation: N real SDK clients in this process, one real server
//! process; toggle K times and measure, per client, the time from the
//! admin call's start to that client having applied the change (its
//! `subscribe()` stream yields the change after the new snapshot is
//! swapped in). Also: server RSS per idle stream, and the kill latency as
//! a responder sees it (`switchyard kill --wait`, process start to all
//! clients applied).
//!
//! ```text
//! cargo build --release -p switchyard-server -p switchyard-bench
//! target/release/propagation --store postgres --clients 1000 --toggles 20
//! ```

use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::StreamExt;
use switchyard::{Client, Update};
use switchyard_bench::{Seeded, data_dir, server_binary, summary};
use switchyard_server::store::Role;
use tokio::sync::mpsc;

#[derive(Parser)]
struct Args {
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    store: String,
    /// SDK clients.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Toggles to measure.
    #[arg(long, default_value_t = 20)]
    toggles: usize,
    /// Also time `switchyard kill --wait` (process start to all applied).
    #[arg(long)]
    kill: bool,
    /// Raw SSE readers instead of SDK clients (the server's side of the
    /// floor: no parse, no apply, no acks).
    #[arg(long)]
    raw: bool,
    /// SDK acknowledgement hold time in ms (SDK default 100).
    #[arg(long, default_value_t = 100)]
    ack_delay_ms: u64,
}

/// A raw SSE reader: reports `(revision, arrival)` for every `change` frame.
async fn raw_reader(base: String, key: String, http: reqwest::Client, tx: mpsc::UnboundedSender<(u64, Instant)>) {
    let Ok(resp) = http.get(format!("{base}/sdk/v1/stream")).bearer_auth(&key).send().await else { return };
    let mut body = resp.bytes_stream();
    let mut buf = String::new();
    while let Some(Ok(chunk)) = body.next().await {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if block.contains("event: change")
                && let Some(id) = block.lines().find_map(|l| l.strip_prefix("id: "))
                && let Ok(rev) = id.trim().parse()
            {
                let _ = tx.send((rev, Instant::now()));
            }
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data_dir = data_dir()?;
    let Seeded { server, admin, sdk_key, .. } = Seeded::start(&args.store, &data_dir, 10).await?;
    let rss_before = server.rss_kib();

    // One HTTP client shared by every SDK client (one pool, many streams).
    let http = reqwest::Client::builder().pool_max_idle_per_host(usize::MAX).build()?;
    let (tx, mut rx) = mpsc::unbounded_channel::<(u64, Instant)>();
    let mut clients = Vec::with_capacity(args.clients);
    let connect_start = Instant::now();
    for _ in 0..args.clients {
        if args.raw {
            tokio::spawn(raw_reader(server.base.clone(), sdk_key.clone(), http.clone(), tx.clone()));
            continue;
        }
        let client = Client::builder(sdk_key.clone())
            .base_url(server.base.clone())
            .http_client(http.clone())
            .ack_delay(Duration::from_millis(args.ack_delay_ms))
            .build()?;
        let mut updates = client.subscribe();
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(update) = updates.next().await {
                if let Update::Changed(change) = update {
                    let _ = tx.send((change.new_revision, Instant::now()));
                }
            }
        });
        clients.push(client);
    }
    for c in &clients {
        c.wait_until_ready(Duration::from_secs(120)).await?;
    }
    if args.raw {
        // Wait until the server counts every raw stream.
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let m = http
                .get(format!("{}/metrics", server.base))
                .bearer_auth(switchyard_bench::METRICS_TOKEN)
                .send()
                .await?
                .text()
                .await?;
            let open = m
                .lines()
                .find(|l| l.starts_with("switchyard_sdk_streams{"))
                .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
            if open.unwrap_or(0.0) as usize >= args.clients {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Let every stream settle (snapshot received, acks sent).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = server.rss_kib();
    println!(
        "store={} {} clients={} connected in {:.1} s",
        args.store,
        if args.raw { "raw-sse" } else { "sdk" },
        args.clients,
        connect_start.elapsed().as_secs_f64()
    );
    if let (Some(a), Some(b)) = (rss_before, rss_after) {
        println!(
            "server RSS: {a} KiB idle → {b} KiB with {} streams = {:.1} KiB per stream",
            args.clients,
            (b.saturating_sub(a)) as f64 / args.clients as f64
        );
    }

    let mut all = Vec::new();
    for i in 0..args.toggles {
        while rx.try_recv().is_ok() {}
        let start = Instant::now();
        let revision = admin.toggle("flag-0", i.is_multiple_of(2)).await?.unwrap_or(0);
        let mut got = Vec::with_capacity(args.clients);
        let deadline = start + Duration::from_secs(30);
        while got.len() < args.clients {
            match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
                Ok(Some((rev, at))) if rev == revision => got.push(at.duration_since(start).as_secs_f64() * 1e3),
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        if got.len() < args.clients {
            println!("toggle {i}: only {} of {} clients applied within 30 s", got.len(), args.clients);
        }
        all.extend(got);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("propagation (admin call start → client applied): {}", summary(&mut all));

    if args.kill {
        let token = admin.client().create_token("pager", Role::Responder, None).await?.secret;
        let mut samples = Vec::new();
        for i in 0..args.toggles.min(10) {
            while rx.try_recv().is_ok() {}
            let start = Instant::now();
            let sub = if i % 2 == 0 { "kill" } else { "restore" };
            let out = tokio::process::Command::new(server_binary())
                .args([sub, "flag-1", "--env", "prod", "--reason", "bench", "--wait", "10s", "--json"])
                .env("SWITCHYARD_URL", &server.base)
                .env("SWITCHYARD_TOKEN", &token)
                .env("SWITCHYARD_PROJECT", "bench")
                .output()
                .await?;
            let cli_done = start.elapsed().as_secs_f64() * 1e3;
            let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            let revision = body["revision"].as_u64().unwrap_or(0);
            let mut last = 0f64;
            let mut n = 0;
            let deadline = Instant::now() + Duration::from_secs(5);
            while n < args.clients {
                match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
                    Ok(Some((rev, at))) if rev == revision => {
                        n += 1;
                        last = last.max(at.duration_since(start).as_secs_f64() * 1e3);
                    }
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
            println!(
                "{sub}: CLI exited {} after {cli_done:.1} ms; receipt {}; last client applied at {last:.1} ms ({n}/{})",
                out.status.code().unwrap_or(-1),
                body["receipt"],
                args.clients
            );
            samples.push(last);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        println!("kill via CLI (process start → all clients applied): {}", summary(&mut samples));
    }
    drop(clients);
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}
