//! Fan-out with clients in other processes: the server runs as the release
//! binary, N real SDK clients run in K worker processes (this binary,
//! `worker` mode, see `switchyard_bench::fanout`), and each change is timed
//! from the admin call's start (here) to each client having applied it
//! (there), on the machine's shared clock. The floor — plain axum `Sse` +
//! `broadcast` (`fanout_floor`) — runs with the same clients in the same
//! run, and the ratio of the two is printed.
//!
//! ```text
//! cargo build --release -p switchyard-server -p switchyard-bench
//! target/release/fanout --clients 1000 --workers 4 --targets sqlite,floor,postgres
//! ```
//!
//! Also: server RSS per idle stream (RSS after N streams settled minus
//! before, divided by N). Receipts are on: our server asks for an
//! acknowledgement of every change (with the hold it advises for N
//! streams); the floor does not ask, so its clients acknowledge every
//! change after the same hold (`--ack-delay-ms`), and it answers 204.
//! `--kills K` also times `switchyard kill --wait` (ours only).

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use switchyard_bench::fanout::{Latencies, WorkerConfig, parse_applied, run_worker, unix_ns};
use switchyard_bench::{Admin, Seeded, ServerProcess, percentile, server_binary};
use switchyard_server::delivery::channel::advised_hold;
use switchyard_server::store::Role;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    worker: Option<Worker>,
    /// SDK clients in all.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Worker processes the clients are spread over.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// What to measure, in order: `sqlite`, `postgres`, `floor`.
    #[arg(long, default_value = "sqlite,floor,postgres", value_delimiter = ',')]
    targets: Vec<String>,
    /// Changes to time per target.
    #[arg(long, default_value_t = 20)]
    toggles: usize,
    /// Pause between changes, ms (default: 300, or N/10 when larger).
    #[arg(long)]
    interval_ms: Option<u64>,
    /// SDK acknowledgement hold, ms, for servers that do not advise one
    /// (the floor). Default: what the server advises for N streams
    /// (`delivery::channel::advised_hold`: 100 ms, 0.1 ms per stream above).
    #[arg(long)]
    ack_delay_ms: Option<u64>,
    /// After the changes, time this many `switchyard kill --wait`s (and
    /// restores, alternately) as a responder runs them: CLI process start
    /// → last SDK applied, and → the CLI returned with the receipt.
    #[arg(long, default_value_t = 0)]
    kills: usize,
}

impl Args {
    /// The floor's clients hold acks as long as ours are advised to.
    fn ack_delay(&self) -> u64 {
        let advised = advised_hold(Duration::from_millis(100), self.clients);
        self.ack_delay_ms.unwrap_or(u64::try_from(advised.as_millis()).unwrap_or(u64::MAX))
    }
}

#[derive(Subcommand)]
enum Worker {
    /// Internal: run `--clients` SDK clients against `--base`.
    Worker {
        #[arg(long)]
        base: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        clients: usize,
        #[arg(long, default_value_t = 100)]
        ack_delay_ms: u64,
    },
}

/// A server under test: ours (with an admin client) or the floor.
struct Target {
    base: String,
    key: String,
    rss: Box<dyn Fn() -> Option<u64>>,
    admin: Option<Admin>,
    _guards: (Option<ServerProcess>, Option<Child>),
}

impl Target {
    async fn start(kind: &str, data_dir: &std::path::Path) -> anyhow::Result<Target> {
        if kind == "floor" {
            let mut child = Command::new(sibling("fanout_floor"))
                .stdout(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .context("starting fanout_floor (cargo build --release -p switchyard-bench)")?;
            let mut out = BufReader::new(child.stdout.take().context("stdout")?).lines();
            let line = out.next_line().await?.context("fanout_floor exited")?;
            let base = line.strip_prefix("listening ").context("fanout_floor banner")?.to_string();
            let pid = child.id();
            return Ok(Target {
                base,
                key: "floor".into(),
                rss: Box::new(move || pid.and_then(rss_kib)),
                admin: None,
                _guards: (None, Some(child)),
            });
        }
        if !matches!(kind, "postgres" | "sqlite") {
            bail!("unknown target `{kind}` (sqlite, postgres, floor)");
        }
        let Seeded { server, admin, sdk_key: key, .. } = Seeded::start(kind, data_dir, 10).await?;
        let pid = server.pid();
        Ok(Target {
            base: server.base.clone(),
            key,
            rss: Box::new(move || pid.and_then(rss_kib)),
            admin: Some(admin),
            _guards: (Some(server), None),
        })
    }

    /// One change; returns its revision.
    async fn change(&self, i: usize) -> anyhow::Result<u64> {
        let revision = match &self.admin {
            Some(admin) => admin.toggle("flag-0", i.is_multiple_of(2)).await?,
            None => {
                let body: serde_json::Value =
                    reqwest::Client::new().post(format!("{}/change", self.base)).send().await?.json().await?;
                body["revision"].as_u64()
            }
        };
        revision.context("no revision in the change response")
    }
}

/// A binary next to this one.
fn sibling(name: &str) -> std::path::PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.with_file_name(name)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

struct WorkerProc {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

async fn spawn_workers(args: &Args, target: &Target) -> anyhow::Result<Vec<WorkerProc>> {
    let mut procs = Vec::new();
    for w in 0..args.workers {
        let n = args.clients / args.workers + usize::from(w < args.clients % args.workers);
        if n == 0 {
            continue;
        }
        let mut child = Command::new(std::env::current_exe()?)
            .args(["worker", "--base", &target.base, "--key", &target.key])
            .args(["--clients", &n.to_string(), "--ack-delay-ms", &args.ack_delay().to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().context("stdin")?;
        let lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        procs.push(WorkerProc { _child: child, stdin, lines });
    }
    for p in &mut procs {
        let line = tokio::time::timeout(Duration::from_secs(300), p.lines.next_line()).await??;
        if line.as_deref() != Some("ready") {
            bail!("worker did not get ready: {line:?}");
        }
    }
    Ok(procs)
}

async fn collect(procs: &mut [WorkerProc]) -> anyhow::Result<Vec<(u64, u64)>> {
    let mut samples = Vec::new();
    for p in procs.iter_mut() {
        p.stdin.write_all(b"report\n").await?;
        p.stdin.flush().await?;
    }
    for p in procs.iter_mut() {
        while let Some(line) = p.lines.next_line().await? {
            if line == "end" {
                break;
            }
            samples.extend(parse_applied(&line));
        }
    }
    Ok(samples)
}

/// One target: start, connect N clients, settle, time the changes.
async fn measure(args: &Args, kind: &str, data_dir: &std::path::Path) -> anyhow::Result<Latencies> {
    let target = Target::start(kind, data_dir).await?;
    let rss_before = (target.rss)();
    let connect = Instant::now();
    let mut procs = spawn_workers(args, &target).await?;
    let connected = connect.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = (target.rss)();
    let per_stream = match (rss_before, rss_after) {
        (Some(a), Some(b)) => format!("{:.1} KiB", b.saturating_sub(a) as f64 / args.clients as f64),
        _ => "?".into(),
    };
    let interval = Duration::from_millis(args.interval_ms.unwrap_or((args.clients as u64 / 10).max(300)));
    let mut starts = Vec::with_capacity(args.toggles);
    for i in 0..args.toggles {
        let start = unix_ns();
        let rev = target.change(i).await?;
        starts.push((rev, start));
        tokio::time::sleep(interval).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let samples = collect(&mut procs).await?;
    if args.kills > 0
        && let Some(admin) = &target.admin
    {
        kills(args, admin, &mut procs, interval).await?;
    }
    let l = Latencies::from_samples(&starts, &samples, args.clients);
    let pc = &l.per_client;
    println!(
        "{kind:<9} N={:<6} per client: p50 {:>7.2} p99 {:>7.2} max {:>7.2} ms | last client per change: p50 {:>7.2} max {:>7.2} ms | RSS/stream {per_stream} | connect {:.1} s{}",
        args.clients,
        percentile(pc, 50.0),
        percentile(pc, 99.0),
        pc.last().copied().unwrap_or(f64::NAN),
        percentile(&l.last, 50.0),
        l.last.last().copied().unwrap_or(f64::NAN),
        connected.as_secs_f64(),
        if l.incomplete > 0 { format!(" | {} changes not applied by all", l.incomplete) } else { String::new() },
    );
    Ok(l)
}

/// `switchyard kill --wait` and `restore --wait`, alternately, as a
/// responder: CLI process start → the last SDK applied the revision, and →
/// the CLI returned (its receipt complete: every SDK acknowledged).
async fn kills(args: &Args, admin: &Admin, procs: &mut [WorkerProc], interval: Duration) -> anyhow::Result<()> {
    let token = admin.client().create_token("pager", Role::Responder, None).await?.secret;
    let (mut applied, mut returned, mut receipts, mut all) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..args.kills {
        let sub = if i.is_multiple_of(2) { "kill" } else { "restore" };
        let start = unix_ns();
        let out = Command::new(server_binary())
            .args([sub, "flag-1", "--env", "prod", "--reason", "bench", "--wait", "30s", "--json"])
            .env("SWITCHYARD_URL", &admin.base)
            .env("SWITCHYARD_TOKEN", &token)
            .env("SWITCHYARD_PROJECT", "bench")
            .output()
            .await?;
        returned.push(unix_ns().saturating_sub(start) as f64 / 1e6);
        let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let revision = body["revision"].as_u64().context("kill: no revision")?;
        let receipt = &body["receipt"];
        receipts.push(format!("{}/{}", receipt["applied"], receipt["connected"]));
        tokio::time::sleep(interval).await;
        let l = Latencies::from_samples(&[(revision, start)], &collect(procs).await?, args.clients);
        applied.push(l.last.last().copied().unwrap_or(f64::NAN));
        all.extend(l.per_client);
    }
    applied.sort_by(f64::total_cmp);
    all.sort_by(f64::total_cmp);
    returned.sort_by(f64::total_cmp);
    println!(
        "  kill --wait x{}: per SDK p50 {:.1} p99 {:.1} ms | last SDK applied p50 {:.1} p99 {:.1} max {:.1} ms | CLI returned (receipt N/N) p50 {:.1} p99 {:.1} ms | receipts {}",
        args.kills,
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        percentile(&applied, 50.0),
        percentile(&applied, 99.0),
        applied.last().copied().unwrap_or(f64::NAN),
        percentile(&returned, 50.0),
        percentile(&returned, 99.0),
        receipts.join(" "),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Worker::Worker { base, key, clients, ack_delay_ms }) = args.worker {
        let ack_delay = Duration::from_millis(ack_delay_ms);
        return run_worker(WorkerConfig { base, key, clients, ack_delay }).await;
    }
    let ack_delay = args.ack_delay();
    let data_dir = std::env::temp_dir().join(format!("switchyard-fanout-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data_dir)?;
    println!(
        "fan-out: {} SDK clients in {} worker processes, {} changes per target, every change acknowledged (hold: as advised by our server; the floor's clients {ack_delay} ms)",
        args.clients, args.workers, args.toggles
    );
    let mut results = Vec::new();
    for kind in &args.targets {
        results.push((kind.clone(), measure(&args, kind, &data_dir).await?));
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    let Some((_, floor)) = results.iter().find(|(k, _)| k == "floor") else { return Ok(()) };
    for (kind, l) in results.iter().filter(|(k, _)| k != "floor") {
        println!(
            "{kind} / floor at N={}: per-client p99 {:.2}x, last-client p50 {:.2}x",
            args.clients,
            l.p99() / floor.p99(),
            percentile(&l.last, 50.0) / percentile(&floor.last, 50.0)
        );
    }
    Ok(())
}
