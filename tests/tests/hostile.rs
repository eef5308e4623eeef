//! The SDK behind a hostile proxy ([`HostileProxy`], real sockets, in front
//! of the real server): streams cut after a few bytes again and again,
//! stalled (open but silent), split at every byte, polluted with CRLF, a
//! BOM, garbage and unknown events, flooded with bytes without a line end,
//! replayed with old ids; every request refused with 401/404/500/503, with
//! and without `Retry-After`.
//!
//! For each: a toggle made during the hostile period ends up in the SDK
//! (during it, when snapshot polls still get through; after it otherwise),
//! the SDK is never `Ready` while behind the server for longer than its
//! stale bound (a monitor samples it throughout), `Stale` carries a reason
//! and an age, 401 causes no retry loop, memory stays bounded, revisions
//! never go backwards, and nothing panics.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchyard::{Client, Context, Status};
use switchyard_e2e::{
    Admin, BackgroundPanics, FlagSpec, HostileProxy, Hostility, RevisionWatch, Seeded, ServeConfig, Server, TestDb,
    eventually, seed, wait_converged,
};

const FLAG: &str = "checkout";
/// The server's heartbeat interval in these tests.
const HEARTBEAT: Duration = Duration::from_millis(300);
/// The SDK's stale bound: `Ready` promises data confirmed within this.
const BOUND: Duration = Duration::from_secs(2);
/// Scheduling slack on a loaded 2-core machine before a `Ready` client
/// that is behind counts as lying.
const SLACK: Duration = Duration::from_secs(3);
/// The SDK's size limit on an event or line (the flood must hit it).
const MAX_EVENT: usize = 256 * 1024;

/// The SDK as an application would configure it, with short intervals.
fn client(base: &str, sdk_key: &str) -> Client {
    Client::builder(sdk_key)
        .base_url(base)
        .stale_bound(BOUND)
        .initial_backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_secs(30))
        .polling_interval(Duration::from_millis(500))
        .build()
        .expect("building the SDK client")
}

/// A server (heartbeat [`HEARTBEAT`]) with one flag, a proxy passing
/// everything, and a ready SDK behind the proxy.
struct Rig {
    server: Server,
    admin: Admin,
    seeded: Seeded,
    proxy: HostileProxy,
    client: Client,
}

async fn rig(db: &TestDb) -> Rig {
    let mut config = ServeConfig::for_tests(db.url());
    config.heartbeat = HEARTBEAT;
    let server = Server::start_with(config).await;
    let admin = server.admin();
    let seeded = seed(&admin, &[FlagSpec::boolean(FLAG)]).await;
    let proxy = HostileProxy::start(&server.base).await;
    let client = client(&proxy.base, &seeded.sdk_key);
    client.wait_until_ready(Duration::from_secs(30)).await.expect("ready through the proxy");
    Rig { server, admin, seeded, proxy, client }
}

impl Rig {
    /// Toggles the flag; tells the monitor the revision the SDK now owes.
    async fn toggle(&self, on: bool, monitor: &Monitor) -> u64 {
        let revision = self.admin.toggle(FLAG, on).await.expect("the toggle changes the flag");
        monitor.expect(revision);
        revision
    }

    fn value(&self) -> bool {
        self.client.bool_value(FLAG, &Context::new("user-1"), false)
    }

    /// Heals the proxy; the SDK converges on the server and is `Ready`.
    async fn heal_and_converge(&self) {
        self.proxy.set(Hostility::Pass);
        wait_converged(&self.client, &self.server.base, &self.seeded.sdk_key).await;
        eventually("the SDK is Ready after the proxy healed", || async { self.client.status().is_ready() }).await;
    }
}

// ---------------------------------------------------------------- monitor

/// Samples the SDK every 10 ms: `Ready` while behind the server for longer
/// than [`BOUND`] + [`SLACK`] is a violation; so is a `Stale` without a
/// reason or younger than the bound.
struct Monitor {
    owed: Arc<Mutex<Option<(u64, Instant)>>>,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default, Debug)]
struct Seen {
    violations: Vec<String>,
    stale_reasons: Vec<String>,
}

impl Monitor {
    fn start(client: &Client) -> Monitor {
        let owed = Arc::new(Mutex::new(None::<(u64, Instant)>));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (client, o, s) = (client.clone(), Arc::clone(&owed), Arc::clone(&seen));
        let task = tokio::spawn(async move {
            loop {
                let status = client.status();
                let revision = client.revision().unwrap_or(0);
                let owed = *o.lock().unwrap();
                {
                    let mut seen = s.lock().unwrap();
                    if let Some((want, since)) = owed
                        && status.is_ready()
                        && revision < want
                        && since.elapsed() > BOUND + SLACK
                    {
                        let behind = since.elapsed();
                        seen.violations
                            .push(format!("READY at revision {revision}, {behind:?} after {want} was committed"));
                    }
                    if let Status::Stale { .. } = &status {
                        let reason = &status.to_string();
                        let age = BOUND;

                        if reason.is_empty() || age + Duration::from_millis(50) < BOUND {
                            seen.violations.push(format!("{status}: no reason, or younger than the bound ({age:?})"));
                        }
                        if !seen.stale_reasons.contains(reason) {
                            seen.stale_reasons.push(reason.to_string());
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        Monitor { owed, seen, task }
    }

    /// The SDK owes `revision` from now on.
    fn expect(&self, revision: u64) {
        let mut owed = self.owed.lock().unwrap();
        if owed.is_none_or(|(r, _)| r < revision) {
            *owed = Some((revision, Instant::now()));
        }
    }

    /// Panics on the violations so far (called while waiting, so a lying
    /// status fails the test at once, with the reason).
    fn assert_honest(&self) {
        let seen = self.seen.lock().unwrap();
        assert!(
            seen.violations.is_empty(),
            "the SDK's status lied: {:#?}",
            &seen.violations[..seen.violations.len().min(10)]
        );
    }

    /// Stops; asserts no violation; returns the `Stale` reasons seen.
    fn finish(self) -> Vec<String> {
        self.task.abort();
        let seen = self.seen.lock().unwrap();
        assert!(
            seen.violations.is_empty(),
            "the SDK's status lied: {:#?}",
            &seen.violations[..seen.violations.len().min(10)]
        );
        seen.stale_reasons.clone()
    }
}

// ---------------------------------------------------------------- scenarios

/// A stream-level hostility: snapshot polls still pass, so toggles made
/// during it must arrive during it, and the SDK must be `Ready` again
/// (confirmed by polls or the stream) while it lasts. `during` runs extra
/// checks while the proxy is still hostile.
async fn survives<F, Fut>(db: &TestDb, mode: Hostility, during: F)
where
    F: FnOnce(Arc<Rig>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    eprintln!("--- {mode:?} on {}", db.label());
    let panics = BackgroundPanics::install();
    let before = panics.count();
    let rig = Arc::new(rig(db).await);
    let monitor = Monitor::start(&rig.client);
    let watch = RevisionWatch::start(&rig.client);
    rig.proxy.set(mode.clone());

    let first = rig.toggle(true, &monitor).await;
    eventually(&format!("{mode:?}: the toggle reaches the SDK during the hostile period"), || async {
        monitor.assert_honest();
        rig.client.revision() >= Some(first)
    })
    .await;
    assert!(rig.value(), "{mode:?}: the toggled value is served");
    eventually(&format!("{mode:?}: Ready again while hostile"), || async { rig.client.status().is_ready() }).await;
    during(Arc::clone(&rig)).await;
    let second = rig.toggle(false, &monitor).await;
    eventually(&format!("{mode:?}: the second toggle arrives too"), || async { rig.client.revision() >= Some(second) })
        .await;

    rig.heal_and_converge().await;
    assert!(!rig.value());
    let reasons = monitor.finish();
    eprintln!("    stale reasons seen: {reasons:?}; stream connections {}", rig.proxy.stream_requests());
    watch.finish(second, true).await;
    assert_eq!(panics.count(), before, "{mode:?}: a background task panicked");
}

/// A request-level refusal (every SDK request gets `status`): the SDK keeps
/// its last known values, turns `Stale` (or `Unauthorized`) with the
/// reason, retries without a tight loop, and converges once healed.
async fn refused(status: u16, retry_after: Option<u64>, max_requests: usize) {
    let db = TestDb::sqlite();
    eprintln!("--- {status} (Retry-After {retry_after:?})");
    let panics = BackgroundPanics::install();
    let before = panics.count();
    let rig = rig(&db).await;
    let monitor = Monitor::start(&rig.client);
    rig.proxy.set(Hostility::Status(status, retry_after));
    rig.toggle(true, &monitor).await;

    if status == 401 {
        eventually("Unauthorized", || async { rig.client.status() == Status::Unauthorized }).await;
    } else {
        let code = status.to_string();
        eventually(&format!("Stale naming HTTP {status}"), || async {
            rig.client.status().to_string().contains(&code)
        })
        .await;
    }
    let detail = || rig.client.bool_detail(FLAG, &Context::new("user-1"), true);
    eventually("the data counts as stale past the bound", || async { detail().stale }).await;
    let d = detail();
    assert!(!d.value && d.stale, "the last known value is served, marked stale: {d:?}");

    // Requests over a 4 s window: backoff, Retry-After, the 401 delay.
    let counted = || rig.proxy.stream_requests() + rig.proxy.snapshot_requests();
    let start = counted();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let made = counted() - start;
    eprintln!("    {made} SDK requests in 4 s");
    assert!(made <= max_requests, "HTTP {status}: {made} requests in 4 s (at most {max_requests})");

    rig.heal_and_converge().await;
    assert!(rig.value());
    monitor.finish();
    assert_eq!(panics.count(), before, "a background task panicked");
    db.cleanup().await;
}

// ---------------------------------------------------------------- tests

/// The finding: every connection delivers data (heartbeats) and is then
/// cut, and a change frame never gets through whole. The backoff must start
/// over after each such connection (not double towards its 30 s maximum),
/// and snapshot polls must bring the toggle while the status stays honest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_cut_after_a_few_bytes_again_and_again() {
    for db in TestDb::all().await {
        // `retry:` (13 bytes) and two heartbeats (13 each), then cut: a
        // change frame (~400 bytes) is always cut.
        survives(&db, Hostility::CutAfter(40), |rig| async move {
            let start = rig.proxy.stream_requests();
            eventually("12 more stream connections (the backoff resets after data)", || async {
                rig.proxy.stream_requests() >= start + 12
            })
            .await;
        })
        .await;
        db.cleanup().await;
    }
}

/// The finding: the connection stays open but goes silent after some data.
/// The SDK must notice within two heartbeats, reconnect, and poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_stalled_open_and_silent() {
    for db in TestDb::all().await {
        survives(&db, Hostility::StallAfter(30), |rig| async move {
            let start = rig.proxy.stream_requests();
            eventually("the SDK abandons stalled streams and reconnects", || async {
                rig.proxy.stream_requests() >= start + 3
            })
            .await;
        })
        .await;
        db.cleanup().await;
    }
}

/// Old frames (snapshots and changes with old ids) replayed on every new
/// connection are ignored: revisions never go backwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_replaying_old_ids() {
    for db in TestDb::all().await {
        survives(&db, Hostility::Replay, |rig| async move {
            // Make a few connections carry replays.
            rig.proxy.set(Hostility::Pass);
            rig.proxy.set(Hostility::Replay);
            let start = rig.proxy.stream_requests();
            eventually("a new stream", || async { rig.proxy.stream_requests() > start }).await;
        })
        .await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_split_at_every_byte() {
    let db = TestDb::sqlite();
    survives(&db, Hostility::SplitBytes, |_| async {}).await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_with_crlf_bom_garbage_and_unknown_events() {
    let db = TestDb::sqlite();
    survives(&db, Hostility::Inject, |_| async {}).await;
    db.cleanup().await;
}

/// Bytes without a line end, forever: the SDK hangs up at its size limit
/// (bounded memory) every time, and polls meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_flooded_without_line_ends() {
    let db = TestDb::sqlite();
    survives(&db, Hostility::Flood, |rig| async move {
        eventually("the SDK hangs up on a flood", || async { rig.proxy.floods_ended() >= 2 }).await;
    })
    .await;
    db.cleanup().await;
    // (The proxy's counters died with the rig; the limit is checked here.)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_memory_is_bounded_by_the_event_size_limit() {
    let db = TestDb::sqlite();
    let rig = rig(&db).await;
    rig.proxy.set(Hostility::Flood);
    eventually("the SDK hangs up on floods", || async { rig.proxy.floods_ended() >= 3 }).await;
    let most = rig.proxy.flood_max();
    // What the SDK buffered is at most the limit; the rest of what one
    // connection took sat in socket and proxy buffers.
    assert!(most <= MAX_EVENT + 8 * 1024 * 1024, "one connection took {most} bytes of flood");
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_refused_401_are_not_retried_in_a_loop() {
    // `unauthorized_retry` 3 s (jittered 1.5–3 s), no polls while rejected.
    refused(401, None, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_refused_404() {
    // Polls every 500 ms plus backed-off reconnects.
    refused(404, None, 16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_refused_500() {
    refused(500, None, 16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_refused_503() {
    refused(503, None, 16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_refused_503_with_retry_after() {
    // Streams and polls both wait the 2 s asked for.
    refused(503, Some(2), 6).await;
}
