//! Request scopes: which (flag, variant) pairs one request was served, so
//! that its outcome ([`crate::Client::record`]) and the custom events it
//! tracks ([`crate::Client::track`]) are attributed to exactly those
//! variants. A scope is a tokio task-local: evaluations made by the task
//! running inside [`RequestScope::run`] land in it (tasks it spawns do not
//! inherit it). The `tower` layer ([`crate::tower`]) opens one per request.
//!
//! The cost outside scopes is one relaxed load of a process-wide count of
//! live scopes per evaluation; inside, a task-local read and, for a pair
//! not yet held, one short uncontended lock and a push (no allocation for
//! the first [`INLINE`] pairs).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Pairs a scope holds without reallocating.
const INLINE: usize = 8;
/// Most pairs one scope holds (a request evaluating more flags has the
/// rest left out of its attribution).
const MAX_EXPOSURES: usize = 256;

/// Live scopes in the process: evaluation reads the task-local only when
/// there are some.
static OPEN: AtomicUsize = AtomicUsize::new(0);

tokio::task_local! {
    static CURRENT: RequestScope;
}

/// One request's exposures, for one client: the (flag, variant) pairs its
/// evaluations served. Cheap to clone (one `Arc`).
///
/// ```
/// # async fn demo(client: switchyard::Client, ctx: switchyard::Context<'_>) {
/// use std::time::Instant;
/// use switchyard::telemetry::Outcome;
/// let scope = client.request_scope();
/// let started = Instant::now();
/// let status = scope.run(async { if client.bool_value("new-checkout", &ctx, false) { 500 } else { 200 } }).await;
/// // Every variant the request was served gets the outcome.
/// client.record(&scope, Outcome { error: status >= 500, latency: started.elapsed() });
/// # }
/// ```
#[derive(Clone)]
pub struct RequestScope {
    inner: Arc<Inner>,
}

struct Inner {
    /// The client whose evaluations count here (its shared state's address).
    owner: usize,
    exposures: Mutex<Vec<(Arc<str>, Arc<str>)>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for RequestScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestScope").field("exposures", &self.exposures()).finish()
    }
}

impl RequestScope {
    /// An empty scope for the client whose shared state is at `owner`.
    pub(crate) fn new(owner: usize) -> Self {
        OPEN.fetch_add(1, Ordering::Relaxed);
        RequestScope { inner: Arc::new(Inner { owner, exposures: Mutex::new(Vec::with_capacity(INLINE)) }) }
    }

    /// Runs `fut` with this scope as the current one: the evaluations it
    /// makes (on this task) are attributed to the scope.
    pub fn run<F: Future>(&self, fut: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self.clone(), fut)
    }

    /// Runs `f` with this scope as the current one (synchronous code).
    pub fn run_sync<R>(&self, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self.clone(), f)
    }

    /// The scope the calling task runs in, if any.
    pub fn current() -> Option<RequestScope> {
        CURRENT.try_with(RequestScope::clone).ok()
    }

    /// The (flag, variant) pairs served so far, in the order first served.
    pub fn exposures(&self) -> Vec<(Arc<str>, Arc<str>)> {
        self.lock().clone()
    }

    /// Whether this scope belongs to the client whose state is at `owner`.
    pub(crate) fn belongs_to(&self, owner: usize) -> bool {
        self.inner.owner == owner
    }

    /// The pairs, to read while attributing.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Arc<str>, Arc<str>)>> {
        self.inner.exposures.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn note(&self, flag: &Arc<str>, variant: &Arc<str>) {
        let mut exposures = self.lock();
        let known = exposures
            .iter()
            .any(|(f, v)| (Arc::ptr_eq(f, flag) || f == flag) && (Arc::ptr_eq(v, variant) || v == variant));
        if !known && exposures.len() < MAX_EXPOSURES {
            exposures.push((flag.clone(), variant.clone()));
        }
    }
}

/// Notes that the client at `owner` served `variant` of `flag`, in the
/// current scope if there is one of that client's.
#[inline]
pub(crate) fn note(owner: usize, flag: &Arc<str>, variant: &Arc<str>) {
    if OPEN.load(Ordering::Relaxed) != 0 {
        note_in_current(owner, flag, variant);
    }
}

#[inline(never)]
fn note_in_current(owner: usize, flag: &Arc<str>, variant: &Arc<str>) {
    let _ = CURRENT.try_with(|scope| {
        if scope.belongs_to(owner) {
            scope.note(flag, variant);
        }
    });
}
