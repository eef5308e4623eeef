//! Evaluation counters of one compiled snapshot: one counter per (flag,
//! variant) per shard, in one flat array allocated when the snapshot is
//! applied. Counting is a plain load, add and store (no locked instruction,
//! no lock, no allocation): each thread that counts owns a shard no other
//! live thread writes (see [`shard`]), and the counters only ever grow, so
//! the flush reads them without resetting and reports what grew since its
//! last read. Threads beyond the shards count into one shared shard with an
//! atomic `fetch_add`: slower, still exact.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use switchyard_core::CompiledSnapshot;

/// The counters of one snapshot.
pub(crate) struct Counters {
    /// The snapshot counted (kept alive, so that its flag and variant names
    /// are at hand when harvesting).
    pub(crate) snapshot: Arc<CompiledSnapshot>,
    /// Per flag (in snapshot order): the slot of its first variant.
    offsets: Box<[usize]>,
    /// Slots per shard (variants of all flags).
    slots: usize,
    /// `shard::count() + 1` runs of `slots` counters: the shared shard
    /// (0), then the owned ones.
    cells: Box<[AtomicU64]>,
    /// Per slot: the total the last harvest saw.
    harvested: Mutex<Box<[u64]>>,
}

impl Counters {
    /// Zeroed counters for every variant of every flag of `snapshot`.
    pub(crate) fn new(snapshot: Arc<CompiledSnapshot>) -> Self {
        let mut offsets = Vec::with_capacity(snapshot.len());
        let mut slots = 0;
        for flag in snapshot.flags() {
            offsets.push(slots);
            slots += flag.variants().len();
        }
        let cells = (0..slots * (shard::count() + 1)).map(|_| AtomicU64::new(0)).collect();
        Counters { snapshot, offsets: offsets.into(), slots, cells, harvested: Mutex::new(vec![0; slots].into()) }
    }

    /// Counts one evaluation of variant `variant` of flag `flag` (indices
    /// into the snapshot). Out-of-range indices are ignored.
    #[inline]
    pub(crate) fn count(&self, flag: usize, variant: usize) {
        let Some(offset) = self.offsets.get(flag) else { return };
        let shard = shard::mine();
        let Some(cell) = self.cells.get(shard * self.slots + offset + variant) else { return };
        if shard != shard::SHARED {
            // This thread is the shard's only writer: no locked add needed.
            cell.store(cell.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        } else {
            cell.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Reports every count that grew since the last harvest, calling
    /// `each(flag key, variant key, growth)`.
    pub(crate) fn harvest(&self, mut each: impl FnMut(&Arc<str>, &Arc<str>, u64)) {
        let mut harvested = self.harvested.lock().unwrap_or_else(|e| e.into_inner());
        for (flag, &offset) in self.snapshot.flags().zip(self.offsets.iter()) {
            let mut flag_key: Option<Arc<str>> = None;
            for (i, variant) in flag.variants().iter().enumerate() {
                let slot = offset + i;
                let total = self
                    .cells
                    .iter()
                    .skip(slot)
                    .step_by(self.slots.max(1))
                    .fold(0u64, |sum, c| sum.wrapping_add(c.load(Ordering::Relaxed)));
                let Some(last) = harvested.get_mut(slot) else { continue };
                let grown = total.wrapping_sub(*last);
                *last = total;
                if grown > 0 {
                    let key = flag_key.get_or_insert_with(|| Arc::from(flag.key()));
                    each(key, variant.key_arc(), grown);
                }
            }
        }
    }
}

/// Shard ownership: a process-wide pool of shard numbers. A thread takes
/// one at its first count and gives it back when it exits, so no two live
/// threads write the same shard of any [`Counters`]. The pool's lock orders
/// a shard's last write by its old owner before the first by the next.
mod shard {
    use super::{Cell, Mutex, OnceLock};

    /// Not yet assigned (the thread has not counted yet).
    const UNASSIGNED: usize = usize::MAX;
    /// The shard threads without one of their own share (atomic adds).
    pub(super) const SHARED: usize = 0;

    thread_local! {
        /// This thread's shard: [`SHARED`], or `1..=count()` owned.
        static MINE: Cell<usize> = const { Cell::new(UNASSIGNED) };
        /// Gives the shard back when the thread exits.
        static RELEASE: Release = const { Release };
    }

    /// Free shard numbers.
    static POOL: OnceLock<Mutex<Vec<usize>>> = OnceLock::new();

    fn pool() -> &'static Mutex<Vec<usize>> {
        POOL.get_or_init(|| Mutex::new((1..=count()).rev().collect()))
    }

    /// Number of owned shards: twice the available parallelism (runtime
    /// workers plus a few blocking threads), from 8 to 64.
    pub(super) fn count() -> usize {
        static COUNT: OnceLock<usize> = OnceLock::new();
        *COUNT.get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(4, usize::from);
            (cores * 2).clamp(8, 64)
        })
    }

    /// This thread's shard, taking one on the first call.
    #[inline]
    pub(super) fn mine() -> usize {
        let shard = MINE.with(Cell::get);
        if shard != UNASSIGNED { shard } else { take() }
    }

    #[cold]
    fn take() -> usize {
        let taken = pool().lock().unwrap_or_else(|e| e.into_inner()).pop();
        // Register the release first: if the thread is already exiting it
        // fails, and the shard is never taken (nobody would give it back).
        let shard = match taken {
            Some(s) if RELEASE.try_with(|_| ()).is_ok() => s,
            Some(s) => {
                give_back(s);
                SHARED
            }
            None => SHARED,
        };
        MINE.with(|m| m.set(shard));
        shard
    }

    fn give_back(shard: usize) {
        pool().lock().unwrap_or_else(|e| e.into_inner()).push(shard);
    }

    struct Release;

    impl Drop for Release {
        fn drop(&mut self) {
            // Counts after this (from other thread-locals' destructors) go
            // to the shared shard.
            let shard = MINE.try_with(|m| m.replace(SHARED)).unwrap_or(UNASSIGNED);
            if shard != SHARED && shard != UNASSIGNED {
                give_back(shard);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters() -> Counters {
        let snapshot: switchyard_core::Snapshot = serde_json::from_value(serde_json::json!({"revision": 1, "flags": [
            {"key": "a", "kind": "boolean", "on": true, "off_variant": "off",
             "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
             "fallthrough": {"variant": "on"}}]}))
        .unwrap();
        Counters::new(Arc::new(CompiledSnapshot::compile_owned(snapshot).unwrap()))
    }

    fn harvest(c: &Counters) -> Vec<(String, String, u64)> {
        let mut out = Vec::new();
        c.harvest(|f, v, n| out.push((f.to_string(), v.to_string(), n)));
        out
    }

    /// More threads than shards, each exiting (its shard reused) or not:
    /// every count arrives exactly once, and a harvest reports growth only.
    #[test]
    fn counts_from_many_threads_are_exact_and_harvested_once() {
        let c = Arc::new(counters());
        let threads = shard::count() * 2 + 3;
        std::thread::scope(|s| {
            for t in 0..threads {
                let c = c.clone();
                s.spawn(move || {
                    for _ in 0..1_000 {
                        c.count(0, t % 2);
                    }
                });
            }
        });
        let even = (threads as u64).div_ceil(2) * 1_000;
        let odd = threads as u64 / 2 * 1_000;
        assert_eq!(harvest(&c), vec![("a".into(), "on".into(), even), ("a".into(), "off".into(), odd)]);
        assert_eq!(harvest(&c), vec![], "nothing grew since");
        c.count(0, 1);
        c.count(7, 0); // unknown flag: ignored
        assert_eq!(harvest(&c), vec![("a".into(), "off".into(), 1)]);
    }
}
