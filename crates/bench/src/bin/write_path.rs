//! Write path: toggles per second and toggle latency (HTTP round trip
//! including the transaction commit, audit event and change-log row), one
//! writer at a time and with concurrent writers on different flags.
//!
//! ```text
//! cargo build --release -p switchyard-server -p switchyard-bench
//! target/release/write_path --store postgres --toggles 2000
//! ```

use std::time::Instant;

use clap::Parser;
use switchyard_bench::{Seeded, data_dir, summary};

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data_dir = data_dir()?;
    let Seeded { server: _server, admin, .. } = Seeded::start(&args.store, &data_dir, args.concurrency.max(1)).await?;

    // Sequential: one toggle at a time on one flag.
    let mut latencies = Vec::with_capacity(args.toggles);
    let start = Instant::now();
    for i in 0..args.toggles {
        let t = Instant::now();
        admin.toggle("flag-0", i % 2 == 0).await?;
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let rate = args.toggles as f64 / start.elapsed().as_secs_f64();
    println!("store={} sequential: {rate:.0} toggles/s; latency {}", args.store, summary(&mut latencies));

    // Concurrent writers, each on its own flag.
    let start = Instant::now();
    let per = args.toggles / args.concurrency.max(1);
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
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
    let rate = all.len() as f64 / start.elapsed().as_secs_f64();
    println!(
        "store={} {} concurrent writers: {rate:.0} toggles/s; latency {}",
        args.store,
        args.concurrency,
        summary(&mut all)
    );
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}
