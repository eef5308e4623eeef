//! Write path: toggles per second and toggle latency (HTTP round trip
//! including the transaction commit, audit event and change-log row), one
//! writer at a time and with concurrent writers on different flags; on
//! Postgres, next to a floor in the same run: the least a toggle must do
//! (`BEGIN; UPDATE flag_configs …; INSERT INTO audit_events …; COMMIT` over
//! one sqlx connection from this process, no HTTP).
//!
//! The server is the release binary in its own process (see
//! `switchyard_bench::ServerProcess`); this process is its only client
//! (one keep-alive connection, one toggle at a time in the sequential
//! phase).
//!
//! ```text
//! cargo build --release -p switchyard-server -p switchyard-bench
//! target/release/write_path --store postgres --toggles 2000
//! ```

use std::time::Instant;

use clap::Parser;
use sqlx::Connection as _;
use switchyard_bench::{Admin, Seeded, data_dir, percentile, summary};

#[derive(Parser)]
struct Args {
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    store: String,
    /// Toggles per phase.
    #[arg(long, default_value_t = 1000)]
    toggles: usize,
    /// Concurrent writers in the second phase.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Toggles before measuring (connections opened, statements prepared).
    #[arg(long, default_value_t = 50)]
    warmup: usize,
}

/// Rate and sorted latencies (ms) of `n` sequential toggles of `flag-0`.
async fn sequential(admin: &Admin, n: usize) -> anyhow::Result<(f64, Vec<f64>)> {
    let mut latencies = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        admin.toggle("flag-0", i % 2 == 0).await?;
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok((n as f64 / start.elapsed().as_secs_f64(), latencies))
}

/// Concurrent writers, each on its own flag.
async fn concurrent(admin: &Admin, writers: usize, per: usize) -> anyhow::Result<(f64, Vec<f64>)> {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let admin = admin.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            for i in 0..per {
                let t = Instant::now();
                admin.toggle(&format!("flag-{w}"), i % 2 == 0).await?;
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((all.len() as f64 / start.elapsed().as_secs_f64(), all))
}

/// The floor: `n` transactions of one `UPDATE` and one audit `INSERT` on
/// `flag-0`'s configuration, straight over one connection.
async fn floor(url: &str, n: usize, warmup: usize) -> anyhow::Result<(f64, Vec<f64>)> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let (env, flag, project): (i64, i64, i64) = sqlx::query_as(
        "SELECT e.id, f.id, p.id FROM environments e JOIN projects p ON p.id = e.project_id \
         JOIN flags f ON f.project_id = p.id WHERE p.key = 'bench' AND e.key = 'prod' AND f.key = 'flag-0'",
    )
    .fetch_one(&mut conn)
    .await?;
    let mut latencies = Vec::with_capacity(n);
    let mut start = Instant::now();
    for i in 0..warmup + n {
        if i == warmup {
            start = Instant::now();
        }
        let (t, on) = (Instant::now(), i % 2 == 0);
        let mut tx = conn.begin().await?;
        sqlx::query(
            "UPDATE flag_configs SET on_state = $3, version = version + 1, updated_at = $4 \
             WHERE environment_id = $1 AND flag_id = $2",
        )
        .bind(env)
        .bind(flag)
        .bind(on)
        .bind(i as i64)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO audit_events (project_id, environment, flag, actor, actor_kind, action, after, at) \
             VALUES ($1, 'prod', 'flag-0', 'floor', 'user', 'flag.toggle', $2, $3)",
        )
        .bind(project)
        .bind(sqlx::types::Json(serde_json::json!({ "on": on })))
        .bind(i as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if i >= warmup {
            latencies.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok((n as f64 / start.elapsed().as_secs_f64(), latencies))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data_dir = data_dir()?;
    let seeded = Seeded::start(&args.store, &data_dir, args.concurrency.max(1)).await?;
    let admin = &seeded.admin;
    sequential(admin, args.warmup).await?;

    let (seq_rate, mut ours) = sequential(admin, args.toggles).await?;
    println!("store={} sequential: {seq_rate:.0} toggles/s; latency {}", args.store, summary(&mut ours));

    let per = args.toggles / args.concurrency.max(1);
    let (rate, mut all) = concurrent(admin, args.concurrency.max(1), per).await?;
    println!(
        "store={} {} concurrent writers: {rate:.0} toggles/s; latency {}",
        args.store,
        args.concurrency,
        summary(&mut all)
    );

    if args.store == "postgres" {
        let (floor_rate, mut floor) = floor(&seeded.database_url, args.toggles, args.warmup).await?;
        println!(
            "store=postgres floor (UPDATE + audit INSERT + COMMIT, one connection): {floor_rate:.0}/s; latency {}",
            summary(&mut floor)
        );
        let ratio = percentile(&ours, 50.0) / percentile(&floor, 50.0);
        println!(
            "store=postgres sequential p50 / floor p50: {ratio:.2}; floor rate / our rate: {:.2}",
            floor_rate / seq_rate
        );
    }
    drop(seeded);
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}
