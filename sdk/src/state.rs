//! [`Shared`]: the state that evaluation reads and the sync task writes.
//!
//! Evaluation only ever does one `ArcSwapOption::load` (no lock, no
//! allocation) plus, for fail-safe flags or details, one atomic read of the
//! freshness clock. The sync task builds a new [`CompiledSnapshot`] off to
//! the side and swaps it in whole.
//!
//! Owns: the shared snapshot slot, freshness clock and status channel. Must
//! not touch: networking or applying data (`sync`), evaluation rules.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwapOption;
use switchyard_core::CompiledSnapshot;
use tokio::sync::{broadcast, watch};

use crate::status::Status;
use crate::telemetry::{Counters, Telemetry};

/// A compiled snapshot as served, with its evaluation counters when
/// telemetry is on: one `ArcSwap` load gives a getter both.
pub(crate) struct Served {
    /// The flags.
    pub(crate) compiled: Arc<CompiledSnapshot>,
    /// Evaluation counters for these flags (`None` without telemetry).
    pub(crate) counters: Option<Arc<Counters>>,
}
use crate::updates::FlagChange;

/// Capacity of the change broadcast. A subscriber further behind than this
/// gets [`crate::Update::Resync`] instead of silently losing items.
pub(crate) const UPDATES_CAPACITY: usize = 1024;

/// State shared by every clone of a client and its background tasks.
pub(crate) struct Shared {
    /// The flags served (with their telemetry counters); `None` until the
    /// first snapshot (or file) arrives.
    pub(crate) snapshot: ArcSwapOption<Served>,
    /// When the served flags were last confirmed current.
    pub(crate) freshness: Freshness,
    /// Flags not confirmed for longer than this are stale: the status says
    /// so and flags serve their fail-safe variant (if they have one).
    /// `None` for offline clients (never stale).
    pub(crate) stale_bound: Option<Duration>,
    /// Why the flags could not be confirmed lately (for [`Status::Stale`]).
    problems: Mutex<Problems>,
    /// The current status; receivers back [`crate::StatusStream`].
    pub(crate) status: watch::Sender<Status>,
    /// Per-flag change notifications; receivers back [`crate::Updates`].
    pub(crate) updates: broadcast::Sender<FlagChange>,
    /// Telemetry, when enabled (set once, before the first snapshot).
    pub(crate) telemetry: OnceLock<Arc<Telemetry>>,
}

impl Shared {
    /// Empty state with the given initial status.
    pub(crate) fn new(stale_bound: Option<Duration>, status: Status) -> Self {
        Shared {
            snapshot: ArcSwapOption::empty(),
            freshness: Freshness::new(),
            stale_bound,
            problems: Mutex::new(Problems::default()),
            status: watch::Sender::new(status),
            updates: broadcast::Sender::new(UPDATES_CAPACITY),
            telemetry: OnceLock::new(),
        }
    }

    /// Swaps in a new snapshot and notifies subscribers of `changes`.
    pub(crate) fn install(&self, compiled: Arc<CompiledSnapshot>, changes: Vec<FlagChange>) {
        let counters = self.telemetry.get().map(|t| t.prepare(&compiled));
        self.snapshot.store(Some(Arc::new(Served { compiled, counters })));
        for change in changes {
            // `Err` only means that nobody is subscribed.
            let _ = self.updates.send(change);
        }
    }

    /// This state's address: the identity of its client for request
    /// scopes (the same as [`crate::Client`]'s `owner`).
    #[inline]
    pub(crate) fn owner(&self) -> usize {
        self as *const Shared as usize
    }

    /// The revision served, `None` before the first snapshot.
    pub(crate) fn revision(&self) -> Option<u64> {
        self.snapshot.load().as_ref().map(|s| s.compiled.revision())
    }

    /// Sets the status, notifying watchers only when it changed.
    pub(crate) fn set_status(&self, status: Status) {
        self.status.send_if_modified(|current| {
            if *current == status {
                false
            } else {
                tracing::info!(status = %status, "switchyard status");
                *current = status;
                true
            }
        });
    }

    /// Server data was confirmed current just now: `Ready`, problems cleared.
    pub(crate) fn confirm_fresh(&self) {
        self.freshness.confirm_now();
        *self.problems.lock().unwrap_or_else(|e| e.into_inner()) = Problems::default();
        self.set_status(Status::Ready);
    }

    /// Records the latest failure of the stream (`poll == false`) or of the
    /// snapshot poll, reported as the reason of [`Status::Stale`].
    pub(crate) fn note_problem(&self, poll: bool, problem: String) {
        let mut problems = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        *(if poll { &mut problems.poll } else { &mut problems.stream }) = Some(problem);
    }

    /// Why the flags are not confirmed: the recorded problems.
    pub(crate) fn stale_reason(&self) -> String {
        let problems = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        let parts: Vec<String> = [("stream", &problems.stream), ("snapshot poll", &problems.poll)]
            .into_iter()
            .filter_map(|(what, p)| p.as_ref().map(|p| format!("{what}: {p}")))
            .collect();
        if parts.is_empty() {
            "not confirmed by the stream (connected but not caught up) or by a snapshot poll".to_owned()
        } else {
            parts.join("; ")
        }
    }

    /// The stale status for data last confirmed at `since`.
    pub(crate) fn stale_status(&self) -> Option<Status> {
        let since = self.freshness.confirmed_at()?;
        Some(Status::Stale { since, reason: self.stale_reason() })
    }

    /// `Ready` turns `Stale` when the data has outgrown the bound. The age
    /// is re-read under the status lock, so a confirmation racing with
    /// this check always wins (it sets `Ready` after storing its time).
    pub(crate) fn expire_if_stale(&self) {
        self.status.send_if_modified(|current| {
            let stale = self.freshness.age().is_some_and(|age| self.is_stale(age));
            if !(stale && current.is_ready()) {
                return false;
            }
            match self.stale_status() {
                Some(status) => {
                    tracing::warn!(status = %status, "switchyard status");
                    *current = status;
                    true
                }
                None => false,
            }
        });
    }

    /// `true` when a stale bound is configured and the data exceeds it.
    #[inline]
    pub(crate) fn is_stale(&self, age: Duration) -> bool {
        self.stale_bound.is_some_and(|bound| age > bound)
    }
}

/// The latest failures that kept the flags from being confirmed.
#[derive(Debug, Default)]
struct Problems {
    stream: Option<String>,
    poll: Option<String>,
}

/// A monotonic "last confirmed current" timestamp readable without locks.
///
/// Stored as milliseconds relative to a base [`Instant`] so that a persisted
/// snapshot saved before this process started can be represented (as a
/// negative offset) and wall-clock jumps do not affect ages.
pub(crate) struct Freshness {
    base: Instant,
    base_wall: SystemTime,
    /// Milliseconds since `base`; [`Freshness::NEVER`] until first confirmed.
    confirmed_ms: AtomicI64,
}

impl Freshness {
    const NEVER: i64 = i64::MIN;

    fn new() -> Self {
        Freshness { base: Instant::now(), base_wall: SystemTime::now(), confirmed_ms: AtomicI64::new(Self::NEVER) }
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.base.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// The data was confirmed current just now.
    pub(crate) fn confirm_now(&self) {
        self.confirmed_ms.store(self.now_ms(), Ordering::Release);
    }

    /// The data was current at wall-clock time `at` (a persisted snapshot).
    pub(crate) fn confirm_at(&self, at: SystemTime) {
        let offset = match at.duration_since(self.base_wall) {
            Ok(ahead) => i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX),
            Err(behind) => -i64::try_from(behind.duration().as_millis()).unwrap_or(i64::MAX),
        };
        // Never in the future of now, whatever the file says.
        self.confirmed_ms.store(offset.min(self.now_ms()), Ordering::Release);
    }

    /// Time since the data was last confirmed, `None` if never.
    #[inline]
    pub(crate) fn age(&self) -> Option<Duration> {
        let confirmed = self.confirmed_ms.load(Ordering::Acquire);
        if confirmed == Self::NEVER {
            return None;
        }
        let ms = self.now_ms().saturating_sub(confirmed).max(0);
        Some(Duration::from_millis(ms.unsigned_abs()))
    }

    /// Wall-clock time of the last confirmation, `None` if never. Stable
    /// between confirmations (derived from the stored offset, not from now).
    pub(crate) fn confirmed_at(&self) -> Option<SystemTime> {
        let confirmed = self.confirmed_ms.load(Ordering::Acquire);
        if confirmed == Self::NEVER {
            return None;
        }
        let offset = Duration::from_millis(confirmed.unsigned_abs());
        let at = if confirmed >= 0 { self.base_wall.checked_add(offset) } else { self.base_wall.checked_sub(offset) };
        Some(at.unwrap_or(SystemTime::UNIX_EPOCH))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_tracks_age_and_past_confirmations() {
        let f = Freshness::new();
        assert_eq!(f.age(), None);
        f.confirm_now();
        assert!(f.age().unwrap() < Duration::from_secs(1));
        f.confirm_at(SystemTime::now() - Duration::from_secs(3600));
        let age = f.age().unwrap();
        assert!(age >= Duration::from_secs(3599) && age < Duration::from_secs(3602), "{age:?}");
        let since = SystemTime::now().duration_since(f.confirmed_at().unwrap()).unwrap();
        assert!(since >= Duration::from_secs(3599) && since < Duration::from_secs(3602), "{since:?}");
        assert_eq!(f.confirmed_at(), f.confirmed_at());
        // A timestamp from the future counts as now.
        f.confirm_at(SystemTime::now() + Duration::from_secs(3600));
        assert!(f.age().unwrap() < Duration::from_secs(1));
    }
}
