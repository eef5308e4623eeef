//! Telemetry ingestion: SDK telemetry batches (`POST /sdk/v1/telemetry`,
//! the shape the SDK flushes every 10 s) sent from this process to the
//! release server in its own process, on Postgres by default, by
//! `--senders` concurrent senders, each batch from one of `--instances`
//! instance ids, all for the same environment and the current minute (as a
//! fleet's flushes are: every instance adds to the same per-minute rows).
//!
//! An **event** here is one telemetry item: one (flag, variant) evaluation
//! count, one (flag, variant) request outcome (with its 15 latency
//! buckets), one custom event count, or one (flag, variant, event) count:
//! each is one upsert that adds. Reported: batches/s and events/s (wall
//! clock), and events per CPU-second ("per core") of the server process,
//! of the Postgres backends serving this run's database (both read from
//! `/proc/<pid>/stat` before and after), and of both together. The
//! senders' own CPU (this process) is not counted: they are the fleet.
//!
//! ```text
//! cargo build --release -p switchyard-server -p switchyard-bench
//! target/release/telemetry_ingest --store postgres --batches 3000 --senders 8
//! ```

use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use serde_json::{Value, json};
use switchyard_bench::{Admin, ServerProcess, data_dir, fresh_postgres, summary};

#[derive(Parser)]
struct Args {
    /// `postgres` or `sqlite`.
    #[arg(long, default_value = "postgres")]
    store: String,
    /// Batches measured.
    #[arg(long, default_value_t = 3000)]
    batches: usize,
    /// Batches sent before measuring.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Concurrent senders (HTTP connections).
    #[arg(long, default_value_t = 8)]
    senders: usize,
    /// Distinct SDK instances the batches come from.
    #[arg(long, default_value_t = 200)]
    instances: usize,
    /// Flags per batch (each with 2 variants evaluated).
    #[arg(long, default_value_t = 40)]
    flags: usize,
    /// Of those, flags with request outcomes (and a custom event per variant).
    #[arg(long, default_value_t = 10)]
    outcome_flags: usize,
}

/// One batch of instance `instance`: `flags` × 2 evaluation counts,
/// `outcome_flags` × 2 outcomes and variant events, 2 custom events.
fn batch(args: &Args, instance: usize, now_ms: u64) -> (Value, usize) {
    let variants = ["on", "off"];
    let pairs = || (0..args.flags).flat_map(|f| variants.iter().map(move |v| (f, *v)));
    let evaluations: Vec<Value> =
        pairs().map(|(f, v)| json!({"flag": format!("flag-{f}"), "variant": v, "count": 100 + f})).collect();
    let measured = || pairs().filter(|(f, _)| *f < args.outcome_flags);
    let mut buckets = vec![0u64; 15];
    (buckets[2], buckets[3], buckets[5]) = (30, 50, 20);
    let outcomes: Vec<Value> = measured()
        .map(|(f, v)| {
            json!({"flag": format!("flag-{f}"), "variant": v, "requests": 100, "errors": 1,
            "latency_ms_sum": 1234.5, "latency_ms_sum_sq": 23456.7, "latency_ms_buckets": buckets})
        })
        .collect();
    let variant_events: Vec<Value> = measured()
        .map(|(f, v)| json!({"flag": format!("flag-{f}"), "variant": v, "event": "checkout", "count": 3, "value_sum": 42.0}))
        .collect();
    let events = vec![
        json!({"event": "checkout", "count": 30, "value_sum": 420.0}),
        json!({"event": "signup", "count": 2, "value_sum": 0.0}),
    ];
    let items = evaluations.len() + outcomes.len() + variant_events.len() + events.len();
    let body = json!({"sdk": "switchyard-bench/0", "instance": format!("bench-{instance}"), "start_ms": now_ms - 10_000,
        "end_ms": now_ms, "evaluations": evaluations, "outcomes": outcomes, "events": events, "variant_events": variant_events});
    (body, items)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// CPU seconds (user + system) of process `pid` so far.
fn cpu_seconds(pid: u32, ticks: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (in parentheses, which may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let (utime, stime): (f64, f64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    Some((utime + stime) / ticks)
}

fn clock_ticks() -> f64 {
    let out = std::process::Command::new("getconf").arg("CLK_TCK").output().ok();
    out.and_then(|o| String::from_utf8(o.stdout).ok()).and_then(|s| s.trim().parse().ok()).unwrap_or(100.0)
}

/// The Postgres backends of this run's database (the server's pool).
async fn backends(url: &str) -> anyhow::Result<Vec<u32>> {
    let pool = sqlx::PgPool::connect(url).await?;
    let pids: Vec<(i32,)> = sqlx::query_as(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&pool)
    .await?;
    pool.close().await;
    Ok(pids.into_iter().map(|(p,)| p as u32).collect())
}

/// Sends `n` batches from `senders` tasks; returns each batch's latency (ms).
async fn send(args: &Args, base: &str, key: &str, n: usize, offset: usize) -> anyhow::Result<Vec<f64>> {
    let http = reqwest::Client::new();
    let url = format!("{base}/sdk/v1/telemetry");
    let mut tasks = Vec::new();
    for s in 0..args.senders {
        let (http, url, key) = (http.clone(), url.clone(), key.to_string());
        let bodies: Vec<Value> = (0..n)
            .filter(|i| i % args.senders == s)
            .map(|i| batch(args, (offset + i) % args.instances, now_ms()).0)
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(bodies.len());
            for body in bodies {
                let t = Instant::now();
                let resp = http.post(&url).bearer_auth(&key).json(&body).send().await?;
                anyhow::ensure!(
                    resp.status().is_success(),
                    "telemetry answered {}: {}",
                    resp.status(),
                    resp.text().await?
                );
                latencies.push(t.elapsed().as_secs_f64() * 1e3);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = data_dir()?;
    let url = match args.store.as_str() {
        "postgres" => fresh_postgres().await?,
        _ => format!("sqlite://{}/bench.db", dir.display()),
    };
    let server = ServerProcess::start_with(&url, &dir, &[("SWITCHYARD_TELEMETRY_RATE", "0")]).await?;
    let admin = Admin::login(&server.base).await?;
    let key = admin.seed(args.flags).await?;
    let items = batch(&args, 0, now_ms()).1;
    send(&args, &server.base, &key, args.warmup, 0).await.context("warm-up")?;

    let (ticks, pid) = (clock_ticks(), server.pid().context("server pid")?);
    let pg = if args.store == "postgres" { backends(&url).await? } else { Vec::new() };
    let pg_cpu = |pids: &[u32]| pids.iter().filter_map(|p| cpu_seconds(*p, ticks)).sum::<f64>();
    let (server_before, pg_before) = (cpu_seconds(pid, ticks).unwrap_or(0.0), pg_cpu(&pg));
    let start = Instant::now();
    let mut latencies = send(&args, &server.base, &key, args.batches, args.warmup).await?;
    let wall = start.elapsed().as_secs_f64();
    let server_cpu = cpu_seconds(pid, ticks).unwrap_or(0.0) - server_before;
    // Backends opened during the run count from zero.
    let pg_now = if args.store == "postgres" { backends(&url).await? } else { Vec::new() };
    let pg_cpu = pg_cpu(&pg_now) - pg_before;

    let events = (args.batches * items) as f64;
    println!(
        "store={} senders={} instances={} items/batch={items}: {:.0} batches/s, {:.0} events/s; batch latency {}",
        args.store,
        args.senders,
        args.instances,
        args.batches as f64 / wall,
        events / wall,
        summary(&mut latencies)
    );
    println!(
        "cpu over {wall:.2} s: server {server_cpu:.2} s, postgres backends {pg_cpu:.2} s ({} of them); \
         events per CPU-second: server {:.0}, postgres {:.0}, both {:.0}",
        pg_now.len(),
        events / server_cpu,
        events / pg_cpu,
        events / (server_cpu + pg_cpu)
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
