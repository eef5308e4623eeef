//! The worker side of the fan-out harness (`src/bin/fanout.rs`): N real
//! SDK clients in a process of their own, reporting when each applied
//! which revision, on the machine's shared clock.
//!
//! Protocol with the driver, one line each: the worker prints `ready` when
//! every client has its first snapshot; on `report` (stdin) it prints one
//! `applied <revision> <unix ns>` per client per applied change, then
//! `end`; it exits when stdin closes. Timestamps are `CLOCK_REALTIME`
//! (`SystemTime`), which every process on one machine shares, so the
//! driver can subtract its admin call's start from a worker's apply time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use futures_util::StreamExt;
use switchyard::{Client, Update};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Nanoseconds since the Unix epoch (the clock shared by all processes).
pub fn unix_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// What a worker runs.
pub struct WorkerConfig {
    /// Server base URL.
    pub base: String,
    /// SDK key.
    pub key: String,
    /// Clients in this worker.
    pub clients: usize,
    /// SDK acknowledgement hold (the SDK default is 100 ms).
    pub ack_delay: Duration,
}

/// Runs a worker until stdin closes.
pub async fn run_worker(cfg: WorkerConfig) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(usize::MAX).build()?;
    let samples: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let mut clients = Vec::with_capacity(cfg.clients);
    for _ in 0..cfg.clients {
        let client = Client::builder(cfg.key.clone())
            .base_url(cfg.base.clone())
            .http_client(http.clone())
            .ack_delay(cfg.ack_delay)
            .build()?;
        let mut updates = client.subscribe();
        let samples = samples.clone();
        tokio::spawn(async move {
            while let Some(update) = updates.next().await {
                if let Update::Changed(change) = update {
                    let at = unix_ns();
                    samples.lock().expect("samples").push((change.new_revision, at));
                }
            }
        });
        clients.push(client);
    }
    for c in &clients {
        c.wait_until_ready(Duration::from_secs(300)).await.context("client not ready")?;
    }
    let mut out = tokio::io::stdout();
    out.write_all(b"ready\n").await?;
    out.flush().await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim() != "report" {
            continue;
        }
        let taken = std::mem::take(&mut *samples.lock().expect("samples"));
        let mut text = String::with_capacity(taken.len() * 32);
        for (rev, at) in taken {
            text.push_str(&format!("applied {rev} {at}\n"));
        }
        text.push_str("end\n");
        out.write_all(text.as_bytes()).await?;
        out.flush().await?;
    }
    drop(clients);
    Ok(())
}

/// Parses an `applied <revision> <unix ns>` line.
pub fn parse_applied(line: &str) -> Option<(u64, u64)> {
    let mut parts = line.strip_prefix("applied ")?.split_whitespace();
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Latency figures of one target: per client and per change (last client).
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    /// Admin call start → each client applied, ms, sorted.
    pub per_client: Vec<f64>,
    /// Admin call start → the last client applied, per change, ms, sorted.
    pub last: Vec<f64>,
    /// Changes not applied by every client.
    pub incomplete: usize,
}

impl Latencies {
    /// Matches `(revision, apply ns)` samples to `(revision, admin start ns)`.
    pub fn from_samples(starts: &[(u64, u64)], samples: &[(u64, u64)], clients: usize) -> Self {
        let mut l = Latencies::default();
        for &(rev, start) in starts {
            let got: Vec<f64> = samples
                .iter()
                .filter(|(r, _)| *r == rev)
                .map(|(_, at)| at.saturating_sub(start) as f64 / 1e6)
                .collect();
            if got.len() < clients {
                l.incomplete += 1;
            }
            if let Some(max) = got.iter().copied().reduce(f64::max) {
                l.last.push(max);
            }
            l.per_client.extend(got);
        }
        l.per_client.sort_by(f64::total_cmp);
        l.last.sort_by(f64::total_cmp);
        l
    }

    /// Per-client p99, ms.
    pub fn p99(&self) -> f64 {
        crate::percentile(&self.per_client, 99.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_match_revisions() {
        let starts = [(5, 1_000_000), (6, 10_000_000)];
        let samples = [(5, 2_000_000), (5, 4_000_000), (6, 11_000_000), (7, 0)];
        let l = Latencies::from_samples(&starts, &samples, 2);
        assert_eq!(l.per_client, vec![1.0, 1.0, 3.0]);
        assert_eq!(l.last, vec![1.0, 3.0]);
        assert_eq!(l.incomplete, 1);
        assert_eq!(parse_applied("applied 5 123"), Some((5, 123)));
        assert_eq!(parse_applied("end"), None);
    }
}
